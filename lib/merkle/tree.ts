/**
 * Roots and inclusion proofs over `sha256:<hex>` event hashes, for both tree
 * kinds a receipt can carry (docs/FEDERATION_SEMANTICS.md §2. Merkle rules). The caller's leaves are trusted input:
 * a malformed one is a caller's mistake and throws ArgumentError.
 */
import { digestBytes, formatDigest, sha256 } from "../digest.js";
import { ArgumentError } from "../errors.js";
import { TREE_KINDS, type InclusionProof, type TreeKind } from "../receipt.js";
import { rfc9162InclusionPaths, rfc9162TreeHead } from "./rfc9162.js";
import { vmshDupLevels, vmshDupPath, vmshDupRoot } from "./vmsh-dup.js";

/** Largest batch a proof may describe; also the bound verifyInclusion enforces. */
export const MAX_TREE_SIZE = 2 ** 32;

function checkTree(tree: unknown): asserts tree is TreeKind {
  if (!TREE_KINDS.includes(tree as TreeKind)) {
    throw new ArgumentError("tree", `expected one of ${TREE_KINDS.join(", ")}, got ${JSON.stringify(tree)}`);
  }
}

function leafBytes(leaves: readonly string[]): Uint8Array[] {
  if (!Array.isArray(leaves)) throw new ArgumentError("leaves", "expected an array of sha256:<hex> event hashes");
  if (leaves.length > MAX_TREE_SIZE) throw new ArgumentError("leaves", `more than ${MAX_TREE_SIZE} leaves`);
  return leaves.map((leaf, i) => digestBytes(leaf, `leaves[${i}]`));
}

/**
 * The batch root of `leaves` under `tree`. vmsh-dup-sha256 has no empty tree
 * (the sealer never seals one) and throws; rfc9162-sha256 of no leaves is sha256("").
 * @example
 * merkleRoot(["sha256:" + "ab".repeat(32)], "vmsh-dup-sha256") // "sha256:abab…ab", a single leaf is the root
 */
export function merkleRoot(leaves: readonly string[], tree: TreeKind): string {
  checkTree(tree);
  const bytes = leafBytes(leaves);
  if (tree === "rfc9162-sha256") return formatDigest(rfc9162TreeHead(bytes));
  if (bytes.length === 0) throw new ArgumentError("leaves", "a vmsh-dup-sha256 tree needs at least one leaf");
  return formatDigest(vmshDupRoot(bytes));
}

/**
 * The inclusion proof of the leaf at `index`: sibling hashes bottom-up, no
 * left/right flags (the verifier derives them from index and size).
 * @example
 * inclusionProof([h0, h1, h2], 2, "vmsh-dup-sha256")
 * // { tree: "vmsh-dup-sha256", index: 2, size: 3, path: [h2, sha256(h0||h1)] }
 */
export function inclusionProof(leaves: readonly string[], index: number, tree: TreeKind): InclusionProof {
  checkTree(tree);
  const size = Array.isArray(leaves) ? leaves.length : 0;
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
    throw new ArgumentError("index", `expected an integer in [0, ${size}), got ${String(index)}`);
  }
  return inclusionProofs(leaves, tree)[index]!;
}

/**
 * Inclusion proofs for every leaf at once, in O(n log n) hashes: what a batch
 * import needs, where calling inclusionProof per leaf would cost O(n²).
 * @example inclusionProofs([h0, h1], "rfc9162-sha256").map((p) => p.path.length) // [1, 1]
 */
export function inclusionProofs(leaves: readonly string[], tree: TreeKind): InclusionProof[] {
  checkTree(tree);
  const bytes = leafBytes(leaves);
  const size = bytes.length;
  // Each node is formatted once and shared by every path that holds it (docs/BENCHMARKS.md, import).
  const formatted = new Map<Uint8Array, string>();
  const hex = (b: Uint8Array): string => {
    let text = formatted.get(b);
    if (text === undefined) formatted.set(b, (text = formatDigest(b)));
    return text;
  };
  if (tree === "rfc9162-sha256") {
    return rfc9162InclusionPaths(bytes).map((path, index) => ({ tree, index, size, path: path.map(hex) }));
  }
  if (size === 0) return [];
  const levels = vmshDupLevels(bytes);
  return bytes.map((_, index) => ({ tree, index, size, path: vmshDupPath(levels, index).map(hex) }));
}

/** sha256 of the empty string, the rfc9162-sha256 root of an empty batch. */
export const EMPTY_RFC9162_ROOT: string = formatDigest(sha256());
