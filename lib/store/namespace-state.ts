/**
 * What the store keeps in memory for one namespace: a summary per stored batch
 * version (namespace + batchId + batchRoot), the `(ts, id)` receipt index, and
 * the change counter last seen in the namespace's meta.json.
 */
import type { Outcome } from "../anchors/result.js";
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
  receiptCount: number;
  anchorCount: number;
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

const byIdThenRoot = (a: BatchEntry, b: BatchEntry): number =>
  a.batchId < b.batchId ? -1 : a.batchId > b.batchId ? 1 : a.batchRoot < b.batchRoot ? -1 : a.batchRoot > b.batchRoot ? 1 : 0;

/** One namespace's index. */
export class NamespaceState {
  readonly namespace: string;
  /** Change counter from meta.json as of the last scan or own write. */
  rev = 0;
  readonly batchesByPath = new Map<string, BatchEntry>();
  readonly batchesById = new Map<string, BatchEntry[]>();
  readonly receipts = new ReceiptIndex<BatchEntry>(byIdThenRoot);

  constructor(namespace: string) {
    this.namespace = namespace;
  }

  /** Indexes a batch file just read or written at `path`; returns the receipt keys that entered the order. */
  apply(path: string, identity: string, file: BatchFile): IndexedReceipt<BatchEntry>[] {
    let entry = this.batchesByPath.get(path);
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
        receiptCount: 0,
        anchorCount: 0,
        outcomes: countOutcomes([]),
      };
      this.batchesByPath.set(path, entry);
      const versions = this.batchesById.get(file.batchId);
      if (versions === undefined) this.batchesById.set(file.batchId, [entry]);
      else versions.push(entry);
    }
    entry.identity = identity;
    entry.createdAt = file.createdAt;
    entry.origin = file.checkpoint?.origin;
    entry.size = file.checkpoint?.size;
    entry.receiptCount = file.receipts.length;
    entry.anchorCount = file.anchors.length;
    entry.outcomes = countOutcomes(file.anchors);
    const batch = entry;
    return this.receipts.insert(file.receipts.map((r) => ({ ts: r.ts, id: r.id, batch })));
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
