/**
 * Receipts that are exactly a whole batch version's leaves (docs/STATE.md §Leaves form): when a
 * peer or the upstream sealer's files send every receipt of a version with its path, and each
 * path is, node for node, the one the rebuilt tree derives, the version can be kept as its
 * leaves and reads back as the very receipts that were imported. Anything a file of leaves could
 * not give back the same way keeps the receipts form.
 */
import type { Checkpoint } from "../messages/checkpoint.js";
import type { Receipt } from "../receipt.js";

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
 * version `checkpoint` signs and keeping them as leaves loses nothing; undefined otherwise.
 * The caller has checked every receipt (`checkReceipts`: namespace, batch, root, `ts`, the
 * checkpoint's tree and size) and `pathsMatched` says how many of them were accepted because
 * their path equals the rebuilt tree's (lib/merkle/batch-verify.ts `matched`). Required here:
 * all of them, one receipt per index 0..size−1, no event hash twice (a file of leaves reads a
 * repeated hash as one receipt at its first leaf), and nothing but a receipt's own keys in the
 * derived order (an extra member, or another order, would not read back byte for byte).
 * @example receiptsAsLeaves(good, checkpoint, inclusion.matched) // "q0…=" or undefined
 */
export function receiptsAsLeaves(receipts: readonly Receipt[], checkpoint: Checkpoint, pathsMatched: number): string | undefined {
  const size = checkpoint.size;
  if (receipts.length !== size || pathsMatched !== size) return undefined;
  const bytes = Buffer.alloc(size * 32);
  const placed = new Uint8Array(size);
  const ids = new Set<string>();
  for (const r of receipts) {
    const p = r.proof;
    if (!sameKeys(r, RECEIPT_KEYS) || !sameKeys(p, PROOF_KEYS)) return undefined;
    if (r.ts !== checkpoint.createdAt || p.tree !== checkpoint.tree || p.size !== size || r.batchRoot !== checkpoint.batchRoot || r.batchId !== checkpoint.batchId || r.namespace !== checkpoint.namespace) return undefined;
    if (!Number.isSafeInteger(p.index) || p.index < 0 || p.index >= size || placed[p.index] === 1) return undefined;
    if (ids.has(r.id)) return undefined;
    ids.add(r.id);
    placed[p.index] = 1;
    // id === eventHash, a lower-case sha256:<64 hex> digest (checked by the inclusion verdict).
    if (r.eventHash.length !== 71 || bytes.write(r.eventHash.slice(7), p.index * 32, 32, "hex") !== 32) return undefined;
  }
  return bytes.toString("base64");
}
