/**
 * Anti-entropy by range-based set reconciliation (docs/ANTI_ENTROPY.md), with rateless
 * coded symbols for scattered differences in payload version 2 (§Coded symbols): the
 * per-namespace index, the initiator session and stateless responder, and the signed
 * envelope they travel in over `POST /federation/reconcile`.
 */
export { ReconcileIndex, type WireKey } from "./reconcile-index.js";
export { NamespaceIndexes, type ReceiptKeySource } from "./namespace-indexes.js";
export { initiate, respond, ReconcileSession, type NamespaceDelta, type ReceiveResult, type ReconcilePart, type RespondResult } from "./session.js";
export { RECONCILE_LIMITS, seededRandom, type ReconcileLimits, type ReconcileOptions } from "./limits.js";
export { authenticateReconcile, parseReconcile, reconcileParts, signReconcile, type ReconcileMessage, type ReconcileNamespace } from "./message.js";
