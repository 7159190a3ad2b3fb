/**
 * A merkle branch as Esplora's `/tx/:txid/merkle-proof` gives it (sibling hashes
 * bottom-up and the tx's position), folded up to the block's merkle root.
 * Bitcoin's tree pairs an odd level's last node with itself, so a left node whose
 * sibling equals it is legitimate; a right node equal to its left sibling only
 * occurs in a mutated tree (CVE-2012-2459) and is refused.
 */
import { sha256d } from "./hash-order.js";

/**
 * The root reached from `leaf` (internal order) through `branch` (internal order,
 * bottom-up) at position `pos`; `undefined` when `pos` does not fit the branch length
 * or a right node equals its left sibling.
 * @example foldMerkleBranch(txid, [sibling], 1) // sha256d(sibling || txid)
 */
export function foldMerkleBranch(leaf: Uint8Array, branch: readonly Uint8Array[], pos: number): Uint8Array | undefined {
  if (!Number.isSafeInteger(pos) || pos < 0 || pos >= 2 ** branch.length) return undefined;
  let hash = leaf;
  let index = pos;
  for (const sibling of branch) {
    if (index % 2 === 1 && Buffer.from(sibling).equals(hash)) return undefined;
    hash = index % 2 === 1 ? sha256d(sibling, hash) : sha256d(hash, sibling);
    index = Math.floor(index / 2);
  }
  return hash;
}
