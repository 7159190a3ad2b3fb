/**
 * The sealer's Merkle rule, `vmsh-dup-sha256` (docs/FEDERATION_SEMANTICS.md §2.1): leaves are the raw
 * 32-byte event hashes, a parent is sha256(left || right), and the last node of
 * an odd level is paired with itself. Kept to verify roots already anchored on
 * chain; it has no domain separation and the duplicate-last-node ambiguity, so
 * nothing new is sealed with it (docs/FEDERATION_SEMANTICS.md, "vmsh-dup-sha256").
 * Works on bytes; argument checking lives in tree.ts and verify.ts.
 */
import { bytesEqual, sha256 } from "../digest.js";

/**
 * Every level of the tree, leaves first, root last (a one-element level).
 * @example vmshDupLevels([a, b, c]).length // 3: [a,b,c], [ab,cc], [abcc]
 */
export function vmshDupLevels(leaves: readonly Uint8Array[]): Uint8Array[][] {
  const levels: Uint8Array[][] = [leaves.slice()];
  let level = levels[0]!;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      const left = level[i]!;
      // docs/FEDERATION_SEMANTICS.md §2.1: on an odd level the last node is paired with itself.
      const right = level[i + 1] ?? left;
      next.push(sha256(left, right));
    }
    levels.push(next);
    level = next;
  }
  return levels;
}

/**
 * The root of non-empty `leaves` under the vmsh-dup rule; a single leaf is its own root.
 * @example bytesToHex(vmshDupRoot([leaf])) === bytesToHex(leaf) // true
 */
export function vmshDupRoot(leaves: readonly Uint8Array[]): Uint8Array {
  const levels = vmshDupLevels(leaves);
  return levels[levels.length - 1]![0]!;
}

/**
 * Sibling hashes bottom-up for `index`, read from precomputed levels. Where the
 * node is the last of an odd level its sibling is itself, and the path carries
 * that copy, so the path length is always the tree height.
 * @example vmshDupPath(vmshDupLevels([a, b, c]), 2) // [c, sha256(a||b)]
 */
export function vmshDupPath(levels: readonly (readonly Uint8Array[])[], index: number): Uint8Array[] {
  const path: Uint8Array[] = [];
  let i = index;
  for (let l = 0; l < levels.length - 1; l++) {
    const level = levels[l]!;
    const sibling = i % 2 === 1 ? level[i - 1]! : (level[i + 1] ?? level[i]!);
    path.push(sibling);
    i = Math.floor(i / 2);
  }
  return path;
}

/**
 * Path length for a batch of `size` leaves: the tree height, ceil(log2(size)),
 * whatever the index.
 * @example vmshDupPathLength(5) // 3
 */
export function vmshDupPathLength(size: number): number {
  let height = 0;
  for (let n = size; n > 1; n = Math.ceil(n / 2)) height++;
  return height;
}

/** Either the recomputed root or why the path cannot be walked. */
export type RootFromPath = { root: Uint8Array } | { reason: string };

/**
 * Walks `path` up from `leaf` at `index` in a batch of `size` leaves. The caller
 * has already checked 0 ≤ index < size and path.length === vmshDupPathLength(size).
 * At a node that is the last of an odd level the path element must equal the node
 * itself: that is what the sealer emits, and accepting anything else would let a
 * proof claim a position the batch does not have.
 * @example vmshDupRootFromPath(c, 2, 3, [c, ab]) // { root: sha256(ab || sha256(c||c)) }
 */
export function vmshDupRootFromPath(leaf: Uint8Array, index: number, size: number, path: readonly Uint8Array[]): RootFromPath {
  let node = leaf;
  let i = index;
  let count = size;
  for (let k = 0; k < path.length; k++) {
    const sibling = path[k]!;
    if (i % 2 === 1) {
      node = sha256(sibling, node);
    } else if (i === count - 1) {
      if (!bytesEqual(sibling, node)) {
        return { reason: `proof.path[${k}] must repeat the node itself: position ${i} is the last of ${count} nodes on level ${k}, paired with itself` };
      }
      node = sha256(node, node);
    } else {
      node = sha256(node, sibling);
    }
    i = Math.floor(i / 2);
    count = Math.ceil(count / 2);
  }
  return { root: node };
}
