/**
 * The outbox with a real store in a temp directory and real loopback peers: delivery,
 * retries with backoff and Retry-After, drops with reasons, REPLAY as delivered, lanes that
 * do not wait for each other, restart survival, expiry of removed peers; and the backoff maths.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { backoffDelayMs, parseRetryAfter } from "../../lib/federation/backoff.js";
import { resignWith } from "../../lib/federation/outbox-refresh.js";
import { Outbox, type OutboxOptions } from "../../lib/federation/outbox.js";
import { PeerClient } from "../../lib/federation/peer-client.js";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { signMessage } from "../../lib/messages/authenticate.js";
import { canonicalJson, messageDigest, unsigned } from "../../lib/messages/canonical.js";
import { verifyDetached } from "../../lib/messages/jws.js";
import { openStore, type Store } from "../../lib/store/index.js";

type Reply = (req: IncomingMessage, res: ServerResponse, body: string) => void;

const servers: Server[] = [];
const clients: PeerClient[] = [];
const stores: Store[] = [];
const dirs: string[] = [];
const PATH = "/federation/announce";
const T0 = 1_732_000_000_000;

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(stores.map((s) => s.close()));
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A peer whose answers are taken in turn from `replies` (the last one repeats). */
async function peer(did: string, replies: Reply[], port = 0): Promise<{ did: string; url: string; bodies: unknown[]; server: Server }> {
  const bodies: unknown[] = [];
  let turn = 0;
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (d: string) => (body += d));
    req.on("end", () => {
      bodies.push(JSON.parse(body));
      replies[Math.min(turn++, replies.length - 1)]!(req, res, body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return { did, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, server };
}

const answer = (status: number, error?: [string, string], headers: Record<string, string> = {}): Reply => (_q, res) => {
  res.writeHead(status, { "content-type": "application/json", ...headers });
  res.end(JSON.stringify(error === undefined ? { accepted: true } : { error: { code: error[0], message: error[1] } }));
};

async function freshStore(dir?: string): Promise<Store> {
  const d = dir ?? mkdtempSync(join(tmpdir(), "vmsh-outbox-"));
  if (dir === undefined) dirs.push(d);
  const s = await openStore(d);
  stores.push(s);
  return s;
}

function setup(store: Store, options: OutboxOptions = {}): { outbox: Outbox; clock: { t: number } } {
  const clock = { t: T0 };
  const client = new PeerClient({ headersTimeoutMs: 20_000 });
  clients.push(client);
  return { outbox: new Outbox(store, client, { now: () => clock.t, random: () => 0.5, ...options }), clock };
}

let serial = 0;
function announce(batch = `b${++serial}`): Record<string, unknown> {
  return { type: "announce", v: 1, namespace: "dao:x", batchId: batch, batchRoot: `sha256:${"ab".repeat(32)}`, anchors: [], ts: 1_732_000_000, signer: "did:vm:node:a", sig: "aa..bb" };
}

describe("Outbox.deliverDue", () => {
  test("deliverDue: a queued announce reaches the peer and leaves the queue", async () => {
    const b = await peer("did:vm:node:b", [answer(202)]);
    const { outbox } = setup(await freshStore());
    const m = announce();
    const { id, added } = await outbox.enqueue(b, PATH, m);
    assert.equal(added, true);
    assert.equal(id, messageDigest(m));
    const reports = await outbox.deliverDue([b]);
    assert.deepEqual(reports, [{ peer: b.did, id, path: PATH, status: 202, outcome: "delivered", attempts: 1 }]);
    assert.deepEqual(b.bodies, [m]);
    assert.deepEqual(await outbox.pending(), []);
  });

  test("deliverDue: a 429 waits at least the peer's Retry-After, then delivers", async () => {
    const b = await peer("did:vm:node:b", [answer(429, ["RATE_LIMITED", "slow down"], { "retry-after": "30" }), answer(202)]);
    const { outbox, clock } = setup(await freshStore());
    await outbox.enqueue(b, PATH, announce());
    const [first] = await outbox.deliverDue([b]);
    assert.deepEqual([first!.outcome, first!.reason, first!.nextAttemptAt], ["retry", "RATE_LIMITED slow down", T0 + 30_000]);
    clock.t = T0 + 29_000;
    assert.deepEqual(await outbox.deliverDue([b]), []);
    assert.equal(b.bodies.length, 1);
    clock.t = T0 + 30_000;
    assert.equal((await outbox.deliverDue([b]))[0]!.outcome, "delivered");
    assert.equal(b.bodies.length, 2);
  });

  test("deliverDue: a 503 is retried with growing backoff and the attempts are stored", async () => {
    const b = await peer("did:vm:node:b", [answer(503, ["SHUTTING_DOWN", "restarting"])]);
    const { outbox, clock } = setup(await freshStore());
    await outbox.enqueue(b, PATH, announce());
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [r] = await outbox.deliverDue([b]);
      assert.equal(r!.outcome, "retry");
      waits.push(r!.nextAttemptAt! - clock.t);
      clock.t = r!.nextAttemptAt!;
    }
    // random() = 0.5: half of 1, 2, 4, 8 s.
    assert.deepEqual(waits, [500, 1000, 2000, 4000]);
    const [entry] = await outbox.pending(b.did);
    assert.deepEqual([entry!.attempts, entry!.lastError], [4, "SHUTTING_DOWN restarting"]);
  });

  for (const [status, code] of [[400, "MALFORMED"], [401, "SIG_INVALID"], [403, "ROLE_FORBIDDEN"]] as const) {
    test(`deliverDue: a ${status} is not retried and the entry is dropped with the peer's reason`, async () => {
      const b = await peer("did:vm:node:b", [answer(status, [code, `no (${status})`])]);
      const { outbox } = setup(await freshStore());
      await outbox.enqueue(b, PATH, announce());
      const [r] = await outbox.deliverDue([b]);
      assert.deepEqual([r!.outcome, r!.status, r!.reason], ["dropped", status, `dropped: ${code} no (${status})`]);
      assert.deepEqual(await outbox.pending(), []);
    });
  }

  test("deliverDue: a 409 REPLAY means the peer already has it and counts as delivered", async () => {
    const b = await peer("did:vm:node:b", [answer(409, ["REPLAY", "already accepted"])]);
    const { outbox } = setup(await freshStore());
    await outbox.enqueue(b, PATH, announce());
    assert.equal((await outbox.deliverDue([b]))[0]!.outcome, "delivered");
    assert.deepEqual(await outbox.pending(), []);
  });

  test("deliverDue: a proxy's non-JSON error page is retried, a 2xx with a garbage body is delivered", async () => {
    const html = await peer("did:vm:node:b", [(_q, res) => res.writeHead(502, { "content-type": "text/html" }).end("<h1>502</h1>")]);
    const garbage = await peer("did:vm:node:c", [(_q, res) => res.writeHead(202).end("\u0000\u0001 not json")]);
    const { outbox } = setup(await freshStore());
    await outbox.enqueue(html, PATH, announce());
    await outbox.enqueue(garbage, PATH, announce());
    const reports = await outbox.deliverDue([html, garbage]);
    assert.deepEqual(reports.map((r) => [r.peer, r.outcome, r.status]).sort(), [[html.did, "retry", 502], [garbage.did, "delivered", 202]].sort());
  });

  test("deliverDue: a peer that is down keeps its entries, and its lane stops after the first failure", async () => {
    const gone = await peer("did:vm:node:b", [answer(202)]);
    await new Promise((resolve) => gone.server.close(resolve));
    const { outbox } = setup(await freshStore());
    await outbox.enqueue(gone, PATH, announce());
    await outbox.enqueue(gone, PATH, announce());
    const reports = await outbox.deliverDue([gone]);
    assert.equal(reports.length, 1);
    assert.match(reports[0]!.reason!, /^CONNECTION_REFUSED /);
    assert.equal((await outbox.pending(gone.did)).length, 2);
  });

  // Found by the chaos run (docs/RELIABILITY.md §Chaos): after a partition healed, Announces
  // queued for a peer waited out their backoff (up to minutes) though the peer was talking again.
  test("wake: a peer heard from again gets every queued entry at the next round, not when its backoff runs out", async () => {
    let up = false;
    const b = await peer("did:vm:node:b", [(q, res, body) => (up ? answer(202)(q, res, body) : q.socket.destroy())]);
    const { outbox, clock } = setup(await freshStore());
    await outbox.enqueue(b, PATH, announce());
    // One more, queued by an earlier run with its next try an hour away.
    await outbox.enqueue(b, PATH, announce(), { attempts: 9, nextAttemptAt: T0 + 3_600_000 });
    let waitMs = 0;
    for (let i = 0; i < 6; i++) {
      if (i > 0) clock.t += waitMs;
      const [r] = await outbox.deliverDue([b]);
      assert.equal(r!.outcome, "retry");
      waitMs = r!.nextAttemptAt! - clock.t;
    }
    // Six failures: the next try is 16 s away (random() = 0.5 of 32 s); the peer is back 1 s later.
    assert.equal(waitMs, 16_000);
    clock.t += 1_000;
    up = true;
    assert.deepEqual(await outbox.deliverDue([b]), [], "still in backoff");
    assert.equal(outbox.wake(b.did), true, "its lane was waiting on a failure");
    const reports = await outbox.deliverDue([b]);
    assert.deepEqual(reports.map((r) => r.outcome), ["delivered", "delivered"]);
    assert.deepEqual(await outbox.pending(b.did), []);
  });

  test("wake: a peer that pushed back with Retry-After keeps its wait", async () => {
    const b = await peer("did:vm:node:b", [answer(429, ["RATE_LIMITED", "slow down"], { "retry-after": "30" }), answer(202)]);
    const { outbox, clock } = setup(await freshStore());
    await outbox.enqueue(b, PATH, announce());
    assert.equal((await outbox.deliverDue([b]))[0]!.outcome, "retry");
    clock.t = T0 + 5_000;
    assert.equal(outbox.wake(b.did), false);
    assert.deepEqual(await outbox.deliverDue([b]), []);
    assert.equal(b.bodies.length, 1);
  });

  test("deliverDue: a peer that never answers does not hold up delivery to another peer", { timeout: 15_000 }, async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let aOpen = false;
    const a = await peer("did:vm:node:a2", [(_q, res) => {
      aOpen = true;
      void released.then(() => {
        aOpen = false;
        answer(202)(_q, res, "");
      });
    }]);
    const b = await peer("did:vm:node:b", [answer(202)]);
    const { outbox } = setup(await freshStore());
    await outbox.enqueue(a, PATH, announce());
    await outbox.enqueue(b, PATH, announce());
    let finished = false;
    const round = outbox.deliverDue([a, b]).then((r) => ((finished = true), r));
    while ((await outbox.pending(b.did)).length > 0) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.equal(aOpen, true, "A's request is still open when B's entry is delivered");
    assert.equal(finished, false);
    assert.equal((await outbox.pending(a.did)).length, 1);
    release();
    const reports = await round;
    assert.deepEqual(reports.map((r) => [r.peer, r.outcome]).sort(), [[a.did, "delivered"], [b.did, "delivered"]]);
  });

  test("deliverDue: the queue survives a restart of the sender and is delivered once the peer is back", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vmsh-outbox-"));
    dirs.push(dir);
    const down = await peer("did:vm:node:b", [answer(202)]);
    const port = Number(new URL(down.url).port);
    await new Promise((resolve) => down.server.close(resolve));
    const store1 = await freshStore(dir);
    const first = setup(store1);
    const m = announce();
    await first.outbox.enqueue(down, PATH, m);
    assert.equal((await first.outbox.deliverDue([down]))[0]!.outcome, "retry");
    await store1.close();

    const back = await peer("did:vm:node:b", [answer(202)], port);
    const second = setup(await freshStore(dir));
    second.clock.t = T0 + 60_000;
    const [entry] = await second.outbox.pending();
    assert.deepEqual([entry!.peer, entry!.attempts, entry!.message], [back.did, 1, m]);
    assert.equal((await second.outbox.deliverDue([back]))[0]!.outcome, "delivered");
    assert.deepEqual(back.bodies, [m]);
    assert.deepEqual(await second.outbox.pending(), []);
  });

  test("deliverDue: entries of a peer no longer configured stay until maxAgeS, then are dropped with a report", async () => {
    const { outbox, clock } = setup(await freshStore(), { maxAgeS: 3600 });
    const { id } = await outbox.enqueue("did:vm:node:removed", PATH, announce());
    assert.deepEqual(await outbox.deliverDue([]), []);
    clock.t = T0 + 3_600_000;
    assert.deepEqual(await outbox.deliverDue([]), []);
    assert.equal((await outbox.pending()).length, 1);
    clock.t = T0 + 3_601_000;
    const [r] = await outbox.deliverDue([]);
    assert.deepEqual([r!.peer, r!.id, r!.outcome], ["did:vm:node:removed", id, "dropped"]);
    assert.match(r!.reason!, /^dropped: EXPIRED peer did:vm:node:removed is no longer configured/);
    assert.deepEqual(await outbox.pending(), []);
  });

  test("deliverDue: with resignWith, a message queued past the clock skew is sent with a fresh ts and a valid signature", async () => {
    const key = generateNodeKey();
    const b = await peer("did:vm:node:b", [answer(202)]);
    const { outbox, clock } = setup(await freshStore(), { refresh: resignWith(key.privateKey) });
    const original = signMessage({ ...unsigned(announce()), ts: T0 / 1000 } as never, key.privateKey) as unknown as Record<string, unknown>;
    await outbox.enqueue(b, PATH, original);
    clock.t = T0 + 3_600_000;
    assert.equal((await outbox.deliverDue([b]))[0]!.outcome, "delivered");
    const sent = b.bodies[0] as { ts: number; sig: string; signer: string };
    assert.equal(sent.ts, (T0 + 3_600_000) / 1000);
    assert.equal(verifyDetached(sent.sig, Buffer.from(canonicalJson(unsigned(sent))), sent.signer, key.publicKey).ok, true);
    assert.deepEqual({ ...unsigned(sent), ts: 0 }, { ...unsigned(original), ts: 0 });
  });
});

describe("Outbox.enqueue and deliverNow", () => {
  test("enqueue: the same message twice, even re-serialised, is queued once", async () => {
    const { outbox } = setup(await freshStore());
    const m = announce();
    assert.equal((await outbox.enqueue("did:vm:node:b", PATH, m)).added, true);
    assert.equal((await outbox.enqueue("did:vm:node:b", PATH, JSON.parse(JSON.stringify(m)))).added, false);
    assert.equal((await outbox.pending("did:vm:node:b")).length, 1);
  });

  test("enqueue: a full queue evicts its oldest entries", async () => {
    const { outbox, clock } = setup(await freshStore(), { maxEntriesPerPeer: 2 });
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      clock.t = T0 + i;
      const r = await outbox.enqueue("did:vm:node:b", PATH, announce());
      ids.push(r.id);
      assert.deepEqual(r.evicted, i < 2 ? [] : [ids[0]]);
    }
    assert.deepEqual((await outbox.pending()).map((e) => e.id), ids.slice(1));
  });

  test("deliverNow: reports delivered, queued on a retryable failure, refused (not queued) otherwise", async () => {
    const ok = await peer("did:vm:node:ok", [answer(202)]);
    const busy = await peer("did:vm:node:busy", [answer(503, ["SHUTTING_DOWN", "later"])]);
    const no = await peer("did:vm:node:no", [answer(403, ["NAMESPACE_NOT_ROUTED", "not routed"])]);
    const { outbox } = setup(await freshStore());
    const m = announce();
    const results = await Promise.all([ok, busy, no].map((p) => outbox.deliverNow(p, PATH, m)));
    assert.deepEqual(results.map((r) => [r.peer, r.outcome, r.reason]), [
      [ok.did, "delivered", undefined],
      [busy.did, "queued", "SHUTTING_DOWN later"],
      [no.did, "refused", "dropped: NAMESPACE_NOT_ROUTED not routed"],
    ]);
    assert.equal(results[1]!.nextAttemptAt, T0 + 500);
    assert.deepEqual((await outbox.pending()).map((e) => [e.peer, e.attempts]), [[busy.did, 1]]);
  });

  test("Outbox: a message that is not an object, or a path without /, is the caller's mistake", async () => {
    const { outbox } = setup(await freshStore());
    await assert.rejects(outbox.enqueue("did:vm:node:b", PATH, "text"), /message/);
    await assert.rejects(outbox.enqueue("did:vm:node:b", "announce", announce()), /path/);
  });
});

describe("backoff", () => {
  test("backoffDelayMs: full jitter under base·2^(n−1), capped at five minutes", () => {
    assert.equal(backoffDelayMs(1, { random: () => 0.999 }), 999);
    assert.equal(backoffDelayMs(4, { random: () => 0.5 }), 4000);
    assert.equal(backoffDelayMs(30, { random: () => 0.5 }), 150_000);
    assert.equal(backoffDelayMs(10_000, { random: () => 0.999999 }), 299_999);
    assert.equal(backoffDelayMs(3, { random: () => 0 }), 0);
  });

  test("backoffDelayMs: the peer's Retry-After is a floor, bounded by maxRetryAfterS", () => {
    assert.equal(backoffDelayMs(1, { random: () => 0.5, retryAfterS: 30 }), 30_000);
    assert.equal(backoffDelayMs(20, { random: () => 0.9, retryAfterS: 30 }), 270_000);
    assert.equal(backoffDelayMs(1, { random: () => 0, retryAfterS: 1e9 }), 3_600_000);
    assert.throws(() => backoffDelayMs(0), /attempt/);
  });

  test("parseRetryAfter: delta-seconds and HTTP-dates; anything else is ignored", () => {
    assert.equal(parseRetryAfter("120", 0), 120);
    assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("2015-10-21T07:27:00Z")), 60);
    assert.equal(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("2015-10-22T00:00:00Z")), 0);
    assert.equal(parseRetryAfter("soon", 0), undefined);
    assert.equal(parseRetryAfter(undefined, 0), undefined);
  });
});
