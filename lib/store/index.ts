/**
 * The node's state store (docs/STATE.md): what the import pipeline,
 * the daemon and the CLI use to keep batches, receipts, anchors and small documents.
 */
export { openStore, Store, type Equivocation, type OpenStoreOptions } from "./store.js";
export type { OpenSource } from "./state-index.js";
export type { AttributionRule } from "./namespace-state.js";
export { checkIntegrity, type IntegrityReport } from "./integrity.js";
export { encodeName, FORMAT_VERSION } from "./layout.js";
export type { AnchorRecord, BatchFileRead, BatchInput, BatchSummary, OutcomeCounts, PutResult, ReceiptKey, ReceiptsAddedListener, StoreCounts, StoredBatch } from "./types.js";
