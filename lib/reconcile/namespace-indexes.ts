/**
 * Keeps one `ReconcileIndex` per namespace in step with a store (docs/ANTI_ENTROPY.md §Index,
 * §Attachment items): its receipt keys plus the attachment items of every batch version
 * (`versionItems`: checkpoint and anchor claims). Receipts come from the store's sorted keys
 * and its `onReceiptsAdded` events; attachments from the versions' files, re-read by `prepare`
 * only for versions whose summary stamp changed. The store can move a receipt to another ts
 * (lib/store/receipt-index.ts serves an active version's copy first, then the earliest) without
 * announcing the removal; a size check (receipts + attachment items) after every change catches
 * that and rebuilds the namespace.
 * A `prepare` that had to read many files saves the attachment table in the store document
 * `ITEMS_DOC_PREFIX + namespace`, so the next process re-reads only versions whose stamp changed.
 */
import type { BatchSummary, ReceiptKey, ReceiptsAddedListener, StoredBatch } from "../store/types.js";
import { ReconcileIndex } from "./reconcile-index.js";
import { itemId, versionItems, versionStamp, type VersionItem, type VersionItemKind } from "./version-items.js";

/** Store document (docs/STATE.md §Layout) caching a namespace's attachment items by version stamp. */
export const ITEMS_DOC_PREFIX = "anti-entropy-items/";

/** Versions a `prepare` must have read from their files before it saves the table for the next process. */
export const ITEMS_DOC_AFTER_READS = 64;

/** The cached table: per version, its stamp and its items as (kind, digest); ids are derived again on load. */
interface ItemsDoc {
  /** 4 since every claim is an item: a table of version 3 held unverified claims apart, and is read again from the files. */
  v: 4;
  /** `origin` is "" for a 0.1.0 version without a checkpoint; `heldOnly` is 1 for a `complete` item of a version held without all its receipts. */
  versions: Array<[batchId: string, batchRoot: string, origin: string, stamp: string, items: Array<[kind: VersionItemKind, digest: string, heldOnly: 0 | 1]>]>;
}

const KINDS: ReadonlySet<string> = new Set<VersionItemKind>(["checkpoint", "claim", "cosignature", "complete"]);
const isStr = (x: unknown): x is string => typeof x === "string";

/** The cached table by "batchId\0batchRoot\0origin", or an empty map when the document is absent or not of this shape. */
function readItemsDoc(doc: unknown): Map<string, { stamp: string; items: Array<[VersionItemKind, string, 0 | 1]> }> {
  const out = new Map<string, { stamp: string; items: Array<[VersionItemKind, string, 0 | 1]> }>();
  const d = doc as Partial<ItemsDoc> | undefined;
  if (d?.v !== 4 || !Array.isArray(d.versions)) return out;
  for (const e of d.versions) {
    if (!Array.isArray(e) || e.length !== 5 || !isStr(e[0]) || !isStr(e[1]) || !isStr(e[2]) || !isStr(e[3]) || !Array.isArray(e[4])) return new Map();
    if (!e[4].every((i) => Array.isArray(i) && i.length === 3 && KINDS.has(i[0] as string) && isStr(i[1]) && (i[2] === 0 || i[2] === 1))) return new Map();
    out.set(`${e[0]}\u0000${e[1]}\u0000${e[2]}`, { stamp: e[3], items: e[4] });
  }
  return out;
}

/** What this needs from `Store` (lib/store/store.ts); a Store satisfies it as is. */
export interface ReceiptKeySource {
  receiptKeys(namespace: string): readonly ReceiptKey[];
  receiptCount(namespace: string): number;
  onReceiptsAdded(listener: ReceiptsAddedListener): () => void;
  /** With these two, the index holds the versions' attachment items too; without, receipts only. */
  listBatches?(namespace: string): BatchSummary[];
  getBatch?(namespace: string, batchId: string, batchRoot: string, origin?: string | null): Promise<StoredBatch | undefined>;
  /** With these, the attachment table is kept across processes (`ITEMS_DOC_PREFIX`). */
  getDoc?(name: string): Promise<unknown>;
  putDoc?(name: string, value: unknown): Promise<void>;
  readonly readOnly?: boolean;
}

/**
 * The items of versions whose files were read already (lib/federation/startup-pass.ts,
 * docs/STATE.md §Start-up pass): undefined for a version it cannot vouch for at that summary's stamp.
 */
export interface KnownItems {
  items(summary: BatchSummary): VersionItem[] | undefined;
}

/** A prepare that takes items without reading files lets other work run after this many versions. */
const YIELD_EVERY_VERSIONS = 256;

interface Attachments {
  /** Item id → the item, over every version of the namespace (held-only `complete` items too; only the others are reconciled). */
  items: Map<string, VersionItem>;
  /** How many of `items` are held only (not in the reconcile index). */
  heldOnly: number;
  /** "batchId\0batchRoot\0origin" → the ids of its items as last read. */
  byVersion: Map<string, string[]>;
  /** "batchId\0batchRoot\0origin" → the stamp its items were last read at. */
  stamps: Map<string, string>;
  /** True once the saved table was consulted (first prepare of this process). */
  loaded: boolean;
}

/** A version's key in the attachment table: batch id, root and origin ("" for a 0.1.0 version). */
const versionKey = (v: { batchId: string; batchRoot: string; origin?: string }): string => `${v.batchId}\u0000${v.batchRoot}\u0000${v.origin ?? ""}`;

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
  readonly #known: KnownItems | undefined;
  #rebuilds = 0;
  /** How many version files `prepare` read (the others' items came from the table, `known`, or were unchanged). */
  fileReads = 0;

  /** `known`: items of versions already read by someone else at start-up, taken instead of a file read. */
  constructor(source: ReceiptKeySource, known?: KnownItems) {
    this.#source = source;
    this.#known = known;
    this.#stop = source.onReceiptsAdded((namespace, keys) => this.#added(namespace, keys));
  }

  #attached(namespace: string): Attachments {
    let a = this.#attachments.get(namespace);
    if (a === undefined) this.#attachments.set(namespace, (a = { items: new Map(), stamps: new Map(), heldOnly: 0, byVersion: new Map(), loaded: false }));
    return a;
  }

  #expected(namespace: string): number {
    const att = this.#attachments.get(namespace);
    return this.#source.receiptCount(namespace) + (att === undefined ? 0 : att.items.size - att.heldOnly);
  }

  #added(namespace: string, keys: readonly ReceiptKey[]): void {
    const index = this.#indexes.get(namespace);
    if (index === undefined) return; // built from the store's keys when first asked for
    index.insert(keys);
    if (index.size !== this.#expected(namespace)) this.#build(namespace);
  }

  #build(namespace: string): ReconcileIndex {
    const receipts = this.#source.receiptKeys(namespace);
    const items = [...(this.#attachments.get(namespace)?.items.values() ?? [])].filter((i) => i.heldOnly !== true).map(({ ts, id }) => ({ ts, id })).sort(byKey);
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
    const saved: ReturnType<typeof readItemsDoc> = att.loaded || this.#source.getDoc === undefined ? new Map() : readItemsDoc(await this.#source.getDoc(ITEMS_DOC_PREFIX + namespace).catch(() => undefined));
    att.loaded = true;
    const fresh: ReceiptKey[] = [];
    const listed = new Set<string>();
    let dropped = false;
    let reads = 0;
    let seen = 0;
    for (const summary of listBatches.call(this.#source, namespace)) {
      const key = versionKey(summary);
      listed.add(key);
      const stamp = versionStamp(summary);
      if (att.stamps.get(key) === stamp) continue;
      // Taken from memory, a long run of versions would hold the event loop: /health and answers wait otherwise.
      if (++seen % YIELD_EVERY_VERSIONS === 0) await new Promise<void>((r) => setImmediate(r));
      let items: VersionItem[];
      const cached = saved.get(key);
      const known = this.#known?.items(summary);
      if (known !== undefined) {
        items = known;
      } else if (cached !== undefined && cached.stamp === stamp) {
        // Ids are derived from (kind, digest) again: the table holds nothing an id could not be rebuilt from.
        const origin = summary.origin;
        items = cached.items.map(([kind, digest, heldOnly]) => ({ ts: summary.createdAt, id: itemId(kind, summary.batchId, summary.batchRoot, origin, digest), kind, batchId: summary.batchId, batchRoot: summary.batchRoot, ...(origin === undefined ? {} : { origin }), digest, ...(heldOnly === 1 ? { heldOnly: true as const } : {}) }));
      } else {
        const version = await getBatch.call(this.#source, namespace, summary.batchId, summary.batchRoot, summary.origin ?? null);
        if (version === undefined) continue;
        reads++;
        this.fileReads++;
        items = versionItems(version);
      }
      // The version's items as read now replace those read before: a claim verified since, a
      // witness's newer cosignature in place of its older one, a rejected claim evicted.
      const now = new Set(items.map((i) => i.id));
      for (const id of att.byVersion.get(key) ?? []) if (!now.has(id)) dropped = this.#drop(att, id) || dropped;
      for (const item of items) {
        const had = att.items.get(item.id);
        if (had !== undefined && (had.heldOnly === true) === (item.heldOnly === true)) continue;
        if (had !== undefined) dropped = this.#drop(att, item.id) || dropped;
        att.items.set(item.id, item);
        if (item.heldOnly === true) att.heldOnly++;
        else fresh.push({ ts: item.ts, id: item.id });
      }
      att.byVersion.set(key, [...now]);
      att.stamps.set(key, stamp);
    }
    if (reads >= ITEMS_DOC_AFTER_READS) await this.#save(namespace, att);
    // A version the store no longer lists takes its items with it (the index is rebuilt below).
    let removed = dropped;
    for (const key of [...att.stamps.keys()].filter((k) => !listed.has(k))) {
      removed = true;
      att.stamps.delete(key);
      for (const id of att.byVersion.get(key) ?? []) this.#drop(att, id);
      att.byVersion.delete(key);
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

  /** Forgets one item; true when it was in the reconcile index (which then needs a rebuild). */
  #drop(att: Attachments, id: string): boolean {
    const item = att.items.get(id);
    if (item === undefined) return false;
    att.items.delete(id);
    if (item.heldOnly === true) {
      att.heldOnly--;
      return false;
    }
    return true;
  }

  /** Saves the attachment table for the next process; a store that cannot write now (read-only, locked) just skips it. */
  async #save(namespace: string, att: Attachments): Promise<void> {
    if (this.#source.putDoc === undefined || this.#source.readOnly === true) return;
    const byVersion = new Map<string, Array<[VersionItemKind, string, 0 | 1]>>();
    for (const item of att.items.values()) {
      const key = versionKey(item);
      const list = byVersion.get(key) ?? [];
      byVersion.set(key, list);
      list.push([item.kind, item.digest, item.heldOnly === true ? 1 : 0]);
    }
    const doc: ItemsDoc = { v: 4, versions: [...att.stamps].map(([key, stamp]) => {
      const [batchId, batchRoot, origin] = key.split("\u0000") as [string, string, string];
      return [batchId, batchRoot, origin, stamp, byVersion.get(key) ?? []];
    }) };
    await this.#source.putDoc.call(this.#source, ITEMS_DOC_PREFIX + namespace, doc).catch(() => undefined);
  }

  /**
   * True when `id` is an item this node knows without reconciling it: the `complete` item of a
   * version it holds without all its receipts (pulled whole instead, `incomplete`).
   * @example need.filter((id) => !indexes.heldOnly("dao:vaultmesh", id))
   */
  heldOnly(namespace: string, id: string): boolean {
    return this.#attachments.get(namespace)?.items.get(id)?.heldOnly === true;
  }

  /**
   * The version this node holds without all its receipts whose `complete` item is `id`, or
   * undefined: a peer that lists the item holds the whole version, and it is pulled from it.
   * @example const v = indexes.incomplete("dao:vaultmesh", id); if (v) await pullBatch(…, v.batchId, v.batchRoot, now, v.origin)
   */
  incomplete(namespace: string, id: string): VersionItem | undefined {
    const item = this.#attachments.get(namespace)?.items.get(id);
    return item?.kind === "complete" && item.heldOnly === true ? item : undefined;
  }

  /**
   * The attachment items among `ids` that this node reconciles (unknown ids, receipt ids and
   * held-only `complete` items are left out), as of the last `prepare`; claims whatever their verdict.
   * @example indexes.items("dao:vaultmesh", want).map((i) => i.kind) // ["claim"]
   */
  items(namespace: string, ids: Iterable<string>): VersionItem[] {
    const att = this.#attachments.get(namespace);
    if (att === undefined) return [];
    const out: VersionItem[] = [];
    for (const id of ids) {
      const item = att.items.get(id);
      if (item !== undefined && item.heldOnly !== true) out.push(item);
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
