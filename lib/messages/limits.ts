/**
 * Bounds on everything a peer can make this node allocate (docs/FEDERATION_PROTOCOL.md §Limits).
 * A message over any of them is refused as malformed before any work is done for it.
 */
export const LIMITS = {
  /** Nesting depth of any JSON body. */
  maxJsonDepth: 16,
  /** Bytes of an inbound request body (announce, request, reconcile). */
  maxInboundBodyBytes: 1024 * 1024,
  /**
   * Bytes of a body read before its signer is known: past them, the top-level `signer` must
   * already have been read and be admitted (docs/FEDERATION_PROTOCOL.md §Limits).
   */
  preAuthBodyBytes: 64 * 1024,
  /** Bytes of a reconcile round's body (base64 payloads inside signed JSON). */
  maxReconcileBodyBytes: 4 * 1024 * 1024,
  /** Binary payload bytes of one reconcile round, all namespaces; base64 and JSON keep it under the body limit. */
  maxReconcilePayloadBytes: 2 * 1024 * 1024,
  /** Bytes of a Bundle answer read from a peer. */
  maxBundleBytes: 32 * 1024 * 1024,
  maxAnchorsPerAnnounce: 16,
  maxReceiptsPerBundle: 5000,
  maxAnchorsPerBundle: 5000,
  /** Checkpoints of a Bundle: at most one batch version per receipt, several origins each. */
  maxCheckpointsPerBundle: 5000,
  maxWant: 5000,
  /**
   * Leaves of a Bundle of version 4, all its leaf sets together (docs/FEDERATION_PROTOCOL.md §Leaves):
   * 1 MiB of hashes, about 1.4 MB of base64; a larger version travels as receipts with paths.
   */
  maxLeavesPerBundle: 32768,
  /** Cosignatures of an Announce: one batch id's versions, as many as a version keeps (lib/quorum/merge.ts). */
  maxCosignaturesPerAnnounce: 64,
  /** Cosignatures of a Bundle: those of the batch versions it names. */
  maxCosignaturesPerBundle: 5000,
  /** Merkle path length: 64 levels covers any batch size below 2^64. */
  maxPathLength: 64,
  maxBatchIdLength: 128,
  maxNamespaceLength: 128,
  maxTxLength: 130,
  maxMemoLength: 1024,
  /** Base64 characters of a TSA token; real tokens with chains are 5–12 KB. */
  maxTsaTokenChars: 64 * 1024,
  /** Largest accepted unix-seconds value (year 36812): keeps arithmetic exact. */
  maxTimestamp: 2 ** 40,
} as const;

/** `dao:vaultmesh`: lower-case segments of letters, digits, `.`, `_`, `-`, joined by `:`. */
export const NAMESPACE_PATTERN = /^[a-z0-9][a-z0-9._-]*(:[a-z0-9][a-z0-9._-]*)*$/;
/** Sealer batch ids: ASCII letters, digits, `.`, `_`, `:`, `-`; no path separators. */
export const BATCH_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

export function isNamespace(value: unknown): value is string {
  return typeof value === "string" && value.length <= LIMITS.maxNamespaceLength && NAMESPACE_PATTERN.test(value);
}

export function isBatchId(value: unknown): value is string {
  return typeof value === "string" && value.length <= LIMITS.maxBatchIdLength && BATCH_ID_PATTERN.test(value);
}
