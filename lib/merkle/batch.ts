/**
 * From a sealer batch file (`{ id, root, leaves, createdAt }`, docs/FEDERATION_SEMANTICS.md §The sealer's files) to wire
 * receipts (docs/FEDERATION_PROTOCOL.md §Receipt). The batch file is the local node's own data, so a batch
 * that does not hold together is a caller's mistake and throws ArgumentError.
 */
import { isDigest } from "../digest.js";
import { ArgumentError } from "../errors.js";
import type { Receipt, TreeKind } from "../receipt.js";
import { inclusionProofs, merkleRoot } from "./tree.js";

/** The sealer's batch file, as written before federation (docs/FEDERATION_SEMANTICS.md §The sealer's files). */
export interface SealerBatch {
  id: string;
  /** `sha256:<hex>` root under the sealer's rule, vmsh-dup-sha256. */
  root: string;
  /** `sha256:<hex>` event hashes in sealing order. */
  leaves: string[];
  /** Unix seconds; becomes every receipt's `ts` (docs/FEDERATION_PROTOCOL.md §Receipt). */
  createdAt: number;
}

/** The first event hash that occurs twice in `leaves`, if any. */
function firstDuplicate(leaves: readonly string[]): string | undefined {
  const seen = new Set<string>();
  for (const leaf of leaves) {
    if (seen.has(leaf)) return leaf;
    seen.add(leaf);
  }
  return undefined;
}

/**
 * The position of `eventHash` in a sealer batch's `leaves`, which is what a
 * flagless path of docs/FEDERATION_SEMANTICS.md §2.1 needs. A hash listed twice has no single position and throws.
 * @example indexInBatch(["sha256:aa…", "sha256:bb…"], "sha256:bb…") // 1
 */
export function indexInBatch(leaves: readonly string[], eventHash: string): number {
  if (!Array.isArray(leaves)) throw new ArgumentError("leaves", "expected an array of sha256:<hex> event hashes");
  if (!isDigest(eventHash)) throw new ArgumentError("eventHash", `expected a sha256:<64 lower-case hex> digest, got ${JSON.stringify(String(eventHash).slice(0, 80))}`);
  const first = leaves.indexOf(eventHash);
  if (first < 0) throw new ArgumentError("eventHash", `${eventHash} is not a leaf of this batch`);
  const again = leaves.indexOf(eventHash, first + 1);
  if (again >= 0) throw new ArgumentError("leaves", `${eventHash} appears at positions ${first} and ${again}; its index is ambiguous`);
  return first;
}

export interface ReceiptsForBatchOptions {
  /** The rule `batch.root` was computed with; sealer batches use vmsh-dup-sha256 (the default). */
  tree?: TreeKind;
}

/**
 * One wire receipt per leaf of a sealer batch, in leaf order, each carrying its
 * own proof and `ts = createdAt`. Checks first that `leaves` recompute `root`
 * and that no event hash repeats (a receipt's id is its event hash).
 * @example
 * receiptsForBatch({ id: "b1", root, leaves, createdAt: 1700000000 }, "dao:vaultmesh")
 * // [{ id: leaves[0], namespace: "dao:vaultmesh", batchId: "b1", batchRoot: root, eventHash: leaves[0],
 * //    ts: 1700000000, proof: { tree: "vmsh-dup-sha256", index: 0, size: leaves.length, path: […] } }, …]
 */
export function receiptsForBatch(batch: SealerBatch, namespace: string, options: ReceiptsForBatchOptions = {}): Receipt[] {
  const tree = options.tree ?? "vmsh-dup-sha256";
  if (typeof batch !== "object" || batch === null) throw new ArgumentError("batch", "expected a sealer batch object");
  if (typeof batch.id !== "string" || batch.id === "") throw new ArgumentError("batch.id", "expected a non-empty string");
  if (!isDigest(batch.root)) throw new ArgumentError("batch.root", "expected a sha256:<64 lower-case hex> digest");
  if (!Number.isSafeInteger(batch.createdAt) || batch.createdAt < 0) throw new ArgumentError("batch.createdAt", "expected unix seconds as a non-negative integer");
  if (typeof namespace !== "string" || namespace === "") throw new ArgumentError("namespace", "expected a non-empty string");
  if (!Array.isArray(batch.leaves) || batch.leaves.length === 0) throw new ArgumentError("batch.leaves", "expected a non-empty array of event hashes");
  const duplicate = firstDuplicate(batch.leaves);
  if (duplicate !== undefined) throw new ArgumentError("batch.leaves", `${duplicate} appears more than once; receipt ids would collide`);
  const computed = merkleRoot(batch.leaves, tree);
  if (computed !== batch.root) throw new ArgumentError("batch.root", `${batch.root} is not the ${tree} root of batch.leaves (${computed})`);
  return inclusionProofs(batch.leaves, tree).map((proof, index) => {
    const eventHash = batch.leaves[index]!;
    return { id: eventHash, namespace, batchId: batch.id, batchRoot: batch.root, eventHash, ts: batch.createdAt, proof };
  });
}
