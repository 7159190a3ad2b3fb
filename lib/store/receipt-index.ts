/**
 * The in-memory `(ts, id)` order of one namespace's receipts (docs/ANTI_ENTROPY.md §Items and order): a sorted
 * array of small keys, each pointing at the batch that holds the body, plus a
 * map by id. Bodies stay on disk. A batch of k receipts merges in O(n + k);
 * lookups by ts or by key are binary searches.
 */
import type { ReceiptKey } from "./types.js";

/** A key in the index, with the batch (of the caller's type) holding the receipt body. */
export interface IndexedReceipt<B> extends ReceiptKey {
  readonly batch: B;
}

/**
 * Orders keys by ts, then id by UTF-16 code units (ids are ASCII hashes, so this is byte order).
 * @example compareKeys({ ts: 1, id: "b" }, { ts: 1, id: "a" }) // 1
 */
export function compareKeys(a: ReceiptKey, b: ReceiptKey): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** Sorted receipt keys of one namespace. */
export class ReceiptIndex<B> {
  #keys: IndexedReceipt<B>[] = [];
  readonly #byId = new Map<string, IndexedReceipt<B>>();
  /** Orders two batches holding the same receipt id; the smaller one's copy is indexed. */
  readonly #preferBatch: (a: B, b: B) => number;

  constructor(preferBatch: (a: B, b: B) => number) {
    this.#preferBatch = preferBatch;
  }

  get size(): number {
    return this.#keys.length;
  }

  /** The sorted keys; valid until the next `insert`. */
  keys(): readonly IndexedReceipt<B>[] {
    return this.#keys;
  }

  get(id: string): IndexedReceipt<B> | undefined {
    return this.#byId.get(id);
  }

  /** First position whose key is ≥ `key` (where `key` would be inserted). */
  lowerBound(key: ReceiptKey): number {
    let lo = 0;
    let hi = this.#keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareKeys(this.#keys[mid]!, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Positions `[start, end)` of the keys with `fromTs ≤ ts ≤ toTs`. */
  tsRange(fromTs: number, toTs: number): [number, number] {
    const start = this.lowerBound({ ts: fromTs, id: "" });
    let lo = start;
    let hi = this.#keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#keys[mid]!.ts <= toTs) lo = mid + 1;
      else hi = mid;
    }
    return [start, lo];
  }

  /**
   * Adds keys; an id already indexed stays unless the new copy's (ts, batch) sorts first,
   * so the result does not depend on arrival order. Returns the keys that entered the order.
   */
  insert(entries: readonly IndexedReceipt<B>[]): IndexedReceipt<B>[] {
    const fresh: IndexedReceipt<B>[] = [];
    const displaced = new Set<IndexedReceipt<B>>();
    for (const e of entries) {
      const old = this.#byId.get(e.id);
      if (old !== undefined) {
        const c = old.ts !== e.ts ? (e.ts < old.ts ? -1 : 1) : this.#preferBatch(e.batch, old.batch);
        if (c >= 0) continue;
        displaced.add(old);
      }
      this.#byId.set(e.id, e);
      fresh.push(e);
    }
    if (fresh.length === 0) return fresh;
    fresh.sort(compareKeys);
    const base = displaced.size === 0 ? this.#keys : this.#keys.filter((k) => !displaced.has(k));
    const last = base[base.length - 1];
    if (last === undefined || compareKeys(last, fresh[0]!) < 0) {
      if (base !== this.#keys) this.#keys = base;
      for (const e of fresh) this.#keys.push(e);
      return fresh;
    }
    const merged: IndexedReceipt<B>[] = new Array(base.length + fresh.length);
    let i = 0;
    let j = 0;
    let k = 0;
    while (i < base.length && j < fresh.length) merged[k++] = compareKeys(base[i]!, fresh[j]!) <= 0 ? base[i++]! : fresh[j++]!;
    while (i < base.length) merged[k++] = base[i++]!;
    while (j < fresh.length) merged[k++] = fresh[j++]!;
    this.#keys = merged;
    return fresh;
  }
}
