/**
 * An admitted but hostile peer against real `serve` processes (docs/FEDERATION_SEMANTICS.md
 * §6. Threat model). "mallory" is in every node's peers.yaml with roles announce, serve and request
 * and routed for the namespace, but is not an origin; it signs with the `jose` package, and its
 * endpoint is this test's own HTTP server. In the line a – b – c, a is the origin of the batch;
 * c knows a's key only from an origin-only peers.yaml entry. Each attack is delivered before the
 * genuine data reaches b; afterwards the genuine batch must be active, complete and alone on b and c.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { messageDigest, unsigned } from "../../lib/messages/canonical.js";
import type { Checkpoint } from "../../lib/messages/checkpoint.js";
import type { Announce, Bundle, Request } from "../../lib/messages/schema.js";
import type { Anchor } from "../../lib/anchors/anchor.js";
import { inclusionProofs } from "../../lib/merkle/index.js";
import type { Receipt } from "../../lib/receipt.js";
import { openStore } from "../../lib/store/index.js";
import { HORIZON_RESERVE_S } from "../../lib/federation/replay-horizon.js";
import { checkpointBy } from "../support/checkpoint.js";
import { LINE_ABC, startMesh, waitUntil, MESH_NAMESPACE as NS, type Guest, type Mesh, type MeshNode } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { sealTsaBatch, type SealedFiles } from "../support/sealer.js";
import { joseSign, startHostileServer, type HostileServer } from "./hostile-server.js";

let tsa: OpensslTsa;
let mesh: Mesh;
let server: HostileServer;
let mallory: Guest;
const now = () => Math.floor(Date.now() / 1000);

/** Requests mallory's server was sent for a batch id. */
const asked = (batchId: string): number => server.requests.filter((r) => r.batchId === batchId).length;

async function malloryAnnounces(to: MeshNode, batchId: string, batchRoot: string, checkpoint: Checkpoint, anchors: Anchor[]): Promise<number> {
  const m = await joseSign<Announce>({ type: "announce", v: 2, namespace: NS, aud: to.did, batchId, batchRoot, checkpoint, anchors, ts: now(), signer: mallory.did }, mallory.key, mallory.did);
  const res = await fetch(`${to.url}/federation/announce`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(m) });
  await res.text();
  return res.status;
}

async function held(n: MeshNode): Promise<{ versions: Array<{ batchId: string; batchRoot: string; active: boolean; ids: string[] }>; equivocations: number }> {
  const store = await openStore(n.stateDir, { readOnly: true });
  try {
    const versions = [];
    for (const b of store.listBatches(NS)) {
      const full = (await store.getBatch(NS, b.batchId, b.batchRoot))!;
      versions.push({ batchId: b.batchId, batchRoot: b.batchRoot, active: b.outcomes.verified > 0, ids: full.receipts.map((r) => r.id).sort() });
    }
    return { versions, equivocations: store.equivocations().length };
  } finally {
    await store.close();
  }
}

before(async () => {
  tsa = createOpensslTsa();
  // mallory's endpoint keeps the origin's own Announces only: b relays the batch to mallory too,
  // and a relay's Announce (signed by b) taken for a's made the replay test fail now and then.
  server = await startHostileServer(() => mallory);
  const url = server.url;
  mesh = await startMesh(LINE_ABC, { trustPem: tsa.rootPem, guests: [{ name: "mallory", roles: ["announce", "serve", "request"], url }] });
  mallory = mesh.guests.get("mallory")!;
});
after(async () => {
  await server?.close();
  await mesh?.stop();
  tsa?.cleanup();
});

describe("hardening: a hostile admitted peer", () => {
  test("hostile peer: phantom receipt, size and ts pinning, relabelling and a non-origin equivocation all fail; the genuine batch is active everywhere", async () => {
    const [a, b, c] = [mesh.node("a"), mesh.node("b"), mesh.node("c")];
    // b is down while the origin announces, so mallory (routed on a) learns the genuine
    // checkpoint and anchors before b has the batch; a is stopped too so its outbox waits.
    await b.stop();
    await a.stop();
    const sealed: SealedFiles = await sealTsaBatch(join(mesh.root, "sealer"), "b-target", 4, tsa, 1_760_000_100);
    const r = await a.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
    assert.equal(r.code, 0, r.stderr);
    const genuine = server.captured.get("b-target");
    assert.ok(genuine, "a announced the batch to mallory");
    assert.equal(genuine.checkpoint.origin, a.did);
    assert.equal(genuine.checkpoint.size, 4);

    const root = sealed.root;
    const proofs = inclusionProofs(sealed.leaves, "vmsh-dup-sha256");
    const leaf = (i: number, over: Partial<Receipt> = {}, proof: Partial<Receipt["proof"]> = {}): Receipt => ({
      id: sealed.leaves[i]!, namespace: NS, batchId: "b-target", batchRoot: root, eventHash: sealed.leaves[i]!, ts: 1_760_000_100,
      proof: { tree: "vmsh-dup-sha256", index: i, size: 4, path: proofs[i]!.path, ...proof }, ...over,
    });
    // 1. Phantom: under vmsh-dup a one-leaf batch's root is its leaf, so {eventHash: root, size 1, path []} verifies.
    const phantom: Receipt = { id: root, namespace: NS, batchId: "b-target", batchRoot: root, eventHash: root, ts: 1_760_000_100, proof: { tree: "vmsh-dup-sha256", index: 0, size: 1, path: [] } };
    // 2. Sealing-time pinning: genuine receipts with another ts.
    const pinned = [leaf(1, { ts: 5 }), leaf(2, { ts: 5 })];
    // 3. Relabelling: genuine receipts under another batch id, with the genuine checkpoint relabelled (its signature no longer holds).
    const relabelled = [leaf(0, { batchId: "b-relabel" }), leaf(3, { batchId: "b-relabel" })];
    const relabelledCheckpoint = { ...genuine.checkpoint, batchId: "b-relabel" };
    server.answers.set("b-target", {
      receipts: [phantom, ...pinned, ...relabelled],
      checkpoints: [genuine.checkpoint, relabelledCheckpoint],
      anchors: [...genuine.anchors, ...genuine.anchors.map((x) => ({ ...x, batchId: "b-relabel" }))],
    });

    await b.start();
    // Mallory announces first, forwarding the genuine checkpoint; b pulls from mallory (the announcer).
    assert.equal(await malloryAnnounces(b, "b-target", root, genuine.checkpoint, genuine.anchors), 202);
    await b.waitForLog(/imported announced batch.*"batch":"b-target".*"from":"did:vm:node:mallory"/, 30_000);
    assert.equal(asked("b-target"), 1);
    // 4. A checkpoint mallory signs itself (size 1) does not make it an origin: nothing is pulled.
    const selfSigned = checkpointBy(mallory, { namespace: NS, batchId: "b-self", batchRoot: root, size: 1, createdAt: 5 });
    assert.equal(await malloryAnnounces(b, "b-self", root, selfSigned, genuine.anchors.map((x) => ({ ...x, batchId: "b-self" }))), 202);
    await b.waitForLog(/announce refused: checkpoint not from an origin.*"batch":"b-self"/, 15_000);
    // 5. A second root for the genuine batch id, under mallory's checkpoint: no pull, no equivocation alarm.
    const otherRoot = `sha256:${"9e".repeat(32)}`;
    const forkCheckpoint = checkpointBy(mallory, { namespace: NS, batchId: "b-target", batchRoot: otherRoot, size: 1, createdAt: 1_760_000_100 });
    assert.equal(await malloryAnnounces(b, "b-target", otherRoot, forkCheckpoint, genuine.anchors.map((x) => ({ ...x, batchRoot: otherRoot }))), 202);
    await b.waitForLog(new RegExp(`announce refused: checkpoint not from an origin.*"batch":"b-target"`), 15_000);
    assert.equal(asked("b-self"), 0);

    const afterAttack = await held(b);
    const target = afterAttack.versions.filter((v) => v.batchId === "b-target");
    assert.deepEqual(target.map((v) => v.batchRoot), [root], "only the genuine root is stored");
    assert.deepEqual(target[0]!.ids, [], "none of mallory's receipts was accepted");
    assert.deepEqual(afterAttack.versions.filter((v) => v.batchId !== "b-target"), [], "nothing stored under a relabelled or self-vouched id");
    assert.equal(afterAttack.equivocations, 0);

    // The origin comes back and announces again: its genuine receipts are accepted on b, and c gets them through b.
    await a.start();
    const again = await a.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
    assert.equal(again.code, 0, again.stderr);
    const expected = [...sealed.leaves].sort();
    for (const n of [b, c]) {
      await waitUntil(async () => (await held(n)).versions.some((v) => v.batchId === "b-target" && v.active && v.ids.length === 4), 30_000, `${n.name} to hold the genuine b-target`).catch(async (e: Error) => {
        throw new Error(`${e.message}: ${JSON.stringify(await held(n))}\n${n.logs.slice(-8).join("\n")}`);
      });
      const h = await held(n);
      assert.deepEqual(h.versions.map((v) => [v.batchId, v.batchRoot, v.active, v.ids]), [["b-target", root, true, expected]], `${n.name} holds exactly the genuine batch`);
      assert.equal(h.equivocations, 0);
    }
    const verify = await b.cli("verify-online", "--namespace", NS);
    assert.equal(verify.code, 0, `${verify.stdout}\n${verify.stderr}`);
  });

  test("hostile peer: the origin's Announce to mallory, replayed by mallory to b, is refused: it names its recipient", async () => {
    const b = mesh.node("b");
    const toMallory = server.captured.get("b-target")!;
    assert.equal(toMallory.aud, mallory.did);
    const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "b-replayed", 2, tsa, 1_760_000_300);
    const r = await mesh.node("a").cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir);
    assert.equal(r.code, 0, r.stderr);
    const fresh = server.captured.get("b-replayed")!;
    const res = await fetch(`${b.url}/federation/announce`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(fresh) });
    const body = (await res.json()) as { error?: { code: string } };
    assert.equal(res.status, 401);
    assert.equal(body.error?.code, "WRONG_AUDIENCE");
  });

  test("hostile peer: a request accepted once is refused again after a clean restart (window saved) and after a crash (the saved horizon)", async () => {
    const b = mesh.node("b");
    const request = await joseSign<Request>({ type: "request", v: 2, namespace: NS, aud: b.did, want: [`sha256:${"3d".repeat(32)}`], ts: now(), signer: mallory.did }, mallory.key, mallory.did);
    const send = async () => {
      const res = await fetch(`${b.url}/federation/request`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request) });
      return { status: res.status, body: (await res.json()) as { error?: { code: string } } };
    };
    assert.equal((await send()).status, 200);
    assert.equal((await send()).body.error?.code, "REPLAY");
    assert.equal(await b.stop("SIGTERM"), 0);
    await b.start();
    assert.equal((await send()).body.error?.code, "REPLAY", "the saved window came back");
    // A crash loses the digests: messages signed up to what the crashed run may have accepted are refused as stale.
    await b.stop("SIGKILL");
    await b.start();
    const after = await send();
    assert.equal(after.status, 401);
    assert.equal(after.body.error?.code, "STALE_TIMESTAMP");
    const fresh = await joseSign<Request>({ ...unsigned(request), ts: request.ts + HORIZON_RESERVE_S + 1 }, mallory.key, mallory.did);
    const res = await fetch(`${b.url}/federation/request`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(fresh) });
    assert.equal(res.status, 200, "a freshly signed message is accepted");
  });
});
