/**
 * One origin's two shapes of one root (docs/FEDERATION_SEMANTICS.md §6. Threat model): both
 * signed checkpoints are kept as its equivocation, and every node holds the same one as the
 * version's primary, whatever arrived first. Pure.
 */
import { messageDigest } from "../messages/canonical.js";
import type { Checkpoint } from "../messages/checkpoint.js";

/** Other shapes kept per version: a second shape is all the evidence needed; the bound stops an origin filling a file. */
export const MAX_SHAPES_PER_VERSION = 8;

/**
 * Which of two checkpoints of one origin, batch id and root is the version's primary: the one
 * with the smaller digest (the `checkpoint` a cosignature names). Both are the same origin's
 * word, so no rule can be fairer to it; this one is the same on every node, and needs nothing
 * but the two signed checkpoints.
 * @example primaryShape(held, offered) === offered // the node reshapes its version
 */
export function primaryShape(a: Checkpoint, b: Checkpoint): Checkpoint {
  return messageDigest(b) < messageDigest(a) ? b : a;
}
