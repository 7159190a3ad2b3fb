/**
 * One origin's two shapes of one root in the store (docs/STATE.md §Checkpoints): both kept, the
 * same primary whatever the order they arrive in, receipts re-stamped or dropped to fit it, and
 * what the store refuses.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ArgumentError } from "../../lib/errors.js";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { primaryShape } from "../../lib/quorum/shape.js";
import { openStore } from "../../lib/store/index.js";
import { checkpointBy } from "../support/checkpoint.js";
import { sampleBatch } from "./sample.js";
import { snapshot, tempDir } from "./tree.js";

const NS = "acme/audit";
const origin = { did: "did:vm:node:origin", key: generateNodeKey() };
const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));

function fresh(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}

const batch = sampleBatch({ batchId: "b1", size: 4, createdAt: 1_732_000_000 });
const shapeAt = (createdAt: number, size = 4) => checkpointBy(origin, { namespace: NS, batchId: "b1", batchRoot: batch.batchRoot, size, createdAt });

async function stored(dir: string, first: ReturnType<typeof shapeAt>) {
  const store = await openStore(dir);
  await store.putBatch({ ...batch, createdAt: first.createdAt, receipts: batch.receipts.map((r) => ({ ...r, ts: first.createdAt })), checkpoint: first });
  return store;
}

describe("store: an origin's two shapes of one root", () => {
  test("putShape: whichever shape arrives first, both nodes end with the same primary, the other kept, receipts at the primary's sealing time", async () => {
    const [x, y] = [shapeAt(1_732_000_000), shapeAt(1_732_000_001)];
    const primary = primaryShape(x, y);
    for (const [first, second] of [[x, y], [y, x]] as const) {
      const store = await stored(fresh(), first);
      const id = batch.receipts[0]!.id;
      assert.equal(await store.putShape(NS, second), second === primary ? "primary" : "kept");
      const v = (await store.getBatch(NS, "b1", batch.batchRoot, origin.did))!;
      assert.deepEqual([v.checkpoint, v.shapes, v.createdAt], [primary, [primary === first ? second : first], primary.createdAt]);
      assert.ok(v.receipts.length === 4 && v.receipts.every((r) => r.ts === primary.createdAt));
      assert.deepEqual(store.receiptKeys(NS).find((k) => k.id === id)?.ts, primary.createdAt, "the index follows the re-stamped receipts");
      assert.equal(await store.putShape(NS, second), "unchanged", "a shape already held changes nothing");
      await store.close();
    }
  });

  test("putShape: a primary of another size keeps only the receipts whose proofs fit it, and the index forgets the others", async () => {
    const dir = fresh();
    const x = shapeAt(1_732_000_000);
    // Find a 3-leaf shape that sorts first, so it becomes the primary.
    let createdAt = 1_732_000_100;
    while (primaryShape(x, shapeAt(createdAt, 3)) === x) createdAt++;
    const small = shapeAt(createdAt, 3);
    const store = await stored(dir, x);
    assert.equal(await store.putShape(NS, small), "primary");
    const v = (await store.getBatch(NS, "b1", batch.batchRoot, origin.did))!;
    assert.equal(v.receipts.length, 0, "every stored proof was for 4 leaves");
    assert.equal(store.receiptKeys(NS).length, 0);
    assert.equal(store.receiptCount(NS), 0);
    await store.close();
  });

  test("putShape: refuses a checkpoint of another namespace with ArgumentError, and writes nothing for a version not stored", async () => {
    const dir = fresh();
    const store = await stored(dir, shapeAt(1_732_000_000));
    const before = snapshot(dir);
    await assert.rejects(store.putShape("other/ns", shapeAt(1_732_000_001)), (e: unknown) => e instanceof ArgumentError && /checkpoint: must be a checkpoint of namespace "other\/ns"/.test(e.message));
    const elsewhere = checkpointBy(origin, { namespace: NS, batchId: "b2", batchRoot: batch.batchRoot, size: 4, createdAt: 1 });
    assert.equal(await store.putShape(NS, elsewhere), "unchanged");
    assert.deepEqual(snapshot(dir), before, "state unchanged");
    await store.close();
  });
});
