/**
 * A stored anchor with its local verification outcome, the identity used to
 * merge copies of it, and the one canonical form that makes every choice between
 * copies deterministic (docs/FEDERATION_SEMANTICS.md §4. Merge).
 */
import type { Anchor } from "../anchors/anchor.js";
import type { Evidence, Outcome } from "../anchors/result.js";
import { ArgumentError } from "../errors.js";
import { canonicalJson as jcs } from "../messages/canonical.js";


/** An anchor as a node stores it: the wire fields plus this node's own verdict (docs/ANCHORS.md §Outcomes, docs/FEDERATION_SEMANTICS.md §3. Conflicts). */
export interface AnchorRecord extends Anchor {
  outcome: Outcome;
  /** Present unless `verified`: the failed check. */
  reason?: string;
  /** What the last verification saw (block hash, confirmations…), handed to the next one to detect a reorg. */
  evidence?: Evidence;
  /** Set by resolveAnchors on a verified loser: the winner's anchorKey. */
  superseded_by?: string;
}

const OUTCOMES: readonly Outcome[] = ["verified", "pending", "rejected"];

/** verified > pending > rejected, as a sort rank (lower is stronger). */
export function outcomeRank(outcome: Outcome): number {
  return OUTCOMES.indexOf(outcome);
}

/**
 * The name an anchor goes by in `superseded_by`: unique within one
 * (batchId, batchRoot), which is the only scope `superseded_by` is read in.
 * @example anchorKey({ chain: "btc:mainnet", tx: "ab12…" }) // "btc:mainnet/ab12…"
 */
export function anchorKey(a: Pick<Anchor, "chain" | "tx">): string {
  return `${a.chain}/${a.tx}`;
}

/** UTF-16 code-unit order, as JavaScript's `<` compares strings: never locale-dependent. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Order of merge identities (batchId, batchRoot, chain, tx), field by field in code-unit order. */
export function compareIdentity(a: AnchorRecord, b: AnchorRecord): number {
  return compareCodeUnits(a.batchId, b.batchId)
    || compareCodeUnits(a.batchRoot, b.batchRoot)
    || compareCodeUnits(a.chain, b.chain)
    || compareCodeUnits(a.tx, b.tx);
}

/** A string key for the merge identity; JSON keeps the four fields apart whatever they contain. */
export function identityKey(a: AnchorRecord): string {
  return JSON.stringify([a.batchId, a.batchRoot, a.chain, a.tx]);
}

/** Canonical (RFC 8785) JSON of a record: the tie-break between two copies, and a clean deep copy. */
export function canonicalJson(record: AnchorRecord): string {
  return jcs(record);
}

/**
 * Checks a caller's record and returns its canonical copy: keys sorted, undefined
 * members dropped, nothing shared with the caller's object. Stored records are the
 * caller's own data, so a malformed one throws ArgumentError naming it.
 */
export function normalizeRecord(record: AnchorRecord, parameter: string): AnchorRecord {
  if (typeof record !== "object" || record === null || Array.isArray(record)) throw new ArgumentError(parameter, "expected an anchor record object");
  for (const field of ["batchId", "batchRoot", "chain", "tx"] as const) {
    if (typeof record[field] !== "string") throw new ArgumentError(`${parameter}.${field}`, `expected a string, got ${typeof record[field]}`);
  }
  if (!Number.isSafeInteger(record.block) || record.block < 0) throw new ArgumentError(`${parameter}.block`, `expected a non-negative integer, got ${String(record.block)}`);
  if (!OUTCOMES.includes(record.outcome)) throw new ArgumentError(`${parameter}.outcome`, `expected one of ${OUTCOMES.join(", ")}, got ${JSON.stringify(record.outcome)}`);
  if (record.superseded_by !== undefined && typeof record.superseded_by !== "string") throw new ArgumentError(`${parameter}.superseded_by`, "expected a string");
  let json: string;
  try {
    json = jcs(record);
  } catch (cause) {
    throw new ArgumentError(parameter, `not representable as JSON (${(cause as Error).message})`);
  }
  return JSON.parse(json) as AnchorRecord;
}
