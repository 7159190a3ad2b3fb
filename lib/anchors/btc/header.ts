/**
 * The 80-byte Bitcoin block header: its fields and its hash (double SHA-256 of
 * the 80 bytes). Parsing never throws; a wrong length is `undefined`.
 */
import { sha256d, toDisplayHex } from "./hash-order.js";

export const HEADER_LENGTH = 80;

export interface BlockHeader {
  version: number;
  /** Internal byte order. */
  prevHash: Uint8Array;
  /** Internal byte order. */
  merkleRoot: Uint8Array;
  time: number;
  /** Compact target ("nBits"). */
  bits: number;
  nonce: number;
  /** Internal byte order: sha256d of the 80 bytes. */
  hash: Uint8Array;
  /** The header bytes themselves. */
  raw: Uint8Array;
}

/**
 * Splits an 80-byte header into its fields and computes its hash.
 * @example parseBlockHeader(new Uint8Array(80))?.bits // 0
 */
export function parseBlockHeader(bytes: Uint8Array): BlockHeader | undefined {
  if (bytes.length !== HEADER_LENGTH) return undefined;
  const b = Buffer.from(bytes);
  return {
    version: b.readInt32LE(0),
    prevHash: Uint8Array.from(b.subarray(4, 36)),
    merkleRoot: Uint8Array.from(b.subarray(36, 68)),
    time: b.readUInt32LE(68),
    bits: b.readUInt32LE(72),
    nonce: b.readUInt32LE(76),
    hash: sha256d(bytes),
    raw: Uint8Array.from(bytes),
  };
}

/**
 * The block hash in display hex, as `getblockhash` prints it.
 * @example blockHashHex(header) // "0000000000013b8a…"
 */
export function blockHashHex(header: BlockHeader): string {
  return toDisplayHex(header.hash);
}
