/**
 * Ed25519 public keys that bind no one (docs/FEDERATION_OPERATIONS.md §peers.yaml): the points
 * of small order and non-canonical encodings. With such a "key" a signature of R = that point
 * and S = 0 verifies for every message (order 1) or one message in 2, 4 or 8, so anyone could
 * have signed. Ed25519 verification in node is cofactorless and does not refuse them itself.
 */

/**
 * The y coordinates (sign bit cleared, little-endian hex) of the Ed25519 points of order 1, 2,
 * 4 and 8, and the non-canonical encodings p and p+1 of two of them.
 */
const SMALL_ORDER_Y = new Set([
  "0100000000000000000000000000000000000000000000000000000000000000",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
]);

/**
 * Why the 32 bytes `raw` cannot be a key that binds its holder, or undefined.
 * @example weakKeyProblem(new Uint8Array(32)) // "is a point of small order: …"
 */
export function weakKeyProblem(raw: Uint8Array): string | undefined {
  const y = Buffer.from(raw);
  y[31] = y[31]! & 0x7f;
  if (SMALL_ORDER_Y.has(y.toString("hex"))) return "is a point of small order: signatures under it can be made without any private key";
  // y ≥ p = 2^255 − 19: not the canonical encoding of any point.
  if (y[31] === 0x7f && y.subarray(1, 31).every((b) => b === 0xff) && y[0]! >= 0xed) return "is not a canonical Ed25519 point encoding";
  return undefined;
}
