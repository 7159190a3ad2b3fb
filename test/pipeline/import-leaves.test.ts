/**
 * `importBundle` given whole versions as their leaves (docs/FEDERATION_PROTOCOL.md §Leaves): a
 * version whose checkpoint verifies is stored as its leaves (docs/STATE.md §Leaves form); leaves of
 * an origin this node does not know, or of a checkpoint that does not rebuild, store nothing; leaves
 * of another shape than the stored version's go in as the receipts they stand for, each checked.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { merkleRoot, receiptsForBatch } from "../../lib/merkle/index.js";
import { signCheckpoint, type Checkpoint } from "../../lib/messages/checkpoint.js";
import { encodeLeaves } from "../../lib/messages/leaves.js";
import { importBundle } from "../../lib/pipeline/bundle.js";
import { snapshot } from "../store/tree.js";
import { useFreshStore } from "../support/fresh-store.js";

const NS = "dao:vaultmesh";
const ORIGIN = { did: "did:vm:node:origin", key: generateNodeKey() };
const STRANGER = { did: "did:vm:node:stranger", key: generateNodeKey() };
const H = (tag: string, n: number) => `sha256:${Buffer.from(`${tag}/${n}`).toString("hex").padEnd(64, "0").slice(0, 64)}`;

function version(id: string, size: number, by = ORIGIN, createdAt = 1_700_000_000) {
  const hashes = Array.from({ length: size }, (_, i) => H(id, i));
  const root = merkleRoot(hashes, "vmsh-dup-sha256");
  const checkpoint: Checkpoint = signCheckpoint({ namespace: NS, origin: by.did, batchId: id, batchRoot: root, tree: "vmsh-dup-sha256", size, createdAt, ts: 1_800_000_000 }, by.key.privateKey);
  return { hashes, root, checkpoint, leaves: encodeLeaves(hashes), receipts: receiptsForBatch({ id, root, leaves: hashes, createdAt }, NS) };
}

const fx = useFreshStore("vmsh-import-leaves-", new Map([[ORIGIN.did, ORIGIN.key.publicKey]]));
const ctx = fx.ctx;

describe("importBundle: versions as leaves", () => {
  test("a version whose checkpoint verifies is stored as its leaves; its receipts read back are the sealer's", async () => {
    const a = version("a", 37);
    const b = version("b", 8, ORIGIN, 1_700_000_060);
    const reports = await importBundle(NS, [], [], ctx(), [a.checkpoint, b.checkpoint], [{ checkpoint: a.checkpoint, leaves: a.leaves }, { checkpoint: b.checkpoint, leaves: b.leaves }]);
    assert.deepEqual(reports.map((r) => [r.batchId, r.receiptsAdded, r.receiptsStored, r.rejectedReceipts.length]), [["a", 37, 37, 0], ["b", 8, 8, 0]]);
    assert.equal((await fx.store.getBatch(NS, "a", a.root, ORIGIN.did))?.leaves, a.leaves);
    const got = await fx.store.getReceipts(NS, a.hashes);
    assert.deepEqual(got.sort((x, y) => (x.id < y.id ? -1 : 1)), [...a.receipts].sort((x, y) => (x.id < y.id ? -1 : 1)));
    // The same leaves again: nothing written.
    const again = await importBundle(NS, [], [], ctx(), [a.checkpoint], [{ checkpoint: a.checkpoint, leaves: a.leaves }]);
    assert.equal(again[0]?.written, false);
  });

  test("leaves under a checkpoint of an origin this node does not know: nothing stored, the checkpoint refused", async () => {
    const s = version("s", 5, STRANGER);
    const before = snapshot(fx.dir);
    const reports = await importBundle(NS, [], [], ctx(), [s.checkpoint], [{ checkpoint: s.checkpoint, leaves: s.leaves }]);
    assert.equal(reports[0]?.receiptsAdded, 0);
    assert.match(reports[0]?.rejectedCheckpoints[0]?.reason ?? "", /origin/);
    assert.deepEqual(snapshot(fx.dir), before);
    assert.equal(fx.store.receiptCount(NS), 0);
  });

  test("leaves that do not rebuild to the checkpoint's root: the import fails naming them, nothing stored", async () => {
    const a = version("a", 9);
    const swapped = encodeLeaves([a.hashes[1]!, a.hashes[0]!, ...a.hashes.slice(2)]);
    const before = snapshot(fx.dir);
    await assert.rejects(importBundle(NS, [], [], ctx(), [a.checkpoint], [{ checkpoint: a.checkpoint, leaves: swapped }]), /batch\.leaves: 9 leaves rebuild to the vmsh-dup-sha256 root sha256:[0-9a-f]{64}, but the checkpoint of batch a signs sha256:[0-9a-f]{64}; nothing of batch a is stored/);
    assert.deepEqual(snapshot(fx.dir), before);
    assert.equal(fx.store.receiptCount(NS), 0);
  });

  test("a version held against the origin's other shape (another sealing time): the leaves do exactly what their receipts with paths do", async () => {
    const a = version("a", 6);
    const cp = a.checkpoint;
    const other = signCheckpoint({ namespace: NS, origin: ORIGIN.did, batchId: "a", batchRoot: a.root, tree: cp.tree, size: cp.size, createdAt: cp.createdAt + 1, ts: 1_800_000_001 }, ORIGIN.key.privateKey);
    const outcome = async (leaves: boolean) => {
      await importBundle(NS, [], [], ctx(), [other]);
      assert.equal(fx.store.batchVersions(NS, "a")[0]?.createdAt, other.createdAt);
      const reports = leaves ? await importBundle(NS, [], [], ctx(), [cp], [{ checkpoint: cp, leaves: a.leaves }]) : await importBundle(NS, a.receipts, [], ctx(), [cp]);
      const stored = await fx.store.getBatch(NS, "a", a.root, ORIGIN.did);
      return { reports: JSON.parse(JSON.stringify(reports)), createdAt: stored?.createdAt, receipts: [...(stored?.receipts ?? [])].sort((x, y) => (x.id < y.id ? -1 : 1)) };
    };
    const byLeaves = await outcome(true);
    await fx.reset();
    const byReceipts = await outcome(false);
    assert.deepEqual(byLeaves, byReceipts);
    for (const r of byLeaves.receipts) assert.equal(r.ts, byLeaves.createdAt);
  });
});
