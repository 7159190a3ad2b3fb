/**
 * What the store keeps in memory for one namespace: a summary per stored batch
 * version (namespace + origin + batchId + batchRoot), the `(ts, id)` receipt index
 * (every version's copy of a receipt, active versions first), and the change
 * counter last seen in the namespace's meta.json.
 */
import type { Outcome } from "../anchors/result.js";
import { StoreError } from "../errors.js";
import type { IdFilter } from "./id-filter.js";
import { ReceiptIndex, type IndexedReceipt } from "./receipt-index.js";
import type { BatchFile } from "./schema.js";
import type { BatchSummary, OutcomeCounts } from "./types.js";

/** In-memory summary of one batch file. */
export interface BatchEntry {
  readonly namespace: string;
  readonly batchId: string;
  readonly batchRoot: string;
  createdAt: number;
  /** Signer of the stored checkpoint; undefined for a 0.1.0 version. */
  origin: string | undefined;
  /** Batch size from the stored checkpoint. */
  size: number | undefined;
  readonly path: string;
  identity: string;
  /** Identity of the batchId directory holding the file, as of the last scan or own write. */
  dirIdentity: string;
  receiptCount: number;
  anchorCount: number;
  /** Witness cosignatures in the file (docs/STATE.md §Cosignatures). */
  cosignatureCount: number;
  outcomes: OutcomeCounts;
}

/**
 * Counts anchors per outcome.
 * @example countOutcomes([{ outcome: "verified" }]) // { verified: 1, pending: 0, rejected: 0 }
 */
export function countOutcomes(anchors: readonly { outcome: Outcome }[]): OutcomeCounts {
  const c: OutcomeCounts = { verified: 0, pending: 0, rejected: 0 };
  for (const a of anchors) c[a.outcome]++;
  return c;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** batchId, batchRoot, then origin (a version without one first), then file path: a total order of versions. */
const byIdThenRoot = (a: BatchEntry, b: BatchEntry): number =>
  cmp(a.batchId, b.batchId) || cmp(a.batchRoot, b.batchRoot) || (a.origin === b.origin ? 0 : a.origin === undefined ? -1 : b.origin === undefined ? 1 : cmp(a.origin, b.origin)) || cmp(a.path, b.path);

/**
 * A version is active once one of its anchors verified (docs/ANCHORS.md §Outcomes): its copy of
 * a receipt is served before any held version's (docs/FEDERATION_SEMANTICS.md §6. Threat model).
 */
export const isActive = (b: BatchEntry): boolean => b.outcomes.verified > 0;

/**
 * Which version's copy of a receipt is served first: 0 active, 1 held, 2 stored without a
 * checkpoint (0.1.0: never served until one arrives, docs/STATE.md §Upgrading from 0.1.0).
 */
export const servingRank = (b: BatchEntry): number => (b.origin === undefined ? 2 : isActive(b) ? 0 : 1);

/**
 * Orders versions of one batch the way a reader without an origin wants them: active first,
 * then with a checkpoint, then by origin and path.
 * @example versions.sort(preferVersion)[0] // the version getBatch returns when no origin is named
 */
export function preferVersion(a: BatchEntry, b: BatchEntry): number {
  if (isActive(a) !== isActive(b)) return isActive(a) ? -1 : 1;
  if ((a.origin === undefined) !== (b.origin === undefined)) return a.origin === undefined ? 1 : -1;
  return byIdThenRoot(a, b);
}

/** One namespace's index. */
export class NamespaceState {
  readonly namespace: string;
  /** Change counter from meta.json as of the last scan or own write. */
  rev = 0;
  readonly batchesByPath = new Map<string, BatchEntry>();
  readonly batchesById = new Map<string, BatchEntry[]>();
  receipts = new ReceiptIndex<BatchEntry>(byIdThenRoot, servingRank);
  /**
   * False while the batch summaries came from the manifest and the receipt keys have not been
   * read from the batch files yet (docs/STATE.md §Manifest); `receipts` is then empty.
   */
  receiptsLoaded = true;
  /** Distinct receipt ids as the manifest counted them; meaningful while `receiptsLoaded` is false. */
  manifestReceipts = 0;
  /** Commits since this namespace's manifest was last written (or found to match). */
  commitsSinceManifest = 0;
  /** The manifest on disk does not describe this state. */
  manifestStale = false;
  /** The open found the manifest missing or stale: the next commit rewrites it. */
  openedStale = false;

  constructor(namespace: string) {
    this.namespace = namespace;
  }

  /** The receipt-id filter at `rev`, while this process holds one (docs/STATE.md §Id filter). */
  idFilter: IdFilter | undefined;
  /** The receipt keys being read while `receiptsLoaded` is false. */
  loading: Promise<void> | undefined;

  /** A new, empty receipt index with this namespace's ordering, for a load to fill. */
  emptyReceiptIndex(): ReceiptIndex<BatchEntry> {
    return new ReceiptIndex<BatchEntry>(byIdThenRoot, servingRank);
  }

  /** Distinct receipt ids, from the index or, before it is loaded, from the manifest. */
  get receiptCount(): number {
    return this.receiptsLoaded ? this.receipts.size : this.manifestReceipts;
  }

  /** Adds a batch summary taken from a checked manifest, without reading its file. */
  addSummary(path: string, summary: Omit<BatchEntry, "path" | "namespace">): void {
    const entry: BatchEntry = { namespace: this.namespace, path, ...summary };
    this.batchesByPath.set(path, entry);
    const versions = this.batchesById.get(entry.batchId);
    if (versions === undefined) this.batchesById.set(entry.batchId, [entry]);
    else versions.push(entry);
  }

  /**
   * Indexes a batch file just read or written at `path`; returns the receipt keys that entered
   * the order (none while the receipt keys are not loaded: loading reads every file anyway).
   * `newIds`: with the keys not loaded, how many of the file's receipt ids the namespace did not
   * hold before (known from its id filter, docs/STATE.md §Id filter); without it, only
   * anchor-only changes may be applied to a namespace whose keys are not loaded.
   */
  apply(path: string, identity: string, file: BatchFile, dirIdentity: string, newIds?: number): IndexedReceipt<BatchEntry>[] {
    let entry = this.batchesByPath.get(path);
    if (!this.receiptsLoaded && newIds !== undefined) this.manifestReceipts += newIds;
    else if (!this.receiptsLoaded && entry?.receiptCount !== file.receipts.length) {
      // Only anchor-only changes may skip the receipt index; the store loads it before any other.
      throw new StoreError("STATE_INDEX_NOT_LOADED", `receipts of namespace ${JSON.stringify(this.namespace)} changed at ${path} before its receipt index was loaded`, { path });
    }
    const origin = file.checkpoint?.origin;
    const twin = origin === undefined ? undefined : this.batchesById.get(file.batchId)?.find((v) => v.path !== path && v.batchRoot === file.batchRoot && v.origin === origin);
    if (twin !== undefined) {
      // One file per version (docs/STATE.md §Layout): a second one is never written by the store, so it was put there by hand.
      throw new StoreError("STATE_CORRUPT", `${path} holds the same batch version (origin ${origin}) as ${twin.path}; move one of them away`, { path });
    }
    if (entry === undefined) {
      entry = {
        namespace: file.namespace,
        batchId: file.batchId,
        batchRoot: file.batchRoot,
        createdAt: file.createdAt,
        origin: file.checkpoint?.origin,
        size: file.checkpoint?.size,
        path,
        identity,
        dirIdentity,
        receiptCount: 0,
        anchorCount: 0,
        cosignatureCount: 0,
        outcomes: countOutcomes([]),
      };
      this.batchesByPath.set(path, entry);
      const versions = this.batchesById.get(file.batchId);
      if (versions === undefined) this.batchesById.set(file.batchId, [entry]);
      else versions.push(entry);
    }
    const wasRank = servingRank(entry);
    entry.identity = identity;
    entry.createdAt = file.createdAt;
    entry.origin = file.checkpoint?.origin;
    entry.size = file.checkpoint?.size;
    // Every version of this batchId shares the directory: what one write changed, all see.
    for (const v of this.batchesById.get(file.batchId) ?? []) v.dirIdentity = dirIdentity;
    entry.receiptCount = file.receipts.length;
    entry.anchorCount = file.anchors.length;
    entry.cosignatureCount = file.cosignatures?.length ?? 0;
    entry.outcomes = countOutcomes(file.anchors);
    const batch = entry;
    if (!this.receiptsLoaded) return [];
    const added = this.receipts.insert(file.receipts.map((r) => ({ ts: r.ts, id: r.id, batch })));
    // A version that became active (or stopped being) changes which copy of its receipts is preferred.
    if (wasRank !== servingRank(entry)) added.push(...this.receipts.reconsider(file.receipts.map((r) => r.id)));
    return added;
  }

  /**
   * The stored version of `batchRoot` signed by `origin`; with `origin` null, the version stored
   * without a checkpoint (0.1.0); with `origin` undefined, the preferred one (`preferVersion`).
   */
  version(batchId: string, batchRoot: string, origin?: string | null): BatchEntry | undefined {
    const of = (this.batchesById.get(batchId) ?? []).filter((v) => v.batchRoot === batchRoot);
    if (origin === undefined) return of.sort(preferVersion)[0];
    return of.find((v) => v.origin === (origin ?? undefined));
  }

  /** The stored versions of `batchId` (of one root, when given), preferred first (`preferVersion`). */
  versions(batchId: string, batchRoot?: string): BatchEntry[] {
    return (this.batchesById.get(batchId) ?? []).filter((v) => batchRoot === undefined || v.batchRoot === batchRoot).sort(preferVersion);
  }

  /** Summary of one batch version as returned by the store. */
  summary(entry: BatchEntry): BatchSummary {
    return {
      namespace: entry.namespace,
      batchId: entry.batchId,
      batchRoot: entry.batchRoot,
      createdAt: entry.createdAt,
      receiptCount: entry.receiptCount,
      anchorCount: entry.anchorCount,
      cosignatureCount: entry.cosignatureCount,
      fileIdentity: entry.identity,
      outcomes: { ...entry.outcomes },
      ...(entry.origin === undefined ? {} : { origin: entry.origin }),
      ...(entry.size === undefined ? {} : { size: entry.size }),
      equivocal: this.equivocal(entry.batchId, entry.origin),
    };
  }

  /**
   * True when `origin` signed checkpoints of more than one root of `batchId`: an equivocation,
   * with the two signed checkpoints as evidence (docs/FEDERATION_SEMANTICS.md §Equivocation).
   * Versions of other origins, and 0.1.0 versions without a checkpoint, never count.
   */
  equivocal(batchId: string, origin: string | undefined): boolean {
    if (origin === undefined) return false;
    let n = 0;
    for (const v of this.batchesById.get(batchId) ?? []) if (v.origin === origin) n++;
    return n > 1;
  }

  /** Origins that signed several roots of `batchId`. */
  equivocatingOrigins(batchId: string): string[] {
    const seen = new Set<string>();
    const out = new Set<string>();
    for (const v of this.batchesById.get(batchId) ?? []) {
      if (v.origin === undefined) continue;
      if (seen.has(v.origin)) out.add(v.origin);
      seen.add(v.origin);
    }
    return [...out].sort();
  }

  /** Every batch version, ordered by createdAt, batchId, batchRoot. */
  summaries(): BatchSummary[] {
    return [...this.batchesByPath.values()]
      .sort((a, b) => (a.createdAt !== b.createdAt ? a.createdAt - b.createdAt : byIdThenRoot(a, b)))
      .map((e) => this.summary(e));
  }

  /** Number of (origin, batchId) with checkpoints of more than one root. */
  equivocations(): number {
    let n = 0;
    for (const batchId of this.batchesById.keys()) n += this.equivocatingOrigins(batchId).length;
    return n;
  }
}
