/**
 * A bounds-checked cursor over Bitcoin's wire serialization (little-endian
 * integers, CompactSize lengths). Reads past the end or non-canonical sizes
 * return `undefined` instead of throwing, because the bytes come from peers.
 */

/** Bitcoin Core's MAX_SIZE for any CompactSize-prefixed length (serialize.h). */
export const MAX_COMPACT_SIZE = 0x02000000;

export class ByteReader {
  private offset = 0;
  constructor(private readonly bytes: Uint8Array) {}

  /** Bytes not yet consumed. */
  get remaining(): number {
    return this.bytes.length - this.offset;
  }

  /** The next `n` bytes (a copy), or `undefined` when fewer remain. */
  take(n: number): Uint8Array | undefined {
    if (n < 0 || n > this.remaining) return undefined;
    const out = this.bytes.slice(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }

  u8(): number | undefined {
    const b = this.take(1);
    return b === undefined ? undefined : b[0];
  }

  u32(): number | undefined {
    const b = this.take(4);
    return b === undefined ? undefined : Buffer.from(b).readUInt32LE(0);
  }

  /**
   * A CompactSize as Core's ReadCompactSize reads it: the shortest encoding only,
   * and no larger than MAX_COMPACT_SIZE.
   */
  compactSize(): number | undefined {
    const first = this.u8();
    if (first === undefined) return undefined;
    let value: number;
    if (first < 0xfd) return first;
    if (first === 0xfd) {
      const b = this.take(2);
      if (b === undefined) return undefined;
      value = Buffer.from(b).readUInt16LE(0);
      if (value < 0xfd) return undefined;
    } else if (first === 0xfe) {
      const v = this.u32();
      if (v === undefined || v < 0x10000) return undefined;
      value = v;
    } else {
      // 0xff prefixes a 64-bit size, canonical only from 2^32: always beyond MAX_COMPACT_SIZE.
      return undefined;
    }
    return value > MAX_COMPACT_SIZE ? undefined : value;
  }
}

/**
 * CompactSize encoding of `n` (the shortest form).
 * @example encodeCompactSize(300) // Uint8Array [0xfd, 0x2c, 0x01]
 */
export function encodeCompactSize(n: number): Uint8Array {
  if (n < 0xfd) return Uint8Array.of(n);
  if (n <= 0xffff) return Uint8Array.of(0xfd, n & 0xff, n >>> 8);
  const out = Buffer.alloc(5);
  out[0] = 0xfe;
  out.writeUInt32LE(n, 1);
  return Uint8Array.from(out);
}
