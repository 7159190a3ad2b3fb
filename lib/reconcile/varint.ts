/**
 * Byte writer and reader for the reconcile wire format (docs/ANTI_ENTROPY.md §Wire format).
 * Varints are unsigned LEB128 computed with number arithmetic, never 32-bit bit
 * operations, so every safe integer (up to 2^53 − 1) round-trips (docs/ANTI_ENTROPY.md §Varint).
 */

/** Longest varint accepted: 8 bytes carry 56 bits, enough for 2^53 − 1. */
const MAX_VARINT_BYTES = 8;

/** Thrown by `ByteReader` on truncated or non-canonical input; callers turn it into a rejection. */
export class WireError extends Error {
  override name = "WireError";
}

/**
 * Appends bytes to a growing buffer.
 * @example const w = new ByteWriter(); w.varint(300); w.bytes() // Uint8Array [172, 2]
 */
export class ByteWriter {
  #buf = new Uint8Array(256);
  #len = 0;

  get length(): number {
    return this.#len;
  }

  #reserve(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  byte(value: number): void {
    this.#reserve(1);
    this.#buf[this.#len++] = value;
  }

  /** Unsigned LEB128 of a safe non-negative integer. */
  varint(value: number): void {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint: ${value} is not a safe non-negative integer`);
    this.#reserve(MAX_VARINT_BYTES);
    let v = value;
    while (v >= 128) {
      this.#buf[this.#len++] = (v % 128) + 128;
      v = Math.floor(v / 128);
    }
    this.#buf[this.#len++] = v;
  }

  raw(bytes: Uint8Array): void {
    this.#reserve(bytes.length);
    this.#buf.set(bytes, this.#len);
    this.#len += bytes.length;
  }

  /** A copy of what was written. */
  bytes(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

/**
 * Reads what `ByteWriter` wrote; throws `WireError` on anything short or malformed.
 * @example new ByteReader(Uint8Array.of(172, 2)).varint() // 300
 */
export class ByteReader {
  readonly #buf: Uint8Array;
  #pos = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
  }

  get remaining(): number {
    return this.#buf.length - this.#pos;
  }

  byte(): number {
    if (this.#pos >= this.#buf.length) throw new WireError("truncated: expected a byte");
    return this.#buf[this.#pos++]!;
  }

  varint(): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; i < MAX_VARINT_BYTES; i++) {
      const b = this.byte();
      value += (b % 128) * scale;
      if (b < 128) {
        // Canonical form only: a trailing zero byte would give one value two encodings.
        if (b === 0 && i > 0) throw new WireError("non-canonical varint");
        if (!Number.isSafeInteger(value)) throw new WireError("varint exceeds 2^53 - 1");
        return value;
      }
      scale *= 128;
    }
    throw new WireError(`varint longer than ${MAX_VARINT_BYTES} bytes`);
  }

  /** A view of the next `n` bytes (no copy). */
  take(n: number): Uint8Array {
    if (n > this.remaining) throw new WireError(`truncated: expected ${n} bytes, ${this.remaining} left`);
    const out = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  /** A count of items of `itemBytes` each, refused before any allocation if the rest cannot hold them. */
  count(itemBytes: number): number {
    const n = this.varint();
    if (n * itemBytes > this.remaining) throw new WireError(`count ${n} exceeds the ${this.remaining} bytes left`);
    return n;
  }
}
