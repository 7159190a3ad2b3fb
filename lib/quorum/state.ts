/**
 * k-of-n finality of one batch version (docs/FEDERATION_SEMANTICS.md §8. Quorum): which of a
 * namespace's witnesses cosigned this node's checkpoint and winner, counted by distinct DID
 * and distinct key, and whether any witness contradicts this node. Pure: keys, policy and the
 * cosignatures held come in as parameters.
 */
import type { KeyObject } from "node:crypto";
import { rawPublicKey } from "../identity/keys.js";
import { verifyCosignature, type AnchorRef, type Cosignature } from "../messages/cosignature.js";

export interface QuorumPolicy {
  /** Distinct witnesses needed. */
  k: number;
  /** DIDs whose cosignatures count; their keys come from peers.yaml. */
  witnesses: readonly string[];
}

/** The batch version as this node sees it. */
export interface QuorumSubject {
  namespace: string;
  origin: string;
  batchId: string;
  batchRoot: string;
  /** Digest of the checkpoint this node verified for the version. */
  checkpoint: string;
  /** This node's winner, or undefined while it has none (the batch is held). */
  winner: AnchorRef | undefined;
  /** Anchors of the version this node rejected: a witness that names one as winner disputes this node's view. */
  rejected: readonly AnchorRef[];
}

export type QuorumStatus =
  | { state: "final"; k: number; cosigners: string[] }
  | { state: "awaiting"; k: number; cosigners: string[]; needed: number; notYet: string[]; disagree: Array<{ signer: string; winner: AnchorRef }> }
  | { state: "disputed"; k: number; cosigners: string[]; reason: string; evidence: Cosignature[] };

const same = (a: AnchorRef, b: AnchorRef): boolean => a.chain === b.chain && a.tx === b.tx;
const label = (a: AnchorRef): string => `${a.chain}/${a.tx}`;

/**
 * The cosignatures that count as evidence about `subject`: from a listed witness, signed with
 * that witness's key, about the same namespace, origin and batch id. Per witness the newest
 * one for each checkpoint is kept (a witness re-cosigns when its view of the winner changes).
 */
export function witnessCosignatures(subject: Pick<QuorumSubject, "namespace" | "origin" | "batchId">, policy: QuorumPolicy, keys: ReadonlyMap<string, KeyObject>, held: readonly Cosignature[]): Cosignature[] {
  const listed = new Set(policy.witnesses);
  const newest = new Map<string, Cosignature>();
  for (const c of held) {
    if (c.namespace !== subject.namespace || c.origin !== subject.origin || c.batchId !== subject.batchId || !listed.has(c.signer)) continue;
    const key = keys.get(c.signer);
    if (key === undefined || !verifyCosignature(c, key).ok) continue;
    const slot = `${c.signer}\u0000${c.checkpoint}`;
    const had = newest.get(slot);
    if (had === undefined || c.ts > had.ts) newest.set(slot, c);
  }
  return [...newest.values()];
}

/**
 * Cosignatures by listed witnesses naming a checkpoint of the subject's origin and batch id that
 * no origin signature this node holds backs (`signed`: digests of the origin-signed checkpoints
 * held for that origin and batch id, every shape and root). A witness that cosigns a made-up
 * digest is at fault, not the origin: kept and shown as evidence, never a dispute
 * (docs/FEDERATION_SEMANTICS.md §8. Quorum).
 * @example witnessFaults(subject, policy, keys, held, new Set([subject.checkpoint])).map((c) => c.signer)
 */
export function witnessFaults(subject: Pick<QuorumSubject, "namespace" | "origin" | "batchId" | "checkpoint">, policy: QuorumPolicy, keys: ReadonlyMap<string, KeyObject>, held: readonly Cosignature[], signed: ReadonlySet<string>): Cosignature[] {
  return witnessCosignatures(subject, policy, keys, held).filter((c) => c.checkpoint !== subject.checkpoint && !signed.has(c.checkpoint));
}

/**
 * The quorum state of one batch version. `signed` holds the digests of the checkpoints of the
 * subject's origin and batch id that this node holds signed by that origin: a cosignature of
 * another checkpoint disputes the version only when that checkpoint is among them (the origin
 * equivocated, and both signed checkpoints are the evidence); otherwise it is a witness fault.
 * @example quorumStatus(subject, { k: 3, witnesses }, keys, cosignatures, new Set([subject.checkpoint])).state // "final"
 */
export function quorumStatus(subject: QuorumSubject, policy: QuorumPolicy, keys: ReadonlyMap<string, KeyObject>, held: readonly Cosignature[], signed: ReadonlySet<string>): QuorumStatus {
  const valid = witnessCosignatures(subject, policy, keys, held);
  // Two signed checkpoints cosigned for one batch: the origin equivocated, with its two signatures as evidence.
  const other = valid.find((c) => c.checkpoint !== subject.checkpoint && signed.has(c.checkpoint));
  const mine = valid.filter((c) => c.checkpoint === subject.checkpoint && c.batchRoot === subject.batchRoot);
  const cosigners = (winner: AnchorRef | undefined) => countDistinct(winner === undefined ? [] : mine.filter((c) => same(c.winner, winner)), keys);
  if (other !== undefined) {
    const counter = mine[0];
    return { state: "disputed", k: policy.k, cosigners: cosigners(subject.winner), reason: `${other.signer} cosigned another checkpoint (${other.checkpoint}) for batch ${subject.batchId}`, evidence: counter === undefined ? [other] : [counter, other] };
  }
  const contradicting = mine.find((c) => subject.rejected.some((r) => same(r, c.winner)));
  if (contradicting !== undefined) {
    return { state: "disputed", k: policy.k, cosigners: cosigners(subject.winner), reason: `${contradicting.signer} cosigned ${label(contradicting.winner)} as winner, which this node rejected`, evidence: [contradicting] };
  }
  const agreeing = cosigners(subject.winner);
  if (subject.winner !== undefined && agreeing.length >= policy.k) return { state: "final", k: policy.k, cosigners: agreeing };
  const cosigned = new Set(mine.map((c) => c.signer));
  const disagree = subject.winner === undefined ? [] : mine.filter((c) => !same(c.winner, subject.winner!)).map((c) => ({ signer: c.signer, winner: c.winner }));
  return { state: "awaiting", k: policy.k, cosigners: agreeing, needed: Math.max(0, policy.k - agreeing.length), notYet: policy.witnesses.filter((w) => !cosigned.has(w)), disagree };
}

/** Signers of `cosignatures`, one per DID and one per key: a key shared by two DIDs counts once (sigstore-go #633). */
function countDistinct(cosignatures: readonly Cosignature[], keys: ReadonlyMap<string, KeyObject>): string[] {
  const dids = new Set<string>();
  const seenKeys = new Set<string>();
  for (const c of [...cosignatures].sort((a, b) => (a.signer < b.signer ? -1 : a.signer > b.signer ? 1 : 0))) {
    const raw = Buffer.from(rawPublicKey(keys.get(c.signer)!)).toString("hex");
    if (dids.has(c.signer) || seenKeys.has(raw)) continue;
    dids.add(c.signer);
    seenKeys.add(raw);
  }
  return [...dids];
}
