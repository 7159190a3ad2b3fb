/**
 * RFC 9162 §2.1.3 inclusion and §2.1.4 consistency proofs for an origin log
 * (docs/FEDERATION_PROTOCOL.md §Origin log): built from the hashes of complete subtrees (which
 * tiles store), and verified from bytes alone. Sizes go up to 2^53, so halving is arithmetic
 * rather than `>>`. Verifiers never throw on a peer's proof: they answer with a reason.
 */
import { sha256 } from "../digest.js";
import { ArgumentError } from "../errors.js";
import { rfc9162NodeHash, rfc9162RootFromPath } from "../merkle/rfc9162.js";

/** The hash of any complete subtree of a log, the only thing proofs are built from. */
export interface HashReader {
  /** RFC 6962 hash of the 2^height leaves starting at index × 2^height. */
  subtree(height: number, index: number): Uint8Array | Promise<Uint8Array>;
}

/** The longest proof any log of size ≤ 2^63 can need (tlog-witness allows 63 lines). */
export const MAX_PROOF_HASHES = 63;

/** Largest power of two strictly below n (n ≥ 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function isPowerOfTwo(n: number): boolean {
  let k = 1;
  while (k < n) k *= 2;
  return k === n;
}

function log2(n: number): number {
  let h = 0;
  while (2 ** h < n) h++;
  return h;
}

/** MTH(D[lo:hi]) where lo is a multiple of the largest power of two ≤ hi − lo (as RFC recursion gives). */
async function rangeHash(lo: number, hi: number, reader: HashReader): Promise<Uint8Array> {
  const n = hi - lo;
  if (isPowerOfTwo(n)) return reader.subtree(log2(n), lo / n);
  const k = splitPoint(n);
  return rfc9162NodeHash(await rangeHash(lo, lo + k, reader), await rangeHash(lo + k, hi, reader));
}

function checkSize(name: string, n: number): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new ArgumentError(name, `not a tree size: ${n}`);
}

/**
 * MTH of the first `size` leaves; sha256("") for an empty tree (RFC 9162 §2.1.1).
 * @example await treeHash(3, reader)
 */
export async function treeHash(size: number, reader: HashReader): Promise<Uint8Array> {
  checkSize("size", size);
  return size === 0 ? sha256() : rangeHash(0, size, reader);
}

/**
 * PATH(index, D[size]) of RFC 9162 §2.1.3.1, leaf to root.
 * @example await inclusionProof(2, 5, reader) // 3 hashes
 */
export async function inclusionProof(index: number, size: number, reader: HashReader): Promise<Uint8Array[]> {
  checkSize("size", size);
  if (!Number.isSafeInteger(index) || index < 0 || index >= size) throw new ArgumentError("index", `${index} is not below size ${size}`);
  const path: Uint8Array[] = [];
  // Walk down from the root, then reverse: the proof lists siblings leaf first.
  let lo = 0;
  let hi = size;
  let m = index;
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (m < k) {
      path.push(await rangeHash(lo + k, hi, reader));
      hi = lo + k;
    } else {
      path.push(await rangeHash(lo, lo + k, reader));
      lo += k;
      m -= k;
    }
  }
  return path.reverse();
}

/**
 * PROOF(oldSize, D[newSize]) of RFC 9162 §2.1.4.1; empty when oldSize is 0 or equals newSize.
 * @example await consistencyProof(3, 7, reader)
 */
export async function consistencyProof(oldSize: number, newSize: number, reader: HashReader): Promise<Uint8Array[]> {
  checkSize("oldSize", oldSize);
  checkSize("newSize", newSize);
  if (oldSize > newSize) throw new ArgumentError("oldSize", `${oldSize} exceeds newSize ${newSize}`);
  if (oldSize === 0 || oldSize === newSize) return [];
  const out: Uint8Array[] = [];
  // SUBPROOF(m, D[lo:hi], b), unrolled: each step adds one sibling hash, collected root first.
  let lo = 0;
  let hi = newSize;
  let m = oldSize;
  let b = true;
  for (;;) {
    const n = hi - lo;
    if (m === n) {
      if (!b) out.push(await rangeHash(lo, hi, reader));
      break;
    }
    const k = splitPoint(n);
    if (m <= k) {
      out.push(await rangeHash(lo + k, hi, reader));
      hi = lo + k;
    } else {
      out.push(await rangeHash(lo, lo + k, reader));
      lo += k;
      m -= k;
      b = false;
    }
  }
  return out.reverse();
}

export type ProofCheck = { outcome: "verified" } | { outcome: "rejected"; reason: string };

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/**
 * RFC 9162 §2.1.3.2: whether `proof` takes `leafHash` at `index` to `root` of a tree of `size`.
 * @example verifyInclusion(rfc9162LeafHash(entry), 2, 5, proof, root).outcome // "verified"
 */
export function verifyInclusion(leafHash: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): ProofCheck {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0) return { outcome: "rejected", reason: `index ${index} or size ${size} is not a whole number` };
  if (proof.length > MAX_PROOF_HASHES || proof.some((h) => h.length !== 32) || leafHash.length !== 32) return { outcome: "rejected", reason: "the proof is not a list of at most 63 hashes of 32 bytes" };
  const r = rfc9162RootFromPath(leafHash, index, size, proof);
  if ("reason" in r) return { outcome: "rejected", reason: r.reason };
  return equal(r.root, root) ? { outcome: "verified" } : { outcome: "rejected", reason: "the inclusion proof does not lead to the root hash" };
}

/**
 * RFC 9162 §2.1.4.2: whether `proof` shows the tree of `oldSize` with `oldRoot` is a prefix of
 * the tree of `newSize` with `newRoot`. An old size of 0 needs an empty proof (tlog-witness).
 * @example verifyConsistency(3, 7, proof, oldRoot, newRoot).outcome // "verified"
 */
export function verifyConsistency(oldSize: number, newSize: number, proof: readonly Uint8Array[], oldRoot: Uint8Array, newRoot: Uint8Array): ProofCheck {
  const no = (reason: string): ProofCheck => ({ outcome: "rejected", reason });
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize) || oldSize < 0) return no("a size is not a whole number");
  if (oldSize > newSize) return no(`old size ${oldSize} exceeds new size ${newSize}`);
  if (proof.length > MAX_PROOF_HASHES || proof.some((h) => h.length !== 32)) return no("the proof is not a list of at most 63 hashes of 32 bytes");
  if (oldSize === newSize) {
    if (proof.length > 0) return no("a proof between equal sizes must be empty");
    return equal(oldRoot, newRoot) ? { outcome: "verified" } : no(`two different root hashes for size ${newSize}`);
  }
  if (oldSize === 0) return proof.length === 0 ? { outcome: "verified" } : no("a proof from the empty tree must be empty");
  if (proof.length === 0) return no("the consistency proof is empty");
  // Step 1: a power-of-two old tree is itself the first node of the path.
  const path = isPowerOfTwo(oldSize) ? [oldRoot, ...proof] : [...proof];
  // Steps 2-3.
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (fn % 2 === 1) {
    fn = (fn - 1) / 2;
    sn = Math.floor(sn / 2);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  // Step 6.
  for (let i = 1; i < path.length; i++) {
    const c = path[i]!;
    if (sn === 0) return no(`the consistency proof has more than ${i} hashes`);
    if (fn % 2 === 1 || fn === sn) {
      fr = rfc9162NodeHash(c, fr);
      sr = rfc9162NodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = rfc9162NodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  // Step 7.
  if (sn !== 0) return no(`the consistency proof has too few hashes (${proof.length})`);
  if (!equal(fr, oldRoot)) return no(`the consistency proof does not lead to the old root hash (size ${oldSize})`);
  if (!equal(sr, newRoot)) return no(`the consistency proof does not lead to the new root hash (size ${newSize})`);
  return { outcome: "verified" };
}
