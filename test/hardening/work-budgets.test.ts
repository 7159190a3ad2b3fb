/**
 * What an admitted peer and a stranger can make a real `serve` do (docs/FEDERATION_PROTOCOL.md
 * §Limits): issue #21 item 5 (a want flood at the allowance), #27 item 1 (reconcile work and
 * amplification) and #27 item 2 (work before authentication). Each node has its own state
 * directory; everything is counted (bytes, answers, refusals), nothing is timed.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { replyCap, BUDGET_BURST_S } from "../../lib/federation/budgets.js";
import { signMessage } from "../../lib/messages/authenticate.js";
import type { Request } from "../../lib/messages/schema.js";
import { PayloadWriter, type RangeBody } from "../../lib/reconcile/payload.js";
import { signReconcile } from "../../lib/reconcile/message.js";
import { startMesh, MESH_NAMESPACE as NS, type Guest, type Mesh, type MeshNode } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { seedStore } from "../support/seed-store.js";

/** Per-peer budgets of this test's node: small, so one answer puts a sender in debt for minutes. */
const ANSWER_BYTES_PER_MIN = 1024 * 1024;
const RECONCILE_WORK_PER_MIN = 60_000;
const SENDERS = ["w1", "w2", "w3", "w4"];
const WANT = 5000;

let tsa: OpensslTsa;
let mesh: Mesh;
let node: MeshNode;
let ids: string[];
const used = new Set<string>();
const now = () => Math.floor(Date.now() / 1000);

/** A ts this signer has not signed with yet (each message a distinct digest), within the skew window. */
function freshTs(signer: string): number {
  let ts = now();
  while (used.has(`${signer} ${ts}`)) ts--;
  used.add(`${signer} ${ts}`);
  return ts;
}

interface Answer {
  status: number;
  code?: string;
  retryAfter?: string;
  bytes: number;
  body: unknown;
}

/** POSTs a signed message with `type`, `v` and `signer` first, as a 0.3.0 sender does. */
async function post(path: string, message: { type: string; v: number; signer: string }): Promise<Answer> {
  const { type, v, signer, ...rest } = message;
  const res = await fetch(`${node.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ type, v, signer, ...rest }) });
  const text = await res.text();
  const body = JSON.parse(text) as { error?: { code: string } };
  return { status: res.status, code: body.error?.code, retryAfter: res.headers.get("retry-after") ?? undefined, bytes: Buffer.byteLength(text), body };
}

function wantFrom(g: Guest): Request {
  return signMessage<Request>({ type: "request", v: 2, namespace: NS, aud: node.did, want: ids.slice(0, WANT), ts: freshTs(g.did), signer: g.did }, g.key.privateKey);
}

function reconcileFrom(g: Guest, ranges: Array<[{ ts: number; id: Uint8Array } | null, RangeBody]>, seed?: Uint8Array) {
  const w = new PayloadWriter(0, seed);
  for (const [upper, body] of ranges) w.range(upper, body);
  const payload = w.bytes();
  return { payload, message: signReconcile({ aud: node.did, round: 1, parts: [{ namespace: NS, payload }], ts: freshTs(g.did), signer: g.did }, g.key.privateKey) };
}

const replyPayloadBytes = (body: unknown): number => ((body as { namespaces: Array<{ payload: string }> }).namespaces ?? []).reduce((n, p) => n + Buffer.from(p.payload, "base64").length, 0);

before(async () => {
  tsa = createOpensslTsa();
  const guests = [...SENDERS, "more", "ranges", "late"].map((name) => ({ name, roles: ["request"] }));
  mesh = await startMesh([{ name: "a", routes: [] }], { trustPem: tsa.rootPem, guests, limits: { answerBytesPerMin: ANSWER_BYTES_PER_MIN, reconcileWorkPerMin: RECONCILE_WORK_PER_MIN } });
  node = mesh.node("a");
  await node.stop();
  ids = await seedStore(node.stateDir, tsa, { namespace: NS, origin: { did: node.did, keyFile: join(node.configDir, "keys", "node.key") }, batches: 5, receiptsPerBatch: 1000 });
  await node.start();
});
after(async () => {
  await mesh?.stop();
  tsa?.cleanup();
});

describe("hardening: work budgets of an admitted peer (issue #21 item 5, #27 item 1)", () => {
  test("want flood: four senders asking 5,000 ids each get one answer apiece within their byte budget; the rest is 429 BUDGET_EXHAUSTED with Retry-After", async () => {
    const started = Date.now();
    const results = await Promise.all(
      SENDERS.map(async (name) => {
        const g = mesh.guests.get(name)!;
        // Two at once (one answer per peer is built at a time), then two more in turn.
        const first = await Promise.all([post("/federation/request", wantFrom(g)), post("/federation/request", wantFrom(g))]);
        const rest = [await post("/federation/request", wantFrom(g)), await post("/federation/request", wantFrom(g))];
        return [...first, ...rest];
      }),
    );
    // At most MAX_ANSWERS_IN_FLIGHT answers are built at once: a sender refused only for that
    // (Retry-After 1) and not yet served asks again, as a 0.3.0 node does, until it is answered.
    for (const [i, name] of SENDERS.entries()) {
      for (let tries = 0; tries < 60 && !results[i]!.some((a) => a.status === 200); tries++) {
        const last = results[i]![results[i]!.length - 1]!;
        await new Promise((resolve) => setTimeout(resolve, 1000 * Number(last.retryAfter ?? 1)));
        results[i]!.push(await post("/federation/request", wantFrom(mesh.guests.get(name)!)));
      }
    }
    const elapsedS = (Date.now() - started) / 1000;
    const ratePerS = ANSWER_BYTES_PER_MIN / 60;
    for (const [i, answers] of results.entries()) {
      const served = answers.filter((a) => a.status === 200);
      const refused = answers.filter((a) => a.status !== 200);
      assert.equal(served.length, 1, `${SENDERS[i]}: ${answers.map((a) => `${a.status} ${a.code ?? ""}`).join(", ")}`);
      assert.equal((served[0]!.body as { receipts: unknown[] }).receipts.length, WANT, "the one answer is whole");
      const largest = Math.max(...served.map((a) => a.bytes));
      const bytes = served.reduce((n, a) => n + a.bytes, 0);
      assert.ok(bytes <= ratePerS * BUDGET_BURST_S + ratePerS * elapsedS + largest, `${SENDERS[i]}: ${bytes} bytes answered in ${elapsedS} s`);
      for (const r of refused) {
        assert.equal(r.status, 429);
        assert.equal(r.code, "BUDGET_EXHAUSTED");
        assert.match(r.retryAfter ?? "", /^[1-9]\d*$/);
      }
    }
    // The debt is paid back at the configured rate: minutes for an answer of megabytes.
    const later = await post("/federation/request", wantFrom(mesh.guests.get("w1")!));
    assert.equal(later.code, "BUDGET_EXHAUSTED");
    assert.ok(Number(later.retryAfter) >= 60, `Retry-After ${later.retryAfter}`);
  });

  test("reconcile: a few hundred bytes asking `more` with m = 37,000 are answered within the amplification cap", async () => {
    const g = mesh.guests.get("more")!;
    const { payload, message } = reconcileFrom(g, [[null, { mode: "more", count: 37_000 }]], Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
    const r = await post("/federation/reconcile", message);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.ok(replyPayloadBytes(r.body) <= replyCap(payload.length), `${replyPayloadBytes(r.body)} bytes of reply to ${payload.length}`);
  });

  test("reconcile flood: 95,000 ranges are answered once, then the peer waits for its work budget (429 BUDGET_EXHAUSTED, Retry-After)", async () => {
    const g = mesh.guests.get("ranges")!;
    const flood = () => reconcileFrom(g, Array.from({ length: 95_000 }, (_, i): [{ ts: number; id: Uint8Array } | null, RangeBody] => [i === 94_999 ? null : { ts: 1_760_000_000 + i, id: new Uint8Array(0) }, { mode: "fingerprint", count: 1, fingerprint: new Uint8Array(16) }])).message;
    const answers = [await post("/federation/reconcile", flood()), await post("/federation/reconcile", flood()), await post("/federation/reconcile", flood())];
    assert.deepEqual(answers.map((a) => a.status), [200, 429, 429], answers.map((a) => a.code).join());
    for (const a of answers.slice(1)) {
      assert.equal(a.code, "BUDGET_EXHAUSTED");
      // At least 95,000 units of work at 1,000 a second: a minute and more.
      assert.ok(Number(a.retryAfter) >= 60, `Retry-After ${a.retryAfter}`);
    }
    const metrics = await (await fetch(`${node.url}/metrics`)).text();
    const work = Number(/^vmsh_federation_reconcile_work_total (\d+)$/m.exec(metrics)?.[1]);
    assert.ok(work >= 2 * 95_000, `work charged: ${work}`);
  });
});

describe("hardening: before authentication (issue #27 item 2)", () => {
  test("a stranger's 3 MiB body is refused 401 SIGNER_UNKNOWN once its signer is read, before the rest is sent", async () => {
    const head = `{"type":"reconcile","v":2,"signer":"did:vm:node:stranger","namespaces":[{"namespace":"${NS}","payload":"`;
    const first = Buffer.from(head + "A".repeat(128 * 1024 - head.length));
    const answer = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = httpRequest(`${node.url}/federation/reconcile`, { method: "POST", headers: { "content-type": "application/json", "content-length": String(3 * 1024 * 1024) } }, (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        res.on("error", reject);
      });
      req.on("error", reject);
      // The rest of the body is never sent: only an answer given before it arrives ends this.
      req.write(first);
    });
    assert.equal(answer.status, 401, answer.body);
    assert.equal((JSON.parse(answer.body) as { error: { code: string } }).error.code, "SIGNER_UNKNOWN");
  });

  test("a body over 64 KiB whose signer comes after its first 64 KiB is refused 413, even for an admitted signer", async () => {
    const g = mesh.guests.get("late")!;
    const m = wantFrom(g);
    const r = await fetch(`${node.url}/federation/request`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(m) });
    const body = (await r.json()) as { error: { code: string; message: string } };
    assert.equal(r.status, 413);
    assert.equal(body.error.code, "BODY_TOO_LARGE");
    assert.match(body.error.message, /signer within its first 65536 bytes/);
    // The same message with its signer first is taken.
    assert.equal((await post("/federation/request", m)).status, 200);
  });
});

describe("hardening: a per-address limit on every federation endpoint (issue #27 item 2)", () => {
  let small: Mesh;
  before(async () => {
    small = await startMesh([{ name: "p", routes: [] }], { trustPem: tsa.rootPem, limits: { postsPerAddressPerMin: 60 } });
  });
  after(async () => {
    await small?.stop();
  });

  test("POSTs from one address past its allowance are refused 429 RATE_LIMITED with Retry-After before their body is read", async () => {
    const p = small.node("p");
    const started = Date.now();
    const paths = ["/federation/announce", "/federation/request", "/federation/reconcile"];
    const answers = await Promise.all(
      Array.from({ length: 45 }, async (_, i) => {
        const res = await fetch(`${p.url}${paths[i % 3]}`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
        const body = (await res.json()) as { error: { code: string } };
        return { status: res.status, code: body.error.code, retryAfter: res.headers.get("retry-after") };
      }),
    );
    const elapsedS = (Date.now() - started) / 1000;
    const limited = answers.filter((a) => a.status === 429);
    const read = answers.filter((a) => a.status !== 429);
    // 60 a minute holds 10 s worth: 10 at once, then one a second.
    assert.ok(read.length <= 10 + Math.ceil(elapsedS) + 1, `${read.length} read in ${elapsedS} s`);
    for (const a of read) assert.equal(a.code, "MALFORMED");
    for (const a of limited) {
      assert.equal(a.code, "RATE_LIMITED");
      assert.match(a.retryAfter ?? "", /^[1-9]\d*$/);
    }
    assert.equal((await p.health()).status, 200, "GET /health is not limited");
  });
});
