/**
 * How cosignatures are kept with a batch version (docs/STATE.md §Cosignatures): merged by their
 * digest, one per signer and checkpoint (the newest: a witness re-cosigns when its view of the
 * winner changes, and lib/quorum/state.ts counts only the newest), at most
 * MAX_CHECKPOINTS_PER_SIGNER checkpoints per signer and MAX_COSIGNATURES_PER_VERSION in all, so
 * one witness cannot crowd out the others. Pure: no file, no clock.
 */
import { createHash } from "node:crypto";
import { canonicalJson } from "../messages/canonical.js";
import type { Cosignature } from "../messages/cosignature.js";

/** Cosignatures kept per batch version: room for 32 witnesses each cosigning 2 checkpoints. */
export const MAX_COSIGNATURES_PER_VERSION = 64;
/** Checkpoints one signer's cosignatures are kept for per version: its own and one contradicting it is all the evidence a dispute needs. */
export const MAX_CHECKPOINTS_PER_SIGNER = 2;

/**
 * `sha256:<hex>` of a cosignature's canonical form, `sig` included: its identity as a stored and
 * reconciled item (docs/FEDERATION_PROTOCOL.md §Cosignature).
 * @example cosignatureDigest(c) // "sha256:…"
 */
export function cosignatureDigest(c: Cosignature): string {
  return `sha256:${createHash("sha256").update(canonicalJson(c), "utf8").digest("hex")}`;
}

const slot = (c: Cosignature): string => `${c.signer}\u0000${c.checkpoint}`;

/** True when `a` replaces `b` in one slot: newer, or as new with the smaller digest, so every node keeps the same one. */
function supersedes(a: Cosignature, b: Cosignature): boolean {
  return a.ts > b.ts || (a.ts === b.ts && cosignatureDigest(a) < cosignatureDigest(b));
}

/** The merged list and the incoming cosignatures that changed it. */
export interface CosignatureMerge {
  cosignatures: Cosignature[];
  added: Cosignature[];
}

/**
 * Merges incoming cosignatures (already verified by the caller) into a version's stored list.
 * A cosignature already held, or older than the held one of its signer and checkpoint, changes
 * nothing; a new slot beyond `max`, or a signer's third checkpoint, is refused (the evidence
 * already held stays).
 * @example mergeCosignatures(stored, [c]).added.length // 1 when c is new
 */
export function mergeCosignatures(stored: readonly Cosignature[], incoming: readonly Cosignature[], max = MAX_COSIGNATURES_PER_VERSION): CosignatureMerge {
  const out = [...stored];
  const at = new Map(out.map((c, i) => [slot(c), i] as const));
  const added: Cosignature[] = [];
  for (const c of incoming) {
    const i = at.get(slot(c));
    if (i === undefined) {
      if (out.length >= max || out.filter((x) => x.signer === c.signer).length >= MAX_CHECKPOINTS_PER_SIGNER) continue;
      at.set(slot(c), out.length);
      out.push(c);
      added.push(c);
    } else if (supersedes(c, out[i]!)) {
      out[i] = c;
      added.push(c);
    }
  }
  return { cosignatures: out, added };
}
