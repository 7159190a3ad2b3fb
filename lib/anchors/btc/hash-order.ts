/**
 * Bitcoin's two byte orders for a 32-byte hash, and its double SHA-256.
 * Hashes travel in "internal" order inside headers, trees and transactions, and
 * are shown reversed ("display" order) by Bitcoin Core, Esplora and block explorers.
 */
import { createHash } from "node:crypto";
import { ArgumentError } from "../../errors.js";

const HASH_HEX = /^[0-9a-fA-F]{64}$/;

/**
 * True when `value` is 64 hex digits (a txid or block hash as displayed).
 * @example isHashHex("ab".repeat(32)) // true
 */
export function isHashHex(value: unknown): value is string {
  return typeof value === "string" && HASH_HEX.test(value);
}

/**
 * SHA-256 applied twice, Bitcoin's hash for headers, transactions and merkle nodes.
 * @example sha256d(new Uint8Array(0)).length // 32
 */
export function sha256d(...parts: Uint8Array[]): Uint8Array {
  const inner = createHash("sha256");
  for (const p of parts) inner.update(p);
  return Uint8Array.from(createHash("sha256").update(inner.digest()).digest());
}

/**
 * Display hex (as `getrawtransaction` and explorers show it) of an internal-order hash.
 * @example toDisplayHex(new Uint8Array(32).fill(0).map((_, i) => i)).slice(0, 2) // "1f"
 */
export function toDisplayHex(internal: Uint8Array): string {
  return Buffer.from(internal).reverse().toString("hex");
}

/**
 * Internal-order bytes of a display-hex hash; throws `ArgumentError` naming `parameter`
 * when `hex` is not 64 hex digits (callers validate peer data with `isHashHex` first).
 * @example fromDisplayHex("00".repeat(31) + "01")[0] // 1
 */
export function fromDisplayHex(hex: string, parameter = "hash"): Uint8Array {
  if (!isHashHex(hex)) throw new ArgumentError(parameter, `expected 64 hex digits, got ${JSON.stringify(String(hex).slice(0, 80))}`);
  return Uint8Array.from(Buffer.from(hex, "hex").reverse());
}
