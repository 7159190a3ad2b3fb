import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { NamespaceIndexes, type ReceiptKeySource } from "../../lib/reconcile/namespace-indexes.js";
import type { ReceiptKey, ReceiptsAddedListener } from "../../lib/store/types.js";
import { byKey, idOf, keysOf } from "./exchange.js";

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
