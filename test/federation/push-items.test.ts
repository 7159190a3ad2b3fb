/**
 * Anti-entropy pushes what a peer lacks of a version it holds (docs/ANTI_ENTROPY.md
 * §Attachment items, "Pushing"): a claim verified here goes to the peer with the initiator's session, so the
 * peer does not have to run its own round to get it. Found by the chaos run
 * (docs/RELIABILITY.md, "Claims as evidence"): heals over the bound waited on a node just back
 * from a partition that was short of CPU and got its last items only in its own, late, rounds.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { digestBytes } from "../../lib/digest.js";
import { openStore } from "../../lib/store/index.js";
import { rewriteReceipts } from "../support/item-mesh.js";
import { activeBatchIds, waitUntil, MESH_NAMESPACE as NS, type MeshNode } from "../support/mesh.js";
import { useMesh } from "../support/use-mesh.js";
import { sealTsaBatch } from "../support/sealer.js";

const mesh = useMesh([{ name: "a", routes: ["b"] }, { name: "b", routes: ["a"] }], { antiEntropyIntervalS: 3600 });

/** `chain/tx outcome` of each claim `n` holds for `batchId`, sorted. */
async function claims(n: MeshNode, batchId: string): Promise<string[]> {
  const store = await openStore(n.stateDir, { readOnly: true });
  try {
    return (await store.anchors(NS, batchId)).map((a) => `${a.chain}/${a.tx} ${a.outcome}`).sort();
  } finally {
    await store.close();
  }
}

test("anti-entropy: the initiator's session announces a claim it verified that the peer lacks of a version the peer holds; the peer verifies it itself", async () => {
  const [a, b] = [mesh.node("a"), mesh.node("b")];
  const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "b-push", 4, mesh.tsa);
  assert.equal((await a.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir)).code, 0);
  await waitUntil(async () => (await activeBatchIds(b)).includes("b-push"), 30_000, "b to hold b-push");

  // The origin's writer adds a second stamp while b is down; a's daemon, which would deliver the
  // queued Announce, stays down, and b cannot reach a to fetch anything itself.
  await Promise.all([a.stop(), b.stop()]);
  const second = { chain: "rfc3161:vmsh-test", tx: "a-second-stamp", block: 0, ts: 1_760_000_100, sig: Buffer.from(mesh.tsa.mint(digestBytes(sealed.root))).toString("base64") };
  await rewriteReceipts(sealed.receiptsDir, second);
  await a.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir);
  await b.start();
  assert.deepEqual(await claims(b, "b-push"), ["rfc3161:vmsh-test/tsa-b-push verified"]);

  // One session that a starts: b lacks a claim a verified, of a version b holds.
  const synced = await a.cli("sync", "--namespace", NS, "--peer", b.did, "--json");
  const report = JSON.parse(synced.stdout).peers[0];
  assert.equal(report.ok, true, synced.stderr);
  assert.equal(report.itemsThere, 1);
  assert.equal(report.announced, 1);
  await waitUntil(async () => (await claims(b, "b-push")).length === 2, 30_000, "b to take the pushed claim");
  assert.deepEqual(await claims(b, "b-push"), ["rfc3161:vmsh-test/a-second-stamp verified", "rfc3161:vmsh-test/tsa-b-push verified"]);
  assert.ok(b.logs.some((l) => /imported new anchors of a held batch.*"batch":"b-push".*"from":"did:vm:node:a"/.test(l)), "by a's Announce");

  // Nothing is left to push: the next session announces nothing.
  const again = JSON.parse((await a.cli("sync", "--namespace", NS, "--peer", b.did, "--json")).stdout).peers[0];
  assert.deepEqual([again.itemsThere, again.announced], [0, 0]);
  await a.start();
});
