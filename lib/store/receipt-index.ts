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

/**
 * Sorted receipt keys of one namespace: one key per receipt id, the preferred copy, while every
 * batch version holding the id is remembered, so the preferred copy can change when a version
 * becomes active or attributed later (docs/FEDERATION_SEMANTICS.md §6. Threat model, displacement).
 * Which copy is preferred never depends on a copy's `ts`: that is the claimant's own word.
 */
export class ReceiptIndex<B> {
  #keys: IndexedReceipt<B>[] = [];
  /** The preferred copy of each id: the one in `#keys`. */
  readonly #byId = new Map<string, IndexedReceipt<B>>();
  /** Every copy of the ids held by more than one batch version (most ids have one: no array for them). */
  readonly #copies = new Map<string, IndexedReceipt<B>[]>();
  /** Orders two batches of the same rank holding the same receipt id; the smaller one's copy is preferred. */
  readonly #preferBatch: (a: B, b: B) => number;
  /** A batch's rank: copies of a lower rank come first (the caller's: active, attributed versions 0). */
  readonly #rank: (b: B) => number;

  constructor(preferBatch: (a: B, b: B) => number, rank: (b: B) => number = () => 0) {
    this.#preferBatch = preferBatch;
    this.#rank = rank;
  }

  /**
   * Orders two copies of one id: lower batch rank first, then `preferBatch`. Not by `ts`: a copy's
   * ts is the sealing time its claimant signed, so ordering by it let a claimant pick the copy
   * every node serves (docs/FEDERATION_SEMANTICS.md §6. Threat model).
   */
  #compareCopies(a: IndexedReceipt<B>, b: IndexedReceipt<B>): number {
    const ra = this.#rank(a.batch);
    const rb = this.#rank(b.batch);
    if (ra !== rb) return ra < rb ? -1 : 1;
    return this.#preferBatch(a.batch, b.batch);
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

  /** Every batch version's copy of `id`, preferred first. */
  copies(id: string): IndexedReceipt<B>[] {
    const many = this.#copies.get(id);
    if (many !== undefined) return [...many].sort((a, b) => this.#compareCopies(a, b));
    const one = this.#byId.get(id);
    return one === undefined ? [] : [one];
  }

  /**
   * Adds copies; an id's preferred copy changes only when the new one sorts first (batch rank,
   * then `preferBatch`), so the result does not depend on arrival order. A copy from a batch that
   * already holds the id replaces that batch's copy. Returns the keys that entered the order.
   */
  insert(entries: readonly IndexedReceipt<B>[]): IndexedReceipt<B>[] {
    const changed = new Set<string>();
    const added = new Set<string>();
    for (const e of entries) {
      const old = this.#byId.get(e.id);
      if (old === undefined) {
        this.#byId.set(e.id, e);
        added.add(e.id);
        continue;
      }
      if (added.has(e.id)) {
        // Two copies of one id in one call: keep the preferred, remember both.
        const first = this.#copies.get(e.id) ?? [old];
        if (!first.some((c) => c.batch === e.batch)) first.push(e);
        this.#copies.set(e.id, first);
        if (this.#compareCopies(e, old) < 0) this.#byId.set(e.id, e);
        continue;
      }
      let many = this.#copies.get(e.id);
      if (many === undefined) {
        if (old.batch === e.batch) {
          if (old.ts === e.ts) continue;
          many = [];
        } else many = [old];
        this.#copies.set(e.id, many);
      }
      const at = many.findIndex((c) => c.batch === e.batch);
      if (at >= 0 && many[at]!.ts === e.ts) continue;
      if (at >= 0) many[at] = e;
      else many.push(e);
      changed.add(e.id);
    }
    const picks = this.#rerank(changed);
    return this.#merge([...[...added].map((id) => this.#byId.get(id)!), ...picks.fresh], picks.displaced);
  }

  /**
   * Re-chooses the preferred copy of `ids` after the activity of a batch holding them changed.
   * Returns the keys that entered the order; the copies they replaced left it.
   */
  reconsider(ids: Iterable<string>): IndexedReceipt<B>[] {
    const multi = new Set<string>();
    for (const id of ids) if (this.#copies.has(id)) multi.add(id);
    const picks = this.#rerank(multi);
    return this.#merge(picks.fresh, picks.displaced);
  }

  /**
   * Re-chooses the preferred copy of every id held by more than one batch, one of which matches
   * `where` (the rank of such batches changed). Returns the keys that entered the order.
   */
  reconsiderWhere(where: (batch: B) => boolean): IndexedReceipt<B>[] {
    const ids = new Set<string>();
    for (const [id, many] of this.#copies) if (many.some((c) => where(c.batch))) ids.add(id);
    return ids.size === 0 ? [] : this.reconsider(ids);
  }

  /** The ids `batch` holds a copy of (a scan of the whole index: for the rare rewrite of a version's shape). */
  idsOf(batch: B): string[] {
    const out: string[] = [];
    for (const [id, key] of this.#byId) {
      const many = this.#copies.get(id);
      if (many === undefined ? key.batch === batch : many.some((c) => c.batch === batch)) out.push(id);
    }
    return out;
  }

  /**
   * Forgets `batch`'s copies of `ids` (its file no longer holds them); an id whose preferred copy
   * that was takes the next one. Returns the keys that entered the order in their place.
   */
  remove(batch: B, ids: Iterable<string>): IndexedReceipt<B>[] {
    const fresh: IndexedReceipt<B>[] = [];
    const displaced = new Set<IndexedReceipt<B>>();
    for (const id of ids) {
      const current = this.#byId.get(id);
      if (current === undefined) continue;
      const many = this.#copies.get(id);
      if (many === undefined) {
        if (current.batch !== batch) continue;
        this.#byId.delete(id);
        displaced.add(current);
        continue;
      }
      const left = many.filter((c) => c.batch !== batch);
      if (left.length === many.length) continue;
      if (left.length === 1) this.#copies.delete(id);
      else this.#copies.set(id, left);
      if (left.length === 0) {
        this.#copies.delete(id);
        this.#byId.delete(id);
        displaced.add(current);
        continue;
      }
      if (current.batch !== batch) continue;
      let best = left[0]!;
      for (const c of left) if (this.#compareCopies(c, best) < 0) best = c;
      displaced.add(current);
      this.#byId.set(id, best);
      fresh.push(best);
    }
    if (fresh.length === 0 && displaced.size > 0) this.#keys = this.#keys.filter((k) => !displaced.has(k));
    return this.#merge(fresh, displaced);
  }

  /** For ids already in the order: the copies that now sort first, and the copies they replace. */
  #rerank(ids: ReadonlySet<string>): { fresh: IndexedReceipt<B>[]; displaced: Set<IndexedReceipt<B>> } {
    const fresh: IndexedReceipt<B>[] = [];
    const displaced = new Set<IndexedReceipt<B>>();
    for (const id of ids) {
      const current = this.#byId.get(id)!;
      const many = this.#copies.get(id);
      if (many === undefined) continue;
      let best = many[0]!;
      for (const c of many) if (this.#compareCopies(c, best) < 0) best = c;
      if (best === current) continue;
      displaced.add(current);
      this.#byId.set(id, best);
      fresh.push(best);
    }
    return { fresh, displaced };
  }

  #merge(fresh: IndexedReceipt<B>[], displaced: ReadonlySet<IndexedReceipt<B>>): IndexedReceipt<B>[] {
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
