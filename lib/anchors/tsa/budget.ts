/**
 * The work one time-stamp token may cost this node (docs/ANCHORS.md §Budgets). A token is
 * peer data: without these limits a certificate bag of CAs that all "issue" each other makes
 * path building try every ordering. Honest tokens need a small fraction of each limit (real
 * TSAs embed 1–4 certificates and their chains take 2–4 signature checks); a token over a
 * limit is rejected with a reason naming it, never retried.
 */

export interface TsaBudget {
  /** Largest token (TimeStampResp or bare token) read, in bytes. */
  maxTokenBytes: number;
  /** Most certificates a token's SignedData may carry. */
  maxTokenCertificates: number;
  /** Most untrusted certificates in a chain (the signer included, the trust anchor not). */
  maxChainDepth: number;
  /** Most certificate signatures verified while building one chain. */
  maxSignatureChecks: number;
}

/** The limits verifyTimestampToken applies unless told otherwise. */
export const TSA_BUDGET: Readonly<TsaBudget> = Object.freeze({
  maxTokenBytes: 64 * 1024,
  maxTokenCertificates: 16,
  maxChainDepth: 8,
  maxSignatureChecks: 100,
});
