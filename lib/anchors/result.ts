/**
 * What a verifier answers (docs/ANCHORS.md §Outcomes): `verified` only after every check passed;
 * `pending` when only confirmations are short or the endpoint is unreachable
 * (re-checked later, never dropped); `rejected` with the precise reason.
 */

export type Outcome = "verified" | "pending" | "rejected";

/** What a verifier saw, so that a later re-verification can detect a reorg or a changed answer. */
export interface Evidence {
  /** Block hash (BTC display hex or EVM 0x…) the anchor's tx was found in. */
  blockHash?: string;
  /** Confirmations counted at verification time. */
  confirmations?: number;
  /** Chain head height/number seen. */
  head?: number;
  /** TSA: genTime as ISO-8601, and signer certificate subject. */
  genTime?: string;
  signer?: string;
  /** Unix seconds of the check. */
  checkedAt?: number;
  [key: string]: unknown;
}

export interface VerificationResult {
  outcome: Outcome;
  /** Present unless `verified`: a sentence naming the failed check. */
  reason?: string;
  evidence?: Evidence;
  /**
   * Set on a `pending` answer when the endpoint could not be asked (unreachable, timed out,
   * refused, answered garbage): nothing was learned about the anchor, so a stored verdict
   * stands (docs/FEDERATION_SEMANTICS.md §9. Endpoint outages).
   */
  unreachable?: true;
}

export function verified(evidence?: Evidence): VerificationResult {
  return evidence === undefined ? { outcome: "verified" } : { outcome: "verified", evidence };
}

export function pending(reason: string, evidence?: Evidence): VerificationResult {
  return evidence === undefined ? { outcome: "pending", reason } : { outcome: "pending", reason, evidence };
}

export function rejected(reason: string, evidence?: Evidence): VerificationResult {
  return evidence === undefined ? { outcome: "rejected", reason } : { outcome: "rejected", reason, evidence };
}

/**
 * `pending` because the endpoint could not be asked: says nothing about the anchor.
 * @example unreachable("EVM endpoint 127.0.0.1:8545 failed: connection refused")
 */
export function unreachable(reason: string, evidence?: Evidence): VerificationResult {
  return { ...pending(reason, evidence), unreachable: true };
}
