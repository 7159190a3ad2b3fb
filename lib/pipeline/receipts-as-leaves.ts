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
  const placed = new Uint8Array(size);
  const ids = new Set<string>();
  for (const r of receipts) {
    if (shapeProblem(r) !== undefined) return undefined;
    const p = r.proof;
    if (!sameKeys(r, RECEIPT_KEYS) || !sameKeys(p, PROOF_KEYS)) return undefined;
    if (r.ts !== checkpoint.createdAt || p.tree !== checkpoint.tree || p.size !== size || r.batchRoot !== checkpoint.batchRoot || r.batchId !== checkpoint.batchId || r.namespace !== checkpoint.namespace) return undefined;
    if (placed[p.index] === 1 || ids.has(r.id)) return undefined;
    ids.add(r.id);
    placed[p.index] = 1;
    // shapeProblem: id === eventHash, a lower-case sha256:<64 hex> digest; 0 ≤ index < size.
    bytes.write(r.eventHash.slice(7), p.index * 32, 32, "hex");
  }
  const text = bytes.toString("base64");
  const tree = checkedLeafTree(text, checkpoint);
  if (typeof tree === "string") return undefined;
  for (const r of receipts) if (!tree.samePath(r.proof.index, r.proof.path)) return undefined;
  return text;
}
