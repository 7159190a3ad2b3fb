/**
 * Keeps one `ReconcileIndex` per namespace in step with a store (docs/ANTI_ENTROPY.md §Index,
 * §Attachment items): its receipt keys plus the attachment items of every batch version
 * (`versionItems`: checkpoint and anchor claims). Receipts come from the store's sorted keys
 * and its `onReceiptsAdded` events; attachments from the versions' files, re-read by `prepare`
 * only for versions whose summary stamp changed. The store can move a receipt to an earlier ts
 * (lib/store/receipt-index.ts keeps the earliest copy) without announcing the removal; a size
 * check (receipts + attachment items) after every change catches that and rebuilds the namespace.
 */
import type { BatchSummary, ReceiptKey, ReceiptsAddedListener, StoredBatch } from "../store/types.js";
import { ReconcileIndex } from "./reconcile-index.js";
import { versionItems, versionStamp, type VersionItem } from "./version-items.js";

/** What this needs from `Store` (lib/store/store.ts); a Store satisfies it as is. */
export interface ReceiptKeySource {
  receiptKeys(namespace: string): readonly ReceiptKey[];
  receiptCount(namespace: string): number;
  onReceiptsAdded(listener: ReceiptsAddedListener): () => void;
  /** With these two, the index holds the versions' attachment items too; without, receipts only. */
  listBatches?(namespace: string): BatchSummary[];
  getBatch?(namespace: string, batchId: string, batchRoot: string): Promise<StoredBatch | undefined>;
}

interface Attachments {
  /** Item id → the item, over every version of the namespace. */
  items: Map<string, VersionItem>;
  /** "batchId\0batchRoot" → the stamp its items were last read at. */
  stamps: Map<string, string>;
}

const byKey = (a: ReceiptKey, b: ReceiptKey): number => a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * Lazily built, continuously updated indexes over a store.
 * @example const indexes = new NamespaceIndexes(store); await indexes.prepare(ns); respond((ns) => indexes.get(ns), parts, { random })
 */
export class NamespaceIndexes {
  readonly #source: ReceiptKeySource;
  readonly #indexes = new Map<string, ReconcileIndex>();
  readonly #attachments = new Map<string, Attachments>();
  readonly #preparing = new Map<string, Promise<void>>();
  readonly #stop: () => void;
  #rebuilds = 0;

  constructor(source: ReceiptKeySource) {
    this.#source = source;
    this.#stop = source.onReceiptsAdded((namespace, keys) => this.#added(namespace, keys));
  }

  #attached(namespace: string): Attachments {
    let a = this.#attachments.get(namespace);
    if (a === undefined) this.#attachments.set(namespace, (a = { items: new Map(), stamps: new Map() }));
    return a;
  }

  #expected(namespace: string): number {
    return this.#source.receiptCount(namespace) + (this.#attachments.get(namespace)?.items.size ?? 0);
  }

  #added(namespace: string, keys: readonly ReceiptKey[]): void {
    const index = this.#indexes.get(namespace);
    if (index === undefined) return; // built from the store's keys when first asked for
    index.insert(keys);
    if (index.size !== this.#expected(namespace)) this.#build(namespace);
  }

  #build(namespace: string): ReconcileIndex {
    const receipts = this.#source.receiptKeys(namespace);
    const items = [...(this.#attachments.get(namespace)?.items.values() ?? [])].map(({ ts, id }) => ({ ts, id })).sort(byKey);
    const index = ReconcileIndex.fromSorted(items.length === 0 ? receipts : merge(receipts, items));
    this.#indexes.set(namespace, index);
    this.#rebuilds++;
    return index;
  }

  /**
   * Brings the attachment items of `namespace` up to date: reads the file of every version whose
   * stamp changed since the last call (all of them the first time) and adds its new items.
   * Call before a reconciliation round and before answering a `want` of item ids.
   * @example await indexes.prepare("dao:vaultmesh"); indexes.get("dao:vaultmesh").size
   */
  prepare(namespace: string): Promise<void> {
    // One at a time per namespace: a caller never reconciles over a half-read item set.
    const run = (this.#preparing.get(namespace) ?? Promise.resolve()).then(() => this.#prepare(namespace));
    const settled = run.catch(() => undefined);
    this.#preparing.set(namespace, settled);
    void settled.then(() => {
      if (this.#preparing.get(namespace) === settled) this.#preparing.delete(namespace);
    });
    return run;
  }

  async #prepare(namespace: string): Promise<void> {
    const { listBatches, getBatch } = this.#source;
    if (listBatches === undefined || getBatch === undefined) return;
    const att = this.#attached(namespace);
    const fresh: ReceiptKey[] = [];
    const listed = new Set<string>();
    for (const summary of listBatches.call(this.#source, namespace)) {
      const key = `${summary.batchId}\u0000${summary.batchRoot}`;
      listed.add(key);
      const stamp = versionStamp(summary);
      if (att.stamps.get(key) === stamp) continue;
      const version = await getBatch.call(this.#source, namespace, summary.batchId, summary.batchRoot);
      if (version === undefined) continue;
      for (const item of versionItems(version)) {
        if (att.items.has(item.id)) continue;
        att.items.set(item.id, item);
        fresh.push({ ts: item.ts, id: item.id });
      }
      att.stamps.set(key, stamp);
    }
    // A version the store no longer lists takes its items with it (the index is rebuilt below).
    let removed = false;
    for (const key of [...att.stamps.keys()].filter((k) => !listed.has(k))) {
      removed = true;
      att.stamps.delete(key);
      for (const [id, item] of att.items) if (`${item.batchId}\u0000${item.batchRoot}` === key) att.items.delete(id);
    }
    const index = this.#indexes.get(namespace);
    if (index === undefined) return;
    if (removed) {
      this.#build(namespace);
      return;
    }
    if (fresh.length > 0) index.insert(fresh);
    if (index.size !== this.#expected(namespace)) this.#build(namespace);
  }

  /**
   * The attachment items among `ids` (unknown ids and receipt ids are left out), as of the last `prepare`.
   * @example indexes.items("dao:vaultmesh", want).map((i) => i.kind) // ["claim"]
   */
  items(namespace: string, ids: Iterable<string>): VersionItem[] {
    const att = this.#attachments.get(namespace);
    if (att === undefined) return [];
    const out: VersionItem[] = [];
    for (const id of ids) {
      const item = att.items.get(id);
      if (item !== undefined) out.push(item);
    }
    return out;
  }

  /**
   * The index of `namespace`, built from the store on first use (with the attachment items known so far).
   * @example indexes.get("dao:vaultmesh").size === store.receiptCount("dao:vaultmesh") + attachment items
   */
  get(namespace: string): ReconcileIndex {
    return this.#indexes.get(namespace) ?? this.#build(namespace);
  }

  /** How many times an index was built from the store's keys (first use plus rebuilds). */
  get builds(): number {
    return this.#rebuilds;
  }

  /** Stops listening to the store. */
  close(): void {
    this.#stop();
    this.#indexes.clear();
    this.#attachments.clear();
  }
}

/** Two `(ts, id)`-sorted key lists as one; an id in both (never, ids are domain-separated) is kept once. */
function merge(a: readonly ReceiptKey[], b: readonly ReceiptKey[]): ReceiptKey[] {
  const out: ReceiptKey[] = new Array(a.length + b.length);
  let i = 0;
  let j = 0;
  let k = 0;
  while (i < a.length || j < b.length) {
    const c = i === a.length ? 1 : j === b.length ? -1 : byKey(a[i]!, b[j]!);
    out[k++] = c <= 0 ? a[i++]! : b[j++]!;
    if (c === 0) j++;
  }
  out.length = k;
  return out;
}
