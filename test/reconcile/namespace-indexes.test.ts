import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ITEMS_DOC_AFTER_READS, ITEMS_DOC_PREFIX, NamespaceIndexes, type ReceiptKeySource } from "../../lib/reconcile/namespace-indexes.js";
import type { ReceiptKey, ReceiptsAddedListener } from "../../lib/store/types.js";
import { byKey, idOf, keysOf } from "./exchange.js";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { versionItems } from "../../lib/reconcile/version-items.js";
import { openStore } from "../../lib/store/index.js";
import { checkpointBy } from "../support/checkpoint.js";
import { sampleBatch } from "../store/sample.js";
import { tempDir } from "../store/tree.js";

const ORIGIN = { did: "did:vm:node:origin", key: generateNodeKey() };

/** The store's rule (lib/store/receipt-index.ts): one key per id, the earliest ts wins, and only entering keys are announced. */
class FakeStore implements ReceiptKeySource {
  readonly byId = new Map<string, ReceiptKey>();
  readonly listeners = new Set<ReceiptsAddedListener>();
  receiptKeys(): readonly ReceiptKey[] {
    return [...this.byId.values()].sort(byKey);
  }
  receiptCount(): number {
    return this.byId.size;
  }
  onReceiptsAdded(listener: ReceiptsAddedListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  put(keys: ReceiptKey[]): void {
    const added = keys.filter((k) => {
      const old = this.byId.get(k.id);
      if (old !== undefined && old.ts <= k.ts) return false;
      this.byId.set(k.id, k);
      return true;
    });
    for (const l of this.listeners) l("ns:a", added);
  }
}

describe("namespace indexes over a store", () => {
  test("indexes: built from the store's keys on first use and kept current by its events", () => {
    const store = new FakeStore();
    store.put(keysOf([...Array(100).keys()]));
    const indexes = new NamespaceIndexes(store);
    assert.equal(indexes.get("ns:a").size, 100);
    store.put(keysOf([...Array(50).keys()].map((i) => 100 + i)));
    store.put(keysOf([7, 8, 9]));
    const index = indexes.get("ns:a");
    assert.equal(index.size, 150);
    assert.deepEqual(index.fingerprint(0, 150), indexes.get("ns:a").fingerprint(0, 150));
    assert.equal(indexes.builds, 1);
    indexes.close();
    store.put(keysOf([500]));
    assert.equal(store.listeners.size, 0);
  });

  test("indexes: a receipt the store moves to an earlier ts triggers a rebuild, so the index matches the store", () => {
    const store = new FakeStore();
    store.put(keysOf([...Array(40).keys()]));
    const indexes = new NamespaceIndexes(store);
    indexes.get("ns:a");
    const moved = { ts: 1, id: idOf(5) };
    store.put([moved]);
    const index = indexes.get("ns:a");
    assert.equal(index.size, 40);
    assert.equal(indexes.builds, 2);
    assert.deepEqual(index.keyAt(0), moved);
    assert.equal(index.has(moved), true);
  });
});

describe("namespace indexes: attachment items of batch versions", () => {
  test("indexes: checkpoints and claims are items beside receipts, whatever this node's verdict on a claim; a new verdict changes no item", async () => {
    const t = tempDir();
    const store = await openStore(t.dir);
    try {
      const batch = sampleBatch({ batchId: "b1", size: 3, anchors: [{ outcome: "verified", reason: undefined }] });
      const checkpoint = checkpointBy(ORIGIN, { namespace: batch.namespace, batchId: "b1", batchRoot: batch.batchRoot, size: 3, createdAt: batch.createdAt });
      await store.putBatch({ ...batch, checkpoint });
      const indexes = new NamespaceIndexes(store);
      await indexes.prepare(batch.namespace);
      const index = indexes.get(batch.namespace);
      assert.equal(index.size, 3 + 1 + 1 + 1, "3 receipts, the checkpoint, one claim, the complete mark");
      const stored = (await store.getBatch(batch.namespace, "b1", batch.batchRoot))!;
      const items = versionItems(stored);
      assert.deepEqual(items.map((i) => [i.kind, i.ts]).sort(), [["checkpoint", batch.createdAt], ["claim", batch.createdAt], ["complete", batch.createdAt]]);
      assert.ok(items.every((i) => index.has(i)));
      assert.deepEqual(indexes.items(batch.namespace, [...items.map((i) => i.id), batch.receipts[0]!.id]).map((i) => i.kind).sort(), ["checkpoint", "claim", "complete"]);

      // A differing claim under the same (chain, tx), rejected here, is an item too: offered as evidence, each receiver verifies it itself.
      const bogus = { ...batch.anchors[0]!, block: 7, outcome: "rejected" as const, reason: "not in block 7" };
      await store.putAnchors(batch.namespace, "b1", [bogus]);
      await indexes.prepare(batch.namespace);
      assert.equal(indexes.get(batch.namespace).size, 7);
      const bogusItems = versionItems((await store.getBatch(batch.namespace, "b1", batch.batchRoot))!).filter((i) => i.kind === "claim");
      assert.equal(bogusItems.length, 2);
      assert.ok(bogusItems.every((i) => i.heldOnly === undefined && indexes.heldOnly(batch.namespace, i.id) === false));
      assert.equal(indexes.items(batch.namespace, bogusItems.map((i) => i.id)).length, 2, "both served as items");
      // A pending claim is an item at once; its later verdict changes no item: nothing inserted, nothing rebuilt.
      const pending = { ...batch.anchors[0]!, tx: `0x${"77".repeat(32)}`, outcome: "pending" as const, reason: "1 of 3 confirmations" };
      await store.putAnchors(batch.namespace, "b1", [pending]);
      await indexes.prepare(batch.namespace);
      assert.equal(indexes.get(batch.namespace).size, 8);
      const builds = indexes.builds;
      const before = indexes.get(batch.namespace).fingerprint(0, 8);
      await store.putAnchors(batch.namespace, "b1", [{ ...pending, outcome: "verified", reason: undefined }]);
      await indexes.prepare(batch.namespace);
      assert.equal(indexes.get(batch.namespace).size, 8);
      assert.deepEqual(indexes.get(batch.namespace).fingerprint(0, 8), before, "the same items");
      assert.equal(indexes.builds, builds, "not rebuilt");
      // Receipts of a new version arrive by event, its items at the next prepare; the two stay consistent.
      const next = sampleBatch({ batchId: "b2", size: 2, createdAt: batch.createdAt + 10 });
      await store.putBatch(next);
      assert.equal(indexes.get(batch.namespace).size, 10);
      await indexes.prepare(batch.namespace);
      assert.equal(indexes.get(batch.namespace).size, 10, "a version without checkpoint or claims has no item");
      // A fresh set of indexes over the same store agrees item for item.
      const again = new NamespaceIndexes(store);
      await again.prepare(batch.namespace);
      assert.deepEqual(again.get(batch.namespace).fingerprint(0, 10), indexes.get(batch.namespace).fingerprint(0, 10));
      again.close();
      indexes.close();
    } finally {
      await store.close();
      t.cleanup();
    }
  });
});

describe("namespace indexes: the attachment table kept for the next process", () => {
  test("indexes: after a cold prepare the table is saved; a new process re-reads only versions whose stamp changed, and a damaged table only costs reads", async () => {
    const t = tempDir();
    const store = await openStore(t.dir);
    try {
      const ns = "acme/audit";
      const versions = ITEMS_DOC_AFTER_READS + 6;
      for (let v = 0; v < versions; v++) {
        const batch = sampleBatch({ batchId: `b${v}`, size: 1, createdAt: 1_732_000_000 + v, anchors: [{ outcome: "verified", reason: undefined }] });
        await store.putBatch({ ...batch, checkpoint: checkpointBy(ORIGIN, { namespace: ns, batchId: batch.batchId, batchRoot: batch.batchRoot, size: 1, createdAt: batch.createdAt }) });
      }
      let reads = 0;
      const counting: ReceiptKeySource = {
        receiptKeys: (n) => store.receiptKeys(n),
        receiptCount: (n) => store.receiptCount(n),
        onReceiptsAdded: (l) => store.onReceiptsAdded(l),
        listBatches: (n) => store.listBatches(n),
        getBatch: (n, id, root, origin) => {
          reads++;
          return store.getBatch(n, id, root, origin);
        },
        getDoc: (name) => store.getDoc(name),
        putDoc: (name, value) => store.putDoc(name, value),
      };
      const first = new NamespaceIndexes(counting);
      await first.prepare(ns);
      const expected = first.get(ns).fingerprint(0, versions * 4);
      assert.equal(first.get(ns).size, versions * 4);
      assert.equal(reads, versions);
      first.close();
      assert.ok(await store.getDoc(`${ITEMS_DOC_PREFIX}${ns}`), "saved after a cold prepare");

      reads = 0;
      await store.putAnchors(ns, "b3", [{ ...sampleBatch({ batchId: "b3", size: 1, createdAt: 1_732_000_003, anchors: [{ outcome: "verified", reason: undefined }] }).anchors[0]!, block: 9 }]);
      const second = new NamespaceIndexes(counting);
      await second.prepare(ns);
      assert.equal(reads, 1, "only the version that gained a claim is read");
      assert.equal(second.get(ns).size, versions * 4 + 1);
      second.close();

      // A table of version 3 (it held unverified claims apart from the items) is not used: every version is read again.
      const saved = (await store.getDoc(`${ITEMS_DOC_PREFIX}${ns}`)) as { v: number };
      assert.equal(saved.v, 4);
      await store.putDoc(`${ITEMS_DOC_PREFIX}${ns}`, { ...saved, v: 3 });
      reads = 0;
      const older = new NamespaceIndexes(counting);
      await older.prepare(ns);
      assert.equal(reads, versions, "a version 3 table is read again from the files");
      older.close();

      reads = 0;
      const third = new NamespaceIndexes(counting);
      await third.prepare(ns);
      const fromFiles = new NamespaceIndexes(store);
      await store.putDoc(`${ITEMS_DOC_PREFIX}${ns}`, { v: 4, versions: [["b0", "x", "", "1 ", [["forged", "sha256:00", 0]]]] });
      await fromFiles.prepare(ns);
      assert.deepEqual(third.get(ns).fingerprint(0, versions * 4 + 1), fromFiles.get(ns).fingerprint(0, versions * 4 + 1), "the table gives the same items as the files");
      assert.notDeepEqual(expected, third.get(ns).fingerprint(0, versions * 4 + 1));
      third.close();
      fromFiles.close();
    } finally {
      await store.close();
      t.cleanup();
    }
  });
});
