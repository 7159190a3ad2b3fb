/**
 * A checkpoint's inclusion in its origin's witnessed log head, checked offline
 * (docs/FEDERATION_PROTOCOL.md §Origin log and §Witnessed heads): the head must be signed by the
 * origin's log key, the inclusion proof must take the checkpoint's digest to the head's root,
 * and the witness cosignatures on the head are counted by distinct key. The k-th earliest
 * cosignature time is when the checkpoint was *witnessed* in the log: k − 1 lying witnesses
 * cannot move it before an honest witness saw it. Pure.
 */
import { digestBytes } from "../digest.js";
import type { Checkpoint } from "../messages/checkpoint.js";
import { rfc9162LeafHash } from "../merkle/rfc9162.js";
import { checkpointDigest } from "../reconcile/version-items.js";
import { parseCheckpoint } from "../tlog/checkpoint.js";
import { cosignatureTime, cosignatureVerifier } from "../tlog/cosignature.js";
import { decodeBase64, openNote, type NoteVerifier } from "../tlog/note.js";
import { verifyInclusion } from "../tlog/proof.js";
import { logOrigin, logVerifier } from "./origin-log.js";
import { witnessName } from "./witness-name.js";

/** What a proof file or an answer carries to show a checkpoint is logged (docs/FEDERATION_PROTOCOL.md §Origin log). */
export interface LogInclusionProof {
  /** The origin's log head as a signed note, with the witness cosignature lines. */
  head: string;
  /** The checkpoint's leaf index in the log. */
  index: number;
  /** RFC 9162 inclusion path, leaf to root, base64. */
  proof: string[];
}

/** Whom to believe: the origin's key, the witnesses' keys by DID, and how many must have cosigned. */
export interface LogTrust {
  originKey: Uint8Array;
  witnesses: ReadonlyMap<string, Uint8Array>;
  k: number;
}

export type LoggedCheck =
  | {
      outcome: "verified";
      size: number;
      index: number;
      /** Witnesses whose cosignature of the head verified, one per distinct key, earliest first. */
      cosigners: Array<{ did: string; time: number }>;
      /** The k-th earliest cosignature time; undefined when fewer than k distinct keys cosigned. */
      witnessedAt?: number;
    }
  | { outcome: "rejected"; reason: string };

/**
 * Checks `log` for `checkpoint` against `trust`.
 * @example const r = verifyLogged(cp, proofFile.log, { originKey, witnesses, k: 2 }); if (r.outcome === "verified" && r.witnessedAt !== undefined) final()
 */
export function verifyLogged(checkpoint: Checkpoint, log: LogInclusionProof, trust: LogTrust): LoggedCheck {
  const no = (reason: string): LoggedCheck => ({ outcome: "rejected", reason });
  if (typeof log?.head !== "string" || !Number.isSafeInteger(log.index) || !Array.isArray(log.proof)) return no("log: expected { head, index, proof }");
  // The origin is never a witness of its own log, under its own DID or another with its key:
  // else an origin listed as a witness needs one accomplice per split view (docs/FEDERATION_SEMANTICS.md §Origin logs).
  const originHex = Buffer.from(trust.originKey).toString("hex");
  const others = [...trust.witnesses].filter(([did, key]) => did !== checkpoint.origin && Buffer.from(key).toString("hex") !== originHex);
  const witnessVerifiers = new Map<string, NoteVerifier>(others.map(([did, key]) => [did, cosignatureVerifier(witnessName(did), key)]));
  const opened = openNote(log.head, [logVerifier(checkpoint.origin, trust.originKey), ...witnessVerifiers.values()]);
  if (opened.outcome === "rejected") return no(`log.head: ${opened.reason}`);
  const origin = logOrigin(checkpoint.origin);
  if (!opened.verified.some((s) => s.name === origin)) return no(`log.head: not signed by the log of ${checkpoint.origin}`);
  const head = parseCheckpoint(opened.text);
  if ("reason" in head) return no(`log.head: ${head.reason}`);
  if (head.origin !== origin) return no(`log.head: origin line ${JSON.stringify(head.origin.slice(0, 120))} is not ${origin}`);
  const proof: Uint8Array[] = [];
  for (const h of log.proof) {
    const b = typeof h === "string" ? decodeBase64(h) : undefined;
    if (b === undefined || b.length !== 32) return no("log.proof: each element must be base64 of 32 bytes");
    proof.push(b);
  }
  const leaf = rfc9162LeafHash(digestBytes(checkpointDigest(checkpoint)));
  const inc = verifyInclusion(leaf, log.index, head.size, proof, head.rootHash);
  if (inc.outcome === "rejected") return no(`log.proof: ${inc.reason}`);
  const cosigners: Array<{ did: string; time: number }> = [];
  const keys = new Set<string>();
  for (const [did, v] of witnessVerifiers) {
    const sig = opened.verified.find((s) => s.name === v.name && s.keyId === v.keyId);
    const key = Buffer.from(trust.witnesses.get(did)!).toString("hex");
    if (sig === undefined || keys.has(key)) continue;
    keys.add(key);
    cosigners.push({ did, time: cosignatureTime(sig.signature)! });
  }
  cosigners.sort((a, b) => a.time - b.time || (a.did < b.did ? -1 : 1));
  const witnessedAt = trust.k >= 1 && cosigners.length >= trust.k ? cosigners[trust.k - 1]!.time : undefined;
  return { outcome: "verified", size: head.size, index: log.index, cosigners, ...(witnessedAt === undefined ? {} : { witnessedAt }) };
}

/**
 * Orders claims of one root by earliest witnessed inclusion in their origins' logs (the
 * attribution rule of docs/FEDERATION_SEMANTICS.md §Origin logs): verified with a
 * `witnessedAt` first, earliest first; then the rest. Ties keep a deterministic order by the
 * checkpoint digest, never the claimant's own `ts`.
 * @example orderByWitnessedInclusion(claims, (origin) => trustOf(origin))[0] // the attributed claim
 */
export function orderByWitnessedInclusion<C extends { checkpoint: Checkpoint; log?: LogInclusionProof }>(claims: readonly C[], trustFor: (origin: string) => LogTrust | undefined): Array<C & { witnessedAt?: number }> {
  const rated = claims.map((c) => {
    const trust = trustFor(c.checkpoint.origin);
    const check = c.log !== undefined && trust !== undefined ? verifyLogged(c.checkpoint, c.log, trust) : undefined;
    const at = check?.outcome === "verified" ? check.witnessedAt : undefined;
    return { claim: c, at, digest: checkpointDigest(c.checkpoint) };
  });
  rated.sort((a, b) => (a.at ?? Infinity) - (b.at ?? Infinity) || (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  return rated.map((r) => ({ ...r.claim, ...(r.at === undefined ? {} : { witnessedAt: r.at }) }));
}
