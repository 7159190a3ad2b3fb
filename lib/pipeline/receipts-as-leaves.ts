/**
 * Receipts that are exactly a whole batch version's leaves (docs/STATE.md §Leaves form): when a
 * peer or the upstream sealer's files send every receipt of a version with its path, and each
 * path is, node for node, the one the rebuilt tree derives, the version can be kept as its
 * leaves and reads back as the very receipts that were imported. Anything a file of leaves could
 * not give back the same way keeps the receipts form.
 */
import { shapeProblem } from "../merkle/verify.js";
import type { Checkpoint } from "../messages/checkpoint.js";
import type { Receipt } from "../receipt.js";
import { rememberLeafIndexes } from "../store/file-receipts.js";
import { checkedLeafTree } from "../store/leaves.js";

/** A receipt's own keys, in the order the leaves form derives them (lib/store/leaves.ts `leafReceipt`). */
const RECEIPT_KEYS = ["id", "namespace", "batchId", "batchRoot", "eventHash", "ts", "proof"] as const;
const PROOF_KEYS = ["tree", "index", "size", "path"] as const;

function sameKeys(value: object, keys: readonly string[]): boolean {
  const own = Object.keys(value);
  if (own.length !== keys.length) return false;
  for (let i = 0; i < keys.length; i++) if (own[i] !== keys[i]) return false;
  return true;
}

/**
 * The leaves text (base64 of the event hashes in leaf order) of `receipts` when they are the whole
 * version `checkpoint` signs, every one includes under it, and keeping them as leaves loses
 * nothing; undefined otherwise (then the caller checks them one by one as before). Required: one
 * receipt per index 0..size−1, each of the checkpoint's namespace, batch id, root, sealing time,
 * tree and size, well formed (`shapeProblem`), no event hash twice (a file of leaves reads a
 * repeated hash as one receipt at its first leaf), nothing but a receipt's own keys in the derived
 * order (an extra member, or another order, would not read back byte for byte); then the tree is
 * rebuilt once by the store's own check (`checkedLeafTree`: it must give the checkpoint's root, and
 * storing these leaves right after does not hash them again) and every path must be, element for
 * element, the path of its index in that tree. That is what `verifyBatchInclusion` accepts without
 * walking a path (lib/merkle/batch-verify.ts), so every verdict is `{ ok: true }` either way.
 * @example wholeVersionLeaves(receipts, checkpoint) // "q0…=" or undefined
 */
export function wholeVersionLeaves(receipts: readonly Receipt[], checkpoint: Checkpoint): string | undefined {
  const size = checkpoint.size;
  if (receipts.length !== size) return undefined;
  const bytes = Buffer.alloc(size * 32);
  // The event hash at each index; once all are placed, the same in leaf order, by id.
  const byIndex = new Array<string | undefined>(size);
  for (const r of receipts as readonly unknown[]) {
    // Well formed as verifyInclusion asks (`shapeProblem`: id === eventHash, lower-case digests,
    // 0 ≤ index < size, a path array), with nothing but a receipt's own keys in the derived order.
    if (shapeProblem(r) !== undefined || !sameKeys(r as object, RECEIPT_KEYS) || !sameKeys((r as Receipt).proof, PROOF_KEYS)) return undefined;
    const { eventHash, ts, batchRoot, batchId, namespace, proof: p } = r as Receipt;
    const { index } = p;
    if (ts !== checkpoint.createdAt || p.tree !== checkpoint.tree || p.size !== size || batchRoot !== checkpoint.batchRoot || batchId !== checkpoint.batchId || namespace !== checkpoint.namespace) return undefined;
    if (byIndex[index] !== undefined) return undefined;
    byIndex[index] = eventHash;
    bytes.write(eventHash.slice(7), index * 32, 32, "hex");
  }
  // size receipts at size distinct indexes: every index is placed. No event hash twice: fewer ids than leaves.
  const indexes = new Map<string, number>();
  for (let i = 0; i < size; i++) indexes.set(byIndex[i]!, i);
  if (indexes.size !== size) return undefined;
  const text = bytes.toString("base64");
  const tree = checkedLeafTree(text, checkpoint);
  if (typeof tree === "string") return undefined;
  for (const r of receipts) if (!tree.samePath(r.proof.index, r.proof.path)) return undefined;
  // The leaves' ids are these receipts' event hashes (lower-case hex, as the leaves read back), in
  // leaf order and distinct: the store's merge and index, reading the same leaves, need not decode them.
  rememberLeafIndexes(text, indexes);
  return text;
}
