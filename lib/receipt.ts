/**
 * Receipts as they travel between nodes (docs/FEDERATION_PROTOCOL.md §Receipt): self-contained, so a node can
 * check inclusion without the sealer's batch file.
 */

/** Merkle rules a receipt's proof can follow (docs/FEDERATION_SEMANTICS.md). */
export type TreeKind = "vmsh-dup-sha256" | "rfc9162-sha256";
export const TREE_KINDS: readonly TreeKind[] = ["vmsh-dup-sha256", "rfc9162-sha256"];

export interface InclusionProof {
  tree: TreeKind;
  /** Leaf position, 0-based; must be < size. */
  index: number;
  /** Number of leaves in the batch. */
  size: number;
  /** Sibling hashes bottom-up, `sha256:<hex>`, without left/right flags. */
  path: string[];
}

export interface Receipt {
  /** The event hash; a receipt's identity. */
  id: string;
  namespace: string;
  batchId: string;
  batchRoot: string;
  eventHash: string;
  /** The batch's sealing time (sealer `createdAt`), fixed at first ingestion: orders `(ts, id)`. */
  ts: number;
  proof: InclusionProof;
}
