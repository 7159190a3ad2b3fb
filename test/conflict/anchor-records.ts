/**
 * Anchor records for the conflict tests: named examples and fast-check
 * arbitraries drawn from small pools, so that duplicates, shared roots and
 * ties happen often.
 */
import fc from "fast-check";
import type { AnchorRecord } from "../../lib/conflict/index.js";

export const ROOT_A = `sha256:${"a".repeat(64)}`;
export const ROOT_B = `sha256:${"b".repeat(64)}`;
export const ROOT_C = `sha256:${"c".repeat(64)}`;

/** A verified record with overridable fields. */
export function record(fields: Partial<AnchorRecord> & Pick<AnchorRecord, "chain" | "tx">): AnchorRecord {
  return { batchId: "batch-1", batchRoot: ROOT_A, block: 0, ts: 1_764_000_000, outcome: "verified", ...fields };
}

const chains = ["btc:mainnet", "btc:regtest", "eip155:1", "eip155:8453", "rfc3161:digicert", "rfc3161:freetsa", "rfc3161:Zeta"];

export const anchorRecordArb: fc.Arbitrary<AnchorRecord> = fc
  .record(
    {
      batchId: fc.constantFrom("batch-1", "batch-2"),
      batchRoot: fc.constantFrom(ROOT_A, ROOT_B, ROOT_C),
      chain: fc.constantFrom(...chains),
      tx: fc.constantFrom("t1", "t2", "t3"),
      block: fc.integer({ min: 0, max: 4 }),
      ts: fc.integer({ min: 0, max: 2 }),
      outcome: fc.constantFrom("verified", "pending", "rejected") as fc.Arbitrary<AnchorRecord["outcome"]>,
      reason: fc.constantFrom("confirmations 1 < 3", "endpoint unreachable"),
      superseded_by: fc.constantFrom("btc:mainnet/t1", "eip155:1/t2"),
      memo: fc.constantFrom("x", "y"),
      // Two tokens: claims with one token under different labels are one claim (one digest).
      sig: fc.constantFrom("AAAA", "BBBB"),
    },
    { requiredKeys: ["batchId", "batchRoot", "chain", "tx", "block", "ts", "outcome"] },
  );

export const recordsArb = fc.array(anchorRecordArb, { maxLength: 24 });
