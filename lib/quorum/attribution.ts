/**
 * Which claim of a contested root is attributed (docs/FEDERATION_SEMANTICS.md §8. Quorum,
 * Contested roots, and §Origin logs): the claim whose checkpoint was included earliest in a head
 * of its origin's log cosigned by k witnesses (`loggedAt`); only where no claim is logged, per
 * claim the k-th smallest `ts` among distinct listed witnesses' cosignatures of that claim's
 * checkpoint, the earliest wins. The claimant's own times (`createdAt`, the receipts' `ts`)
 * play no part, and k−1 lying witnesses cannot move a claim before an honest witness saw it.
 * This is the one function that decides. Pure: no file, no clock.
 */

/** What attribution reads of one cosignature: who, when, and which checkpoint it names. */
export interface WitnessMark {
  signer: string;
  /** Digest of the checkpoint cosigned. */
  checkpoint: string;
  ts: number;
}

/** One claim on a root: an origin's signed checkpoint, by digest, and the cosignatures held of it. */
export interface AttributionClaim {
  checkpoint: string;
  cosignatures: readonly WitnessMark[];
  /**
   * When the checkpoint was witnessed in its origin's log: the k-th earliest witness cosignature
   * time of the earliest head including it (lib/origin-log/logged.ts); undefined while unlogged.
   */
  loggedAt?: number;
}

/** The namespace's quorum policy as attribution needs it. */
export interface AttributionPolicy {
  k: number;
  witnesses: readonly string[];
}

/**
 * When `claim` reached k distinct witnesses: the k-th smallest of their earliest held
 * cosignatures of its checkpoint; undefined while fewer than k cosigned it. `keyOf` names a
 * witness's key, so two DIDs holding one key count once (sigstore-go #633).
 * @example witnessedAt({ checkpoint: d, cosignatures }, { k: 2, witnesses }) // 1760000012
 */
export function witnessedAt(claim: AttributionClaim, policy: AttributionPolicy, keyOf: (signer: string) => string = (s) => s): number | undefined {
  const listed = new Set(policy.witnesses);
  const firstBySigner = new Map<string, number>();
  for (const c of claim.cosignatures) {
    if (c.checkpoint !== claim.checkpoint || !listed.has(c.signer)) continue;
    const had = firstBySigner.get(c.signer);
    if (had === undefined || c.ts < had) firstBySigner.set(c.signer, c.ts);
  }
  // One key, one vote: of two DIDs holding a key, the earlier cosignature counts.
  const byKey = new Map<string, number>();
  for (const [signer, ts] of firstBySigner) {
    const key = keyOf(signer);
    const had = byKey.get(key);
    if (had === undefined || ts < had) byKey.set(key, ts);
  }
  const times = [...byKey.values()].sort((a, b) => a - b);
  return policy.k >= 1 && times.length >= policy.k ? times[policy.k - 1] : undefined;
}

/**
 * The index of the attributed claim among `claims`, or undefined: without a policy, while no
 * claim reached k witnesses, or when the earliest two reached k in the same second (a tie is
 * left visible, not broken by anything a claimant chose). When any claim is logged, earliest
 * witnessed inclusion decides among the logged claims and an unlogged claim cannot be
 * attributed; the witness cosignature times decide only when none is.
 * @example attributedClaim([genuine, copy], { k: 2, witnesses }) // 0
 */
export function attributedClaim(claims: readonly AttributionClaim[], policy: AttributionPolicy | undefined, keyOf?: (signer: string) => string): number | undefined {
  if (policy === undefined) return undefined;
  const logged = claims.some((c) => c.loggedAt !== undefined);
  return earliest(claims, (claim) => (logged ? claim.loggedAt : witnessedAt(claim, policy, keyOf)));
}

/** The index of the claim with the smallest time; undefined when none has one or two checkpoints tie. */
function earliest(claims: readonly AttributionClaim[], timeOf: (claim: AttributionClaim) => number | undefined): number | undefined {
  let best: number | undefined;
  let bestAt = Infinity;
  let tie = false;
  claims.forEach((claim, i) => {
    const at = timeOf(claim);
    if (at === undefined) return;
    if (at < bestAt) {
      best = i;
      bestAt = at;
      tie = false;
    } else if (at === bestAt && claim.checkpoint !== claims[best!]!.checkpoint) tie = true;
  });
  return tie ? undefined : best;
}
