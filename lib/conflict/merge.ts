/**
 * Union of two sets of stored anchors (docs/FEDERATION_SEMANTICS.md §4. Merge): one record per
 * (batchId, batchRoot, claim digest), so claims that differ in any field are separate records.
 * When both sides hold the same claim with different verdicts (or, for one TSA token, different
 * labels), the choice depends only on the two records, so the merge is commutative,
 * associative and idempotent (docs/FEDERATION_SEMANTICS.md §4. Merge).
 */
import { ArgumentError } from "../errors.js";
import { canonicalJson, compareCodeUnits, compareIdentity, identityKey, normalizeRecord, outcomeRank, type AnchorRecord } from "./record.js";

/**
 * The preferred of two copies of one anchor: the stronger outcome
 * (verified > pending > rejected), then the smaller canonical JSON in code-unit
 * order. Both arguments are canonical copies.
 */
function preferred(x: AnchorRecord, y: AnchorRecord): AnchorRecord {
  const byOutcome = outcomeRank(x.outcome) - outcomeRank(y.outcome);
  if (byOutcome !== 0) return byOutcome < 0 ? x : y;
  return compareCodeUnits(canonicalJson(x), canonicalJson(y)) <= 0 ? x : y;
}

/** Canonical copies of `records`, one per identity, sorted by identity. */
export function dedupeAnchors(records: readonly AnchorRecord[], parameter: string, into = new Map<string, AnchorRecord>()): Map<string, AnchorRecord> {
  if (!Array.isArray(records)) throw new ArgumentError(parameter, "expected an array of anchor records");
  records.forEach((record, i) => {
    const copy = normalizeRecord(record, `${parameter}[${i}]`);
    const key = identityKey(copy);
    const held = into.get(key);
    into.set(key, held === undefined ? copy : preferred(held, copy));
  });
  return into;
}

/**
 * Every claim of `a` and `b`, once, sorted by (batchId, batchRoot, chain, tx, digest)
 * in code-unit order. Returns fresh copies; the inputs are not modified.
 * Both inputs must be this node's own verdicts: a peer's outcome is never merged
 * in, its anchors arrive as `pending` until re-verified here (docs/FEDERATION_SEMANTICS.md §4. Merge).
 * @example
 * mergeAnchors([{ ...btc, outcome: "pending" }], [{ ...btc, outcome: "verified" }])
 * // [{ ...btc, outcome: "verified" }]
 */
export function mergeAnchors(a: readonly AnchorRecord[], b: readonly AnchorRecord[]): AnchorRecord[] {
  const held = dedupeAnchors(b, "b", dedupeAnchors(a, "a"));
  return [...held.values()].sort(compareIdentity);
}
