/**
 * An admitted origin that is hostile, against real `serve` processes (docs/FEDERATION_SEMANTICS.md
 * §6. Threat model). "eve" is in every node's peers.yaml with roles announce, serve, request and
 * origin, so the checkpoints it signs verify everywhere; it signs with the `jose` package and its
 * endpoint is this test's own HTTP server. In the line a – b – c, a is the genuine origin.
 *
 * - Front-run: roots are public once anchored, so eve signs its own checkpoint of a's root (another
 *   createdAt) and delivers it with a's receipts relabelled to that time and a's real anchors,
 *   before a's batch reaches b. On 0.1.0 + checkpoints a version was (namespace, batchId,
 *   batchRoot): b held eve's version active and complete, skipped a's Announce as already held
 *   (lib/federation/node.ts onAnnounce) and refused a's checkpoint as "another origin's checkpoint
 *   … is already the one this version is held against" (lib/pipeline/import.ts). Now each origin's
 *   checkpoint is its own version, and a's is active and complete on b and c.
 * - Displacement: eve's own held batch holds one of a's events with an earlier ts. On 0.1.0 the
 *   receipt index kept the earliest copy per id (lib/store/receipt-index.ts), so `want` answers and
 *   anti-entropy served eve's held copy without anchors. Now the active version's copy is served.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { inclusionProofs, merkleRoot } from "../../lib/merkle/index.js";
import type { Receipt } from "../../lib/receipt.js";
import { openStore } from "../../lib/store/index.js";
import { checkpointBy } from "../support/checkpoint.js";
import { LINE_ABC, startMesh, waitUntil, MESH_NAMESPACE as NS, type Guest, type Mesh, type MeshNode } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { sealTsaBatch } from "../support/sealer.js";
import { hostileAnnounce, hostileRequest, startHostileServer, type HostileServer } from "./hostile-server.js";

let tsa: OpensslTsa;
let mesh: Mesh;
let server: HostileServer;
let eve: Guest;

/** A node's versions of one batch id, read from its state: origin, root, active, receipt ids. */
async function versions(n: MeshNode, batchId: string): Promise<Array<{ origin?: string; batchRoot: string; createdAt: number; active: boolean; ids: string[] }>> {
  const store = await openStore(n.stateDir, { readOnly: true });
  try {
    const out = [];
    for (const v of store.batchVersions(NS, batchId)) {
      const full = (await store.getBatch(NS, batchId, v.batchRoot, v.origin ?? null))!;
      out.push({ ...(v.origin === undefined ? {} : { origin: v.origin }), batchRoot: v.batchRoot, createdAt: v.createdAt, active: v.outcomes.verified > 0, ids: full.receipts.map((r) => r.id).sort() });
    }
    return out;
  } finally {
    await store.close();
  }
}

/** The copy of receipt `id` a node serves (getReceipt, want answers, the (ts, id) order). */
async function servedCopy(n: MeshNode, id: string): Promise<{ receipt?: Receipt; origin?: string }> {
  const store = await openStore(n.stateDir, { readOnly: true });
  try {
    const receipt = await store.getReceipt(NS, id);
    const origin = store.receiptVersion(NS, id)?.origin;
    return { ...(receipt === undefined ? {} : { receipt }), ...(origin === undefined ? {} : { origin }) };
  } finally {
    await store.close();
  }
}

async function waitForGenuine(n: MeshNode, batchId: string, origin: string, leaves: readonly string[]): Promise<void> {
  const want = [...leaves].sort();
  await waitUntil(async () => (await versions(n, batchId)).some((v) => v.origin === origin && v.active && JSON.stringify(v.ids) === JSON.stringify(want)), 40_000, `${n.name} to hold ${origin}'s ${batchId} active and complete`).catch(async (e: Error) => {
    const logs = [...mesh.nodes.values()].map((m) => `${m.name}:\n${m.logs.filter((l) => !/anti-entropy failed/.test(l)).slice(-12).join("\n")}`);
    throw new Error(`${e.message}: ${JSON.stringify(await versions(n, batchId))}\n${logs.join("\n")}`);
  });
}

before(async () => {
  tsa = createOpensslTsa();
  server = await startHostileServer(() => eve);
  mesh = await startMesh(LINE_ABC, { trustPem: tsa.rootPem, guests: [{ name: "eve", roles: ["announce", "serve", "request", "origin"], url: server.url }] });
  eve = mesh.guests.get("eve")!;
});
after(async () => {
  await server?.close();
  await mesh?.stop();
  tsa?.cleanup();
});

describe("hardening: a hostile admitted origin", () => {
  test("front-run: eve's checkpoint of a's anchored root, delivered first with a's receipts relabelled, is eve's own version; a's batch is still accepted and active on b and c", async () => {
    const [a, b, c] = [mesh.node("a"), mesh.node("b"), mesh.node("c")];
    // b is down while a announces, so only eve (routed on a) learns the root and the anchors; a then stops, its outbox waiting for b.
    await b.stop();
    const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "b-front", 4, tsa, 1_760_000_100);
    const r = await a.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
    assert.equal(r.code, 0, r.stderr);
    await a.stop();
    const genuine = server.captured.get("b-front");
    assert.ok(genuine, "a announced the batch to eve");

    // Eve's version: the same root and size, its own sealing time, a's receipts relabelled to it (the proofs hold: ts is not in the tree).
    const eveAt = 1_760_000_000;
    const eveCheckpoint = checkpointBy(eve, { namespace: NS, batchId: "b-front", batchRoot: sealed.root, size: 4, createdAt: eveAt });
    const proofs = inclusionProofs(sealed.leaves, "vmsh-dup-sha256");
    const relabelled: Receipt[] = sealed.leaves.map((leaf, i) => ({ id: leaf, namespace: NS, batchId: "b-front", batchRoot: sealed.root, eventHash: leaf, ts: eveAt, proof: proofs[i]! }));
    server.answers.set("b-front", { receipts: relabelled, checkpoints: [eveCheckpoint], anchors: genuine.anchors });
    await b.start();
    assert.equal(await hostileAnnounce(eve, b, "b-front", sealed.root, eveCheckpoint, genuine.anchors), 202);
    await b.waitForLog(/imported announced batch.*"batch":"b-front".*"origin":"did:vm:node:eve".*"status":"active"/, 30_000);
    // Eve's version is held on b as eve's, flagged nowhere as an equivocation.
    assert.deepEqual((await versions(b, "b-front")).map((v) => [v.origin, v.createdAt, v.active, v.ids.length]), [[eve.did, eveAt, true, 4]]);

    // a comes back and announces again: b pulls a's version by origin, stores it beside eve's, and relays it to c.
    await a.start();
    const again = await a.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
    assert.equal(again.code, 0, again.stderr);
    for (const n of [b, c]) await waitForGenuine(n, "b-front", a.did, sealed.leaves);
    for (const n of [b, c]) {
      const v = (await versions(n, "b-front")).find((x) => x.origin === a.did)!;
      assert.equal(v.createdAt, 1_760_000_100, `${n.name} holds a's version at a's sealing time`);
      const store = await openStore(n.stateDir, { readOnly: true });
      try {
        assert.equal(store.equivocations().length, 0, "two origins signing one root is not an equivocation");
      } finally {
        await store.close();
      }
    }
    // A node that joins afterwards with an empty state learns both versions from b: anti-entropy
    // sends every version's copy of the ids it lacks, not only the copy b serves first.
    await c.stop();
    await rm(c.stateDir, { recursive: true, force: true });
    await c.start();
    await waitForGenuine(c, "b-front", a.did, sealed.leaves);
  });

  test("displacement: eve's held batch holding a's event with an earlier ts does not displace a's active copy; a node that joins later gets a's receipt with its anchors", async () => {
    const [a, b, c] = [mesh.node("a"), mesh.node("b"), mesh.node("c")];
    await c.stop();
    const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "b-disp", 4, tsa, 1_760_000_500);
    const r = await a.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
    assert.equal(r.code, 0, r.stderr);
    await waitForGenuine(b, "b-disp", a.did, sealed.leaves);

    // Eve seals a batch of its own holding a's first event and one of its own, 400 s earlier, and
    // claims a TSA anchor of another root for it: eve's version is stored, held, never active.
    const target = sealed.leaves[0]!;
    const leaves = [target, `sha256:${randomBytes(32).toString("hex")}`];
    const eveRoot = merkleRoot(leaves, "vmsh-dup-sha256");
    const eveAt = 1_760_000_100;
    const eveCheckpoint = checkpointBy(eve, { namespace: NS, batchId: "b-eve", batchRoot: eveRoot, size: 2, createdAt: eveAt });
    const proofs = inclusionProofs(leaves, "vmsh-dup-sha256");
    const eveReceipts: Receipt[] = leaves.map((leaf, i) => ({ id: leaf, namespace: NS, batchId: "b-eve", batchRoot: eveRoot, eventHash: leaf, ts: eveAt, proof: proofs[i]! }));
    const borrowed = server.captured.get("b-disp")!.anchors.map((x) => ({ ...x, batchId: "b-eve", batchRoot: eveRoot, tx: "tsa-eve" }));
    server.answers.set("b-eve", { receipts: eveReceipts, checkpoints: [eveCheckpoint], anchors: borrowed });
    assert.equal(await hostileAnnounce(eve, b, "b-eve", eveRoot, eveCheckpoint, borrowed), 202);
    await b.waitForLog(/imported announced batch.*"batch":"b-eve".*"status":"held".*"receipts":2/, 30_000);

    // b serves a's copy of the event: from its index, and in the answer to a want.
    const onB = await servedCopy(b, target);
    assert.deepEqual([onB.receipt?.batchId, onB.receipt?.ts, onB.origin], ["b-disp", 1_760_000_500, a.did]);
    // A want answer carries every version's copy, the served one first, each with its version's checkpoint.
    const bundle = await hostileRequest(eve, b, { want: [target] });
    assert.deepEqual(bundle.receipts.map((x) => [x.id, x.batchId, x.ts]), [[target, "b-disp", 1_760_000_500], [target, "b-eve", eveAt]]);
    assert.deepEqual(bundle.checkpoints.map((x) => [x.origin, x.batchId]), [[a.did, "b-disp"], [eve.did, "b-eve"]]);
    assert.ok(bundle.anchors.some((x) => x.batchId === "b-disp" && x.batchRoot === sealed.root), "the want answer carries a's anchors");

    // c joins later: it catches up from b and serves a's copy, active, with its anchors.
    await c.start();
    await waitForGenuine(c, "b-disp", a.did, sealed.leaves);
    const onC = await servedCopy(c, target);
    assert.deepEqual([onC.receipt?.batchId, onC.origin], ["b-disp", a.did]);
    assert.ok(!(await versions(c, "b-eve")).some((v) => v.active), "eve's batch is active nowhere");
  });
});
