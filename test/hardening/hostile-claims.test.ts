/**
 * A hostile admitted peer's anchor claims and receipt shapes, against real `serve` processes, a
 * real anvil and an openssl TSA (docs/FEDERATION_SEMANTICS.md §6. Threat model). "mallory" is in
 * every node's peers.yaml with roles announce, serve and request, not origin; "olive" is an honest
 * origin reached only through its announces (a test server, like mallory's). Both sign with `jose`.
 * The pair a – b requires 3 EVM confirmations, so a freshly mined anchor is pending.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Address } from "viem";
import type { Anchor } from "../../lib/anchors/anchor.js";
import { digestBytes } from "../../lib/digest.js";
import { inclusionProof, inclusionProofs, merkleRoot } from "../../lib/merkle/index.js";
import type { Receipt } from "../../lib/receipt.js";
import { openStore } from "../../lib/store/index.js";
import { deployBatchAnchor, mine, sendAnchor, startAnvil, type AnvilNode } from "../support/anvil.js";
import { checkpointBy } from "../support/checkpoint.js";
import { startMesh, waitUntil, MESH_NAMESPACE as NS, type Guest, type Mesh, type MeshNode } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { hostileAnnounce, hostileRequest, startHostileServer, type HostileServer } from "./hostile-server.js";

let tsa: OpensslTsa;
let anvil: AnvilNode;
let contract: Address;
let mesh: Mesh;
let malloryServer: HostileServer;
let oliveServer: HostileServer;
let mallory: Guest;
let olive: Guest;

/** Sealer output whose receipts carry one EVM anchor sent to anvil (mined at once: 1 confirmation). */
async function sealEvmBatch(id: string, size: number, createdAt: number): Promise<{ root: string; leaves: string[]; batchFile: string; receiptsDir: string; anchor: Anchor }> {
  const leaves = Array.from({ length: size }, () => `sha256:${randomBytes(32).toString("hex")}`);
  const root = merkleRoot(leaves, "vmsh-dup-sha256");
  const base = join(mesh.root, "sealer", id);
  const receiptsDir = join(base, "receipts");
  await mkdir(receiptsDir, { recursive: true });
  const batchFile = join(base, "batch.json");
  await writeFile(batchFile, JSON.stringify({ id, root, leaves, createdAt }));
  const sent = await sendAnchor(anvil, { contract, root, batchId: id });
  const anchor: Anchor = { batchId: id, batchRoot: root, chain: `eip155:${anvil.chainId}`, contract, tx: sent.tx, block: sent.block!, ts: createdAt + 5 };
  const { batchId: _b, batchRoot: _r, ...fileAnchor } = anchor;
  const proofs = inclusionProofs(leaves, "vmsh-dup-sha256");
  await Promise.all(leaves.map((leaf, i) => writeFile(join(receiptsDir, `${i}.json`), JSON.stringify({ eventHash: leaf, batchRoot: root, path: proofs[i]!.path, anchor: fileAnchor, verifier: "did:vm:node:sealer", integrity: "vmr1-test" }))));
  return { root, leaves, batchFile, receiptsDir, anchor };
}

/** A node's stored versions of `batchId`: origin, size, active, receipt ids, anchor records. */
async function versions(n: MeshNode, batchId: string) {
  const store = await openStore(n.stateDir, { readOnly: true });
  try {
    const out = [];
    for (const v of store.batchVersions(NS, batchId)) {
      const full = (await store.getBatch(NS, batchId, v.batchRoot, v.origin ?? null))!;
      out.push({ origin: v.origin, size: v.size, active: v.outcomes.verified > 0, ids: full.receipts.map((r) => r.id).sort(), anchors: full.anchors });
    }
    return out;
  } finally {
    await store.close();
  }
}

async function receiptKeys(n: MeshNode): Promise<string> {
  const store = await openStore(n.stateDir, { readOnly: true });
  try {
    return JSON.stringify(store.receiptKeys(NS).map((k) => [k.ts, k.id]));
  } finally {
    await store.close();
  }
}

async function waitForActive(n: MeshNode, batchId: string, origin: string, leaves: readonly string[]): Promise<void> {
  const want = JSON.stringify([...leaves].sort());
  await waitUntil(async () => (await versions(n, batchId)).some((v) => v.origin === origin && v.active && JSON.stringify(v.ids) === want), 40_000, `${n.name} to hold ${batchId} active and complete`).catch(async (e: Error) => {
    throw new Error(`${e.message}: ${JSON.stringify(await versions(n, batchId))}\n${n.logs.slice(-10).join("\n")}`);
  });
}

before(async () => {
  tsa = createOpensslTsa();
  anvil = await startAnvil();
  contract = await deployBatchAnchor(anvil);
  malloryServer = await startHostileServer(() => mallory);
  oliveServer = await startHostileServer(() => olive);
  mesh = await startMesh([{ name: "a", routes: ["b"] }, { name: "b", routes: ["a"] }], {
    trustPem: tsa.rootPem,
    anchorsYaml: `eip155:\n  "${anvil.chainId}": { rpcUrl: "${anvil.rpcUrl}", contract: "${contract}" }\n`,
    evmConfirmations: 3,
    guests: [
      { name: "mallory", roles: ["announce", "serve", "request"], url: malloryServer.url },
      { name: "olive", roles: ["announce", "serve", "request", "origin"], url: oliveServer.url },
    ],
  });
  mallory = mesh.guests.get("mallory")!;
  olive = mesh.guests.get("olive")!;
});
after(async () => {
  await mesh?.stop();
  await Promise.all([malloryServer?.close(), oliveServer?.close()]);
  await anvil?.stop();
  tsa?.cleanup();
});

describe("hardening: hostile anchor claims and receipt shapes", () => {
  test("pending overwrite: a claim with a's (chain, tx) and another block leaves a's pending EVM anchor as it is; once anvil confirms it, the batch is active on a and b", async () => {
    const [a, b] = [mesh.node("a"), mesh.node("b")];
    const sealed = await sealEvmBatch("b-pending", 4, 1_760_000_700);
    // Stored with its anchor pending: nothing announced yet, so exit 1 (README "The command line").
    const r = await a.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
    assert.equal(r.code, 1, r.stderr);
    const own = (await versions(a, "b-pending"))[0]!.anchors[0]!;
    assert.deepEqual([own.block, own.outcome], [sealed.anchor.block, "pending"], "1 of 3 confirmations");

    // Mallory reads a's checkpoint and claim with an ordinary Request, then claims the same (chain, tx) in another block.
    const served = await hostileRequest(mallory, a, { batchId: "b-pending" });
    const forged: Anchor = { ...served.anchors[0]!, block: sealed.anchor.block + 7 };
    malloryServer.answers.set("b-pending", { receipts: [], checkpoints: served.checkpoints, anchors: [forged] });
    assert.equal(await hostileAnnounce(mallory, a, "b-pending", sealed.root, served.checkpoints[0]!, [forged]), 202);
    // The line of the attack this covers: on 0.1.0 the forged claim replaced the stored pending
    // record (then verified as rejected, "block mismatch"), and the timer re-checks only pending
    // records, so a's anchor was never looked at again and the batch stayed held for good.
    // Now the forged claim is a record of its own (claims are kept apart by digest), verified on its own.
    await a.waitForLog(/imported announced batch.*"batch":"b-pending".*"from":"did:vm:node:mallory"/, 30_000);
    const kept = (await versions(a, "b-pending"))[0]!.anchors;
    assert.deepEqual(kept.map((x) => [x.tx, x.block, x.outcome]).sort((p, q) => Number(p[1]) - Number(q[1])), [[sealed.anchor.tx, sealed.anchor.block, "pending"], [sealed.anchor.tx, sealed.anchor.block + 7, "rejected"]], "a's own pending record is untouched; the forged one is apart, rejected");

    // The real confirmations arrive: a's timer re-checks its own pending anchor, the batch turns active and reaches b.
    await mine(anvil, 2);
    await waitForActive(a, "b-pending", a.did, sealed.leaves);
    await waitForActive(b, "b-pending", a.did, sealed.leaves);
    // a keeps the forged claim as rejected; b gets it by anti-entropy as evidence and rejects it by
    // its own check: a claim travels without its verdict (docs/ANTI_ENTROPY.md §Attachment items).
    const held = async (n: MeshNode) => ((await versions(n, "b-pending")).find((x) => x.origin === a.did)!).anchors.map((x) => [x.block, x.outcome]).sort((p, q) => Number(p[0]) - Number(q[0]));
    const expected = [[sealed.anchor.block, "verified"], [sealed.anchor.block + 7, "rejected"]];
    assert.deepEqual(await held(a), expected, "a verified the genuine block");
    await waitUntil(async () => JSON.stringify(await held(b)) === JSON.stringify(expected), 30_000, "b to hold the genuine block verified and the forged one rejected");
  });

  test("rfc9162 wrong size: a genuine leaf announced as one of 4 leaves of olive's 3-leaf rfc9162 batch is refused with the reason, nothing of it is stored, and olive's receipts are then accepted", async () => {
    const [a, b] = [mesh.node("a"), mesh.node("b")];
    const createdAt = 1_760_000_900;
    const leaves = Array.from({ length: 3 }, () => `sha256:${randomBytes(32).toString("hex")}`);
    const root = merkleRoot(leaves, "rfc9162-sha256");
    const token = Buffer.from(tsa.mint(digestBytes(root), { noNonce: false })).toString("base64");
    const anchor: Anchor = { batchId: "b-rfc", batchRoot: root, chain: "rfc3161:vmsh-test", tx: "tsa-b-rfc", block: 0, ts: createdAt + 5, sig: token };
    const checkpoint = checkpointBy(olive, { namespace: NS, batchId: "b-rfc", batchRoot: root, size: 3, createdAt, tree: "rfc9162-sha256" });
    const genuine: Receipt[] = leaves.map((leaf, i) => ({ id: leaf, namespace: NS, batchId: "b-rfc", batchRoot: root, eventHash: leaf, ts: createdAt, proof: inclusionProof(leaves, i, "rfc9162-sha256") }));
    // Under RFC 9162 leaf 0 of 3 has the same path, and so the same root, as leaf 0 of 4: only the checkpoint says 3.
    const wrongSize: Receipt = { ...genuine[0]!, proof: { ...genuine[0]!.proof, size: 4 } };

    const before = await receiptKeys(b);
    malloryServer.answers.set("b-rfc", { receipts: [wrongSize], checkpoints: [checkpoint], anchors: [anchor] });
    assert.equal(await hostileAnnounce(mallory, b, "b-rfc", root, checkpoint, [anchor]), 202);
    // The line of the attack this covers: on 0.1.0 the first delivered receipt fixed the batch's
    // proof.size (`shape ??= …` in lib/pipeline/import.ts), so this leaf was stored as one of 4 and
    // olive's genuine receipts of 3 were refused on every node.
    const line = await b.waitForLog(/imported announced batch.*"batch":"b-rfc".*"from":"did:vm:node:mallory"/, 30_000);
    assert.match(line, new RegExp(`receipt ${leaves[0]}: proof is for leaf 0 of a rfc9162-sha256 batch of 4 leaves; the origin did:vm:node:olive signed rfc9162-sha256 with 3`));
    assert.equal(await receiptKeys(b), before, "no receipt entered b's state");
    assert.deepEqual((await versions(b, "b-rfc")).map((v) => [v.origin, v.size, v.ids]), [[olive.did, 3, []]], "the size is the checkpoint's, not the leaf's");

    // Olive announces its batch: b pulls it by origin and accepts the genuine receipts, then relays them to a.
    oliveServer.answers.set("b-rfc", { receipts: genuine, checkpoints: [checkpoint], anchors: [anchor] });
    assert.equal(await hostileAnnounce(olive, b, "b-rfc", root, checkpoint, [anchor]), 202);
    for (const n of [b, a]) await waitForActive(n, "b-rfc", olive.did, leaves);
  });
});
