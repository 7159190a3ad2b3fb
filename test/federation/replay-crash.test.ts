/**
 * The replay window against crashes (docs/FEDERATION_PROTOCOL.md §Replay across restarts), on a
 * real `serve` killed with SIGKILL and started again on the same state directory. Each sequence
 * signs as its own guest, so the floor one sequence leaves does not touch the next. Every message
 * is a Request: a node answers it with a signed Bundle (200) and changes nothing, so "accepted
 * again" is exactly a 200 where a 409 or 401 belongs.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { signMessage } from "../../lib/messages/authenticate.js";
import type { Request } from "../../lib/messages/schema.js";
import { HORIZON_DOC, HORIZON_RESERVE_S } from "../../lib/federation/replay-horizon.js";
import { openStore } from "../../lib/store/index.js";
import { MESH_NAMESPACE as NS, type Guest } from "../support/mesh.js";
import { useMesh } from "../support/use-mesh.js";

const mesh = useMesh([{ name: "a", routes: [] }], {
  guests: [
    { name: "ahead", roles: ["request"] },
    { name: "sweep", roles: ["request"] },
    { name: "refused", roles: ["request"] },
  ],
  // The sweep sends 121 Requests at once: an allowance whose burst (10 s' worth) holds them all.
  limits: { requestPerMin: 60_000 },
});

const now = () => Math.floor(Date.now() / 1000);
/** Seconds covered by the sweep: any restart faster than this lands on one of its seconds. */
const SWEEP_S = 120;

function request(g: Guest, ts: number, tag = "x"): Request {
  return signMessage<Request>({ type: "request", v: 2, namespace: NS, aud: mesh.node("a").did, want: [`sha256:${Buffer.from(tag.padEnd(32, "-")).toString("hex")}`], ts, signer: g.did }, g.key.privateKey);
}

async function send(m: Request): Promise<{ status: number; code?: string }> {
  const res = await fetch(`${mesh.node("a").url}/federation/request`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(m) });
  const body = (await res.json()) as { error?: { code: string } };
  return body.error === undefined ? { status: res.status } : { status: res.status, code: body.error.code };
}

async function crashAndRestart(): Promise<void> {
  const a = mesh.node("a");
  await a.stop("SIGKILL");
  await a.start();
}

async function horizonDoc(): Promise<Array<[string, number, number]>> {
  const store = await openStore(mesh.node("a").stateDir, { readOnly: true });
  try {
    return ((await store.getDoc<{ signers: Array<[string, number, number]> }>(HORIZON_DOC))?.signers ?? []);
  } finally {
    await store.close();
  }
}

describe("federation: no crash or restart reopens the replay window", () => {
  test("replay after crash: a message accepted with ts = now + 60 is refused after kill -9 and restart", async () => {
    const g = mesh.guests.get("ahead")!;
    const m = request(g, now() + 60);
    assert.equal((await send(m)).status, 200);
    assert.equal((await send(m)).code, "REPLAY");
    await crashAndRestart();
    assert.deepEqual(await send(m), { status: 401, code: "STALE_TIMESTAMP" });
    // Saved before the first answer: the document names this signer past the message's ts, with its floor.
    const entry = (await horizonDoc()).find(([did]) => did === g.did);
    assert.ok(entry !== undefined && entry[1] >= m.ts && entry[2] > m.ts, JSON.stringify(entry));
    // A message signed past the floor (at most HORIZON_RESERVE_S after the last accepted ts) is taken.
    assert.equal((await send(request(g, m.ts + HORIZON_RESERVE_S + 1))).status, 200);
  });

  test("replay after crash: messages accepted for every second up to 120 s ahead, the restart's own second included, are all refused after it", async () => {
    const g = mesh.guests.get("sweep")!;
    const t0 = now();
    const sent: Request[] = [];
    for (let ts = t0; ts <= t0 + SWEEP_S; ts++) sent.push(request(g, ts));
    // One at a time: a node builds one answer per peer at once (docs/FEDERATION_PROTOCOL.md §Limits).
    for (const m of sent) assert.equal((await send(m)).status, 200, `ts ${m.ts - t0} s after t0`);
    await crashAndRestart();
    const restartedAt = now();
    assert.ok(restartedAt <= t0 + SWEEP_S, `the restart took more than ${SWEEP_S} s, so no message was signed in its second`);
    const again = await Promise.all(sent.map(send));
    const accepted = sent.filter((_, i) => again[i]!.status === 200).map((m) => m.ts - t0);
    assert.deepEqual(accepted, [], "seconds after t0 accepted a second time");
    for (const r of again) assert.deepEqual(r, { status: 401, code: "STALE_TIMESTAMP" });
  });

  test("replay after crash: a message refused after the crash stays refused after the next clean restart", async () => {
    const g = mesh.guests.get("refused")!;
    const m = request(g, now() - 1);
    assert.equal((await send(m)).status, 200);
    await crashAndRestart();
    assert.deepEqual(await send(m), { status: 401, code: "STALE_TIMESTAMP" });
    const a = mesh.node("a");
    assert.equal(await a.stop("SIGTERM"), 0);
    await a.start();
    assert.deepEqual(await send(m), { status: 401, code: "STALE_TIMESTAMP" }, "the crash's floor outlived the clean restart");
    // And a clean restart keeps what was accepted since, as before: the saved digests.
    const fresh = request(g, m.ts + HORIZON_RESERVE_S + 1, "fresh");
    assert.equal((await send(fresh)).status, 200);
    assert.equal(await a.stop("SIGTERM"), 0);
    await a.start();
    assert.deepEqual(await send(fresh), { status: 409, code: "REPLAY" });
  });

  test("replay after crash: the saved horizon holds one entry per signer heard from", async () => {
    const doc = await horizonDoc();
    const signers = doc.map(([did]) => did).sort();
    assert.deepEqual(signers, [...new Set(signers)]);
    assert.ok(signers.every((did) => [...mesh.guests.values()].some((g) => g.did === did)), signers.join(", "));
  });
});
