/**
 * Item-level pieces of a reconcile step (docs/ANTI_ENTROPY.md): the shortest bound between
 * two adjacent items, checks on a peer's item lists, and short ids.
 */
import type { ReceiptKey } from "../store/types.js";
import { compareWireKeys, MAX_SHORT_BYTES, MIN_SHORT_BYTES } from "./payload.js";
import type { ReconcileIndex, WireKey } from "./reconcile-index.js";

/** A peer broke the protocol; `Step.answer` turns it into `{ ok: false, reason }`. */
export class ProtocolViolation extends Error {}

/**
 * A wire key as the store's `ReceiptKey`.
 * @example toReceiptKey({ ts: 1, id: new Uint8Array(32) }).id // "sha256:000…0"
 */
export function toReceiptKey(k: WireKey): ReceiptKey {
  return { ts: k.ts, id: `sha256:${Buffer.from(k.id).toString("hex")}` };
}

/**
 * Shortest bound b with item[s − 1] < b ≤ item[s] (docs/ANTI_ENTROPY.md §Items and order).
 * @example boundBefore(index, 16) // { ts: 1732000000, id: Uint8Array [0x4f] }
 */
export function boundBefore(index: ReconcileIndex, s: number): WireKey {
  const ts = index.tsAt(s);
  if (index.tsAt(s - 1) !== ts) return { ts, id: new Uint8Array(0) };
  const a = index.idAt(s - 1);
  const b = index.idAt(s);
  let k = 0;
  while (a[k] === b[k]) k++;
  return { ts, id: b.slice(0, k + 1) };
}

/**
 * A copy of the item at `pos`, safe to keep after the index changes.
 * @example ownKey(index, 0) // { ts, id: Uint8Array(32) }
 */
export function ownKey(index: ReconcileIndex, pos: number): WireKey {
  return { ts: index.tsAt(pos), id: index.idAt(pos).slice() };
}

/**
 * Throws `ProtocolViolation` unless a peer's item list lies in [lo, hi) in strictly increasing order.
 * @example checkItems(body.items, lo, hi, "items")
 */
export function checkItems(items: readonly WireKey[], lo: WireKey, hi: WireKey | null, what: string): void {
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    if (compareWireKeys(it, lo) < 0 || (hi !== null && compareWireKeys(it, hi) >= 0)) throw new ProtocolViolation(`${what}: item ${i} lies outside its range`);
    if (i > 0 && compareWireKeys(items[i - 1]!, it) >= 0) throw new ProtocolViolation(`${what}: items not strictly increasing at ${i}`);
  }
}

/**
 * Short-id width for a list of `count`: a chance collision inside it stays below about 2^-20, up to six bytes.
 * @example shortWidth(24) // 4
 */
export function shortWidth(count: number): number {
  const bytes = Math.ceil((2 * Math.log2(Math.max(count, 2)) + 19) / 8);
  return Math.min(MAX_SHORT_BYTES, Math.max(MIN_SHORT_BYTES, bytes));
}

/**
 * A short id as an exact number (width ≤ 6 bytes, big-endian).
 * @example shortValue(Uint8Array.of(1, 2, 3, 4), 0, 4) // 0x01020304
 */
export function shortValue(bytes: Uint8Array, offset: number, width: number): number {
  let v = 0;
  for (let k = 0; k < width; k++) v = v * 256 + bytes[offset + k]!;
  return v;
}

/**
 * The positions p, p + 1, …, q − 1.
 * @example positions(2, 5) // [2, 3, 4]
 */
export function positions(p: number, q: number): number[] {
  const out: number[] = new Array(q - p);
  for (let i = p; i < q; i++) out[i - p] = i;
  return out;
}

/**
 * Byte-wise equality.
 * @example equalBytes(Uint8Array.of(1), Uint8Array.of(1)) // true
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
