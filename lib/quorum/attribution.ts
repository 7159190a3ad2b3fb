/**
 * Which claim of a contested root is attributed (docs/FEDERATION_SEMANTICS.md §8. Quorum,
 * Contested roots): per claim, the k-th smallest `ts` among distinct listed witnesses'
 * cosignatures of that claim's checkpoint; the earliest wins. The claimant's own times
 * (`createdAt`, the receipts' `ts`) play no part, and k−1 lying witnesses cannot move a claim
 * before an honest witness cosigned it. This is the one function that decides; the origin log
 * (inclusion order) can replace it. Pure: no file, no clock.
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
 * left visible, not broken by anything a claimant chose).
 * @example attributedClaim([genuine, copy], { k: 2, witnesses }) // 0
 */
export function attributedClaim(claims: readonly AttributionClaim[], policy: AttributionPolicy | undefined, keyOf?: (signer: string) => string): number | undefined {
  if (policy === undefined) return undefined;
  let best: number | undefined;
  let bestAt = Infinity;
  let tie = false;
  claims.forEach((claim, i) => {
    const at = witnessedAt(claim, policy, keyOf);
    if (at === undefined) return;
    if (at < bestAt) {
      best = i;
      bestAt = at;
      tie = false;
    } else if (at === bestAt && claim.checkpoint !== claims[best!]!.checkpoint) tie = true;
  });
  return tie ? undefined : best;
}
