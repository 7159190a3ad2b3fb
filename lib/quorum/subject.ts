/**
 * A stored batch version as the quorum sees it (docs/FEDERATION_SEMANTICS.md §8. Quorum): the
 * digest of the checkpoint it is held against, this node's winner after conflict resolution,
 * and the anchors this node rejected. Pure.
 */
import { resolveAnchors, type AnchorRecord } from "../conflict/index.js";
import { compareAnchors } from "../conflict/order.js";
import { messageDigest } from "../messages/canonical.js";
import type { Checkpoint } from "../messages/checkpoint.js";
import { MAX_VERIFIED_PER_COSIGNATURE, type AnchorRef } from "../messages/cosignature.js";
import type { QuorumSubject } from "./state.js";

const ref = (a: AnchorRef): AnchorRef => ({ chain: a.chain, tx: a.tx });

/** What the quorum reads of a stored batch version (the store's StoredBatch has these members). */
export interface VersionRecord {
  namespace: string;
  batchId: string;
  batchRoot: string;
  anchors: readonly AnchorRecord[];
  checkpoint?: Checkpoint;
}

/**
 * The quorum subject of a stored version; undefined for a version stored without a checkpoint
 * (0.1.0): there is nothing a cosignature could name.
 * @example quorumSubject(await store.getBatch(ns, id, root))?.winner
 */
export function quorumSubject(batch: VersionRecord): QuorumSubject | undefined {
  if (batch.checkpoint === undefined) return undefined;
  const own = batch.anchors.filter((a) => a.batchRoot === batch.batchRoot);
  // The winner is recomputed, not read from stored superseded_by marks (docs/FEDERATION_SEMANTICS.md §3. Conflicts).
  const resolved = own.length === 0 ? undefined : resolveAnchors(own).batches[0]?.byRoot[0];
  const winner = resolved?.anchors.find((a) => a.outcome === "verified" && a.superseded_by === undefined);
  return {
    namespace: batch.namespace,
    origin: batch.checkpoint.origin,
    batchId: batch.batchId,
    batchRoot: batch.batchRoot,
    checkpoint: messageDigest(batch.checkpoint),
    winner: winner === undefined ? undefined : ref(winner),
    rejected: own.filter((a) => a.outcome === "rejected").map(ref),
  };
}

/**
 * The anchors of a version this node verified itself, strongest first: what its cosignature lists.
 * @example verifiedAnchors(batch)[0] // the winner
 */
export function verifiedAnchors(batch: VersionRecord): AnchorRef[] {
  return batch.anchors
    .filter((a) => a.batchRoot === batch.batchRoot && a.outcome === "verified")
    .sort(compareAnchors)
    .slice(0, MAX_VERIFIED_PER_COSIGNATURE)
    .map(ref);
}
