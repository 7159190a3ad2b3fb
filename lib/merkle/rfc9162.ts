/**
 * The RFC 9162 §2.1 Merkle Tree Hash (`rfc9162-sha256`): leaf sha256(0x00 || d),
 * node sha256(0x01 || left || right), split at the largest power of two below n,
 * no duplication, empty tree sha256(""). Works on raw entries and bytes so the
 * RFC 6962 reference vectors (entries of any length) apply unchanged; tree.ts
 * feeds it the 32 event-hash bytes as entries.
 */
import { sha256 } from "../digest.js";
import type { RootFromPath } from "./vmsh-dup.js";

const LEAF_PREFIX = Uint8Array.of(0x00);
const NODE_PREFIX = Uint8Array.of(0x01);

/**
 * RFC 9162 §2.1.1: the hash of one entry as a leaf.
 * @example rfc9162LeafHash(new Uint8Array(0)) // 6e340b9c… (RFC 6962 vector, empty entry)
 */
export function rfc9162LeafHash(entry: Uint8Array): Uint8Array {
  return sha256(LEAF_PREFIX, entry);
}

/**
 * RFC 9162 §2.1.1: the hash of an interior node.
 * @example rfc9162NodeHash(left, right) // sha256(0x01 || left || right)
 */
export function rfc9162NodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(NODE_PREFIX, left, right);
}

/** Largest power of two strictly below n (n ≥ 2); arithmetic, since n may exceed 2^31. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * MTH(D[n]) of RFC 9162 §2.1.1 over raw entries.
 * @example bytesToHex(rfc9162TreeHead([])) // "e3b0c442…b855", sha256 of the empty string
 */
export function rfc9162TreeHead(entries: readonly Uint8Array[]): Uint8Array {
  if (entries.length === 0) return sha256();
  return subtree(entries.map(rfc9162LeafHash), 0, entries.length, undefined);
}

/**
 * PATH(m, D[n]) of RFC 9162 §2.1.3.1 for every m at once, bottom-up, in
 * O(n log n) hashes rather than O(n) per leaf.
 * @example rfc9162InclusionPaths([d0, d1])[0] // [rfc9162LeafHash(d1)]
 */
export function rfc9162InclusionPaths(entries: readonly Uint8Array[]): Uint8Array[][] {
  const paths: Uint8Array[][] = entries.map(() => []);
  if (entries.length > 0) subtree(entries.map(rfc9162LeafHash), 0, entries.length, paths);
  return paths;
}

/** MTH of leafHashes[lo, hi); when `paths` is given, appends each leaf's sibling on the way up. */
function subtree(leafHashes: readonly Uint8Array[], lo: number, hi: number, paths: Uint8Array[][] | undefined): Uint8Array {
  if (hi - lo === 1) return leafHashes[lo]!;
  const mid = lo + splitPoint(hi - lo);
  const left = subtree(leafHashes, lo, mid, paths);
  const right = subtree(leafHashes, mid, hi, paths);
  if (paths) {
    for (let i = lo; i < mid; i++) paths[i]!.push(right);
    for (let i = mid; i < hi; i++) paths[i]!.push(left);
  }
  return rfc9162NodeHash(left, right);
}

/**
 * The exact number of path elements RFC 9162 §2.1.3.2 consumes for
 * (index, size), index < size: the verification loop run without hashing.
 * @example rfc9162PathLength(4, 5) // 1
 */
export function rfc9162PathLength(index: number, size: number): number {
  let fn = index;
  let sn = size - 1;
  let length = 0;
  while (sn > 0) {
    if (fn % 2 === 1 || fn === sn) {
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
    length++;
  }
  return length;
}

/**
 * RFC 9162 §2.1.3.2 step by step, from a leaf hash. Halving is done with
 * arithmetic rather than `>>` because sizes up to 2^32 overflow 32-bit shifts.
 * The caller compares the returned root with the expected one (step 5).
 * @example rfc9162RootFromPath(rfc9162LeafHash(d1), 1, 2, [rfc9162LeafHash(d0)]) // { root: MTH(d0, d1) }
 */
export function rfc9162RootFromPath(leafHash: Uint8Array, index: number, size: number, path: readonly Uint8Array[]): RootFromPath {
  // Step 1.
  if (index >= size) return { reason: `proof.index ${index} is not below proof.size ${size}` };
  // Steps 2 and 3.
  let fn = index;
  let sn = size - 1;
  let r = leafHash;
  // Step 4.
  for (let k = 0; k < path.length; k++) {
    const p = path[k]!;
    if (sn === 0) return { reason: `proof.path has more than ${k} elements for index ${index} in size ${size}` };
    if (fn % 2 === 1 || fn === sn) {
      r = rfc9162NodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      r = rfc9162NodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // Step 5, first half: every level consumed.
  if (sn !== 0) return { reason: `proof.path has too few elements (${path.length}) for index ${index} in size ${size}` };
  return { root: r };
}
