/**
 * A stored anchor with its local verification outcome, the identity used to
 * merge copies of it, and the one canonical form that makes every choice between
 * copies deterministic (docs/FEDERATION_SEMANTICS.md §4. Merge).
 */
import { createHash } from "node:crypto";
import { parseChainId, type Anchor } from "../anchors/anchor.js";
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
  /** Set by resolveAnchors on a verified loser: the winner's name (`recordName`). */
  superseded_by?: string;
  /**
   * `claimDigest` of the claim: the record's identity within its batch version (docs/STATE.md
   * §Anchor claims). Set on every write; a record written before it existed gets it on read.
   */
  digest?: string;
}

const OUTCOMES: readonly Outcome[] = ["verified", "pending", "rejected"];

/** verified > pending > rejected, as a sort rank (lower is stronger). */
export function outcomeRank(outcome: Outcome): number {
  return OUTCOMES.indexOf(outcome);
}

/**
 * The name an anchor goes by in `superseded_by` and `winner`: `chain/tx`, unique within one
 * (batchId, batchRoot) unless two claims share it (see `recordName`).
 * @example anchorKey({ chain: "btc:mainnet", tx: "ab12…" }) // "btc:mainnet/ab12…"
 */
export function anchorKey(a: Pick<Anchor, "chain" | "tx">): string {
  return `${a.chain}/${a.tx}`;
}

/**
 * The name of a verified record among the verified records of its root: its `anchorKey`, or,
 * when another verified claim there has the same (chain, tx), `anchorKey#digest`, so a name
 * never points at two records (docs/FEDERATION_SEMANTICS.md §3. Conflicts).
 * @example recordName(tsa, [tsa, otherTokenSameTx]) // "rfc3161:acme/t-1#sha256:9c…"
 */
export function recordName(record: AnchorRecord, verified: readonly AnchorRecord[]): string {
  const key = anchorKey(record);
  const digest = record.digest ?? claimDigest(record);
  const shared = verified.some((v) => anchorKey(v) === key && (v.digest ?? claimDigest(v)) !== digest);
  return shared ? `${key}#${digest}` : key;
}

/**
 * The claim a record makes: its wire fields without this node's verdict and without the
 * digest, `memo: ""` read as no memo (docs/FEDERATION_PROTOCOL.md §Anchor).
 * @example claimOf({ ...anchor, outcome: "verified", evidence: {} }) // deep-equals anchor
 */
export function claimOf(record: Anchor | AnchorRecord): Anchor {
  const { outcome: _o, reason: _r, evidence: _e, superseded_by: _s, digest: _d, ...claim } = record as AnchorRecord;
  if (claim.memo === "") delete claim.memo;
  return claim;
}

/**
 * The identity of an anchor claim (docs/FEDERATION_SEMANTICS.md §4. Merge): `sha256:` of the
 * canonical JSON of `claimOf(anchor)`; for a TSA claim, of its token's bytes, so that one token
 * is one anchor whatever name or tx string a claim gives it (docs/ANCHORS.md). A differing claim
 * has another digest and is a separate record; it never replaces a stored one.
 * @example claimDigest(btcAnchor) // "sha256:3f…"
 */
export function claimDigest(anchor: Anchor | AnchorRecord): string {
  const claim = claimOf(anchor);
  const h = createHash("sha256");
  if (typeof claim.sig === "string" && typeof claim.chain === "string" && parseChainId(claim.chain)?.rail === "rfc3161") h.update(Buffer.from(claim.sig, "base64"));
  else h.update(jcs(claim), "utf8");
  return `sha256:${h.digest("hex")}`;
}

/**
 * `record` with its `digest` set (a copy when it had none or a stale one).
 * @example withDigest(record).digest === claimDigest(record) // true
 */
export function withDigest<R extends AnchorRecord>(record: R): R {
  const digest = claimDigest(record);
  return record.digest === digest ? record : { ...record, digest };
}

/** UTF-16 code-unit order, as JavaScript's `<` compares strings: never locale-dependent. */
export function compareCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Order of records: (batchId, batchRoot, chain, tx), then the claim digest, field by field in
 * code-unit order. Records are canonical copies, so `digest` is set.
 */
export function compareIdentity(a: AnchorRecord, b: AnchorRecord): number {
  return compareCodeUnits(a.batchId, b.batchId)
    || compareCodeUnits(a.batchRoot, b.batchRoot)
    || compareCodeUnits(a.chain, b.chain)
    || compareCodeUnits(a.tx, b.tx)
    || compareCodeUnits(a.digest ?? "", b.digest ?? "");
}

/** A string key for the merge identity (batchId, batchRoot, claim digest); JSON keeps the fields apart whatever they contain. */
export function identityKey(a: AnchorRecord): string {
  return JSON.stringify([a.batchId, a.batchRoot, a.digest ?? claimDigest(a)]);
}

/** Canonical (RFC 8785) JSON of a record: the tie-break between two copies, and a clean deep copy. */
export function canonicalJson(record: AnchorRecord): string {
  return jcs(record);
}

/**
 * Checks a caller's record and returns its canonical copy: keys sorted, undefined
 * members dropped, `digest` set, nothing shared with the caller's object. Stored records are the
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
  // The digest is derived, never trusted from input: a stale or foreign value is replaced.
  return withDigest(JSON.parse(json) as AnchorRecord);
}
