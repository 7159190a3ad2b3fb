/**
 * Sealing, as the upstream sealer does it (docs/FEDERATION_SEMANTICS.md §The sealer's files): event
 * hashes in, a batch file `{ id, root, leaves, createdAt }` and one receipt file per event out,
 * each receipt carrying the batch's anchor (the sealer's `vm:internal` placeholder until a rail
 * anchors it). Pure: the caller hashes the events, asks a TSA, and writes the files.
 */
import { isDigest } from "../digest.js";
import { ArgumentError } from "../errors.js";
import { inclusionProofs, merkleRoot } from "../merkle/index.js";
import { isBatchId } from "../messages/limits.js";
import type { TreeKind } from "../receipt.js";
import { PLACEHOLDER_CHAIN } from "./placeholder.js";

/** The `verifier` upstream's sealer writes into every receipt. */
export const SEALER_VERIFIER = "did:vm:arbiter:local-sealer";

export interface SealInput {
  id: string;
  /** `sha256:<hex>` event hashes, in leaf order, each once. */
  leaves: readonly string[];
  /** Unix seconds. */
  createdAt: number;
  /** rfc9162-sha256 for anything new; vmsh-dup-sha256 only for tools that read nothing else (docs/FEDERATION_SEMANTICS.md §2.1). */
  tree: TreeKind;
  /** The anchor every receipt carries (upstream's anchor writers' shape); default: the sealer's placeholder. */
  anchor?: Record<string, unknown>;
}

export interface SealOutput {
  batch: { id: string; root: string; leaves: string[]; createdAt: number };
  /** File name (in leaf order) and content of each receipt. */
  receipts: Array<{ name: string; receipt: Record<string, unknown> }>;
}

/**
 * Seals `input.leaves` into one batch. Under rfc9162-sha256 each receipt also names its `index`
 * (the flagless path needs it; upstream's receipt shape allows it); `announce` tells the two
 * rules apart by recomputing the root.
 * @example sealBatch({ id: "1760000000", leaves: [h1, h2], createdAt: 1760000000, tree: "rfc9162-sha256" }).batch.root
 */
export function sealBatch(input: SealInput): SealOutput {
  if (!isBatchId(input.id)) throw new ArgumentError("id", `expected a batch id (letters, digits, '.', '_', ':', '-'; at most 128), got ${JSON.stringify(String(input.id).slice(0, 80))}`);
  if (!Array.isArray(input.leaves) || input.leaves.length === 0) throw new ArgumentError("leaves", "expected at least one event hash");
  const seen = new Map<string, number>();
  input.leaves.forEach((leaf, i) => {
    if (!isDigest(leaf)) throw new ArgumentError(`leaves[${i}]`, `expected sha256:<64 lower-case hex>, got ${JSON.stringify(String(leaf).slice(0, 80))}`);
    const first = seen.get(leaf);
    if (first !== undefined) throw new ArgumentError(`leaves[${i}]`, `${leaf} is also event ${first}: one event is sealed once (its hash is its receipt's id)`);
    seen.set(leaf, i);
  });
  const leaves = [...input.leaves];
  const root = merkleRoot(leaves, input.tree);
  const anchor = input.anchor ?? { chain: PLACEHOLDER_CHAIN, tx: `batch:${input.id}`, block: 0, ts: input.createdAt };
  const width = Math.max(4, String(leaves.length - 1).length);
  const receipts = inclusionProofs(leaves, input.tree).map((proof, i) => {
    const n = String(i).padStart(width, "0");
    const receipt: Record<string, unknown> = { eventHash: leaves[i], batchRoot: root, path: proof.path };
    if (input.tree === "rfc9162-sha256") receipt.index = i;
    Object.assign(receipt, { anchor, verifier: SEALER_VERIFIER, integrity: `vmr1-${input.id}-${n}` });
    return { name: `${n}.json`, receipt };
  });
  return { batch: { id: input.id, root, leaves, createdAt: input.createdAt }, receipts };
}
