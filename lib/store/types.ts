/**
 * Shapes the state store keeps and returns (docs/STATE.md §Layout). `AnchorRecord` is an anchor
 * together with this node's verification outcome (docs/ANCHORS.md §Outcomes) and the conflict
 * resolution mark `superseded_by` (docs/FEDERATION_SEMANTICS.md §3. Conflicts).
 */
import type { AnchorRecord } from "../conflict/record.js";
import type { Checkpoint } from "../messages/checkpoint.js";
import type { Cosignature } from "../messages/cosignature.js";
import type { Receipt } from "../receipt.js";

/** An anchor as stored: the wire anchor plus what local re-verification concluded (one type with lib/conflict). */
export type { AnchorRecord };

/** One sealed batch as handed to `putBatch`: its receipts and its anchors with outcomes. */
export interface BatchInput {
  namespace: string;
  batchId: string;
  /** `sha256:<hex>`; two roots for one namespace + batchId are both kept (equivocation, docs/STATE.md §Layout). */
  batchRoot: string;
  /** Sealer `createdAt`, unix seconds: every receipt's `ts` (docs/FEDERATION_PROTOCOL.md §Receipt). */
  createdAt: number;
  receipts: Receipt[];
  /**
   * The whole version as its leaves (docs/STATE.md §Leaves form): base64 of its `checkpoint.size`
   * event hashes in leaf order, with `receipts` empty. Needs `checkpoint`; the store rebuilds the
   * tree and refuses leaves that do not give its root. Read back, `receipts` holds the receipts
   * they stand for, each path derived when first read.
   */
  leaves?: string;
  anchors: AnchorRecord[];
  /**
   * The origin's signed checkpoint this version was accepted against (docs/STATE.md §Checkpoints).
   * Absent only in state written by 0.1.0; such a version's receipts are not served until one arrives.
   * Its `origin` names the version: another origin's checkpoint of the same root is another version,
   * in a file of its own (docs/STATE.md §Layout).
   */
  checkpoint?: Checkpoint;
  /**
   * Witness cosignatures of this version, verified before they were stored, one per signer and
   * checkpoint (docs/STATE.md §Cosignatures). Written only by `putCosignatures`; absent when none.
   */
  cosignatures?: Cosignature[];
  /**
   * Other shapes (size or createdAt) the same origin signed of this version's root and batch id:
   * its equivocation, kept as evidence beside `checkpoint`, the primary (docs/STATE.md
   * §Checkpoints). Written only by `putShape`; absent when none.
   */
  shapes?: Checkpoint[];
}

/** A batch as read back from the store. */
export type StoredBatch = Readonly<BatchInput>;

/** How many anchors have each outcome. */
export interface OutcomeCounts {
  verified: number;
  pending: number;
  rejected: number;
}

/** What the in-memory index knows about a batch without loading its file. */
export interface BatchSummary {
  namespace: string;
  batchId: string;
  batchRoot: string;
  createdAt: number;
  receiptCount: number;
  anchorCount: number;
  /** Witness cosignatures held with the version (docs/STATE.md §Cosignatures). */
  cosignatureCount: number;
  /** Changes whenever the version's file is rewritten (docs/STATE.md §Manifest): a cache of what the file holds is stale when it differs. */
  fileIdentity: string;
  outcomes: OutcomeCounts;
  /** DID that signed the stored checkpoint; undefined for a 0.1.0 version without one. */
  origin?: string;
  /** Leaves of the batch per its checkpoint: the version is complete when `receiptCount` reaches it. */
  size?: number;
  /** True when the same origin signed checkpoints of another batchRoot for this namespace + batchId. */
  equivocal: boolean;
}

/** Totals over the whole store, for `status` and `/metrics`. */
export interface StoreCounts {
  namespaces: number;
  batches: number;
  receipts: number;
  anchors: OutcomeCounts;
  /** Number of (namespace, origin, batchId) stored with more than one batchRoot under checkpoints of that origin. */
  equivocations: number;
}

/** What a write did; `written` is false when the data was already stored (idempotent re-put). */
export interface PutResult {
  written: boolean;
  /** True when this version (namespace, origin, batchId, batchRoot) was not stored before. */
  created: boolean;
  receiptsAdded: number;
  anchorsChanged: number;
  /** True when the origin of this version signed another version of the batchId too. */
  equivocal: boolean;
}

/** A receipt's place in the `(ts, id)` order anti-entropy works on (docs/ANTI_ENTROPY.md §Items and order). */
export interface ReceiptKey {
  readonly ts: number;
  readonly id: string;
}

/** Called after receipts entered the index (by this process or, after `refresh`, by another). */
export type ReceiptsAddedListener = (namespace: string, keys: readonly ReceiptKey[]) => void;

/**
 * What the index took from one batch version's file when it read it (at open or after another
 * process's write), for work that needs a little of every version (docs/STATE.md §Start-up pass):
 * `OpenStoreOptions.onBatchFileRead` hears it. `fileIdentity` is the identity the index recorded
 * for the file (`BatchSummary.fileIdentity` while the file is unchanged); `anchors` have their
 * claim digest derived, as `getBatch` gives them; `receiptCount` is what `getBatch(…).receipts.length` is.
 */
export interface BatchFileRead extends Pick<StoredBatch, "namespace" | "batchId" | "batchRoot" | "createdAt" | "anchors" | "checkpoint" | "cosignatures" | "shapes"> {
  fileIdentity: string;
  receiptCount: number;
}
