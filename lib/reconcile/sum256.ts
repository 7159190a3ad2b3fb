/**
 * The additive range hash of docs/ANTI_ENTROPY.md §Fingerprint: each item is a 256-bit
 * number (its id read little-endian, with `ts` XOR-ed into the low 64 bits) and a range
 * is summarised by the sum of its items mod 2^256. Addition is invertible, so a range's
 * sum is the difference of two prefix sums (docs/ANTI_ENTROPY.md §Index: cached sums, O(log n) per range).
 *
 * Accumulators are Float64Array(8) of 32-bit words with carries left pending: a word can
 * absorb 2^21 additions before it could leave the exact-integer range, far more than any
 * caller adds between `normalize` calls.
 */
import { createHash } from "node:crypto";

const WORD = 4294967296;

/**
 * A fresh zero accumulator.
 * @example const acc = zeroSum(); addItems(acc, ts, ids, 0, n, 1)
 */
export function zeroSum(): Float64Array {
  return new Float64Array(8);
}

function word(ids: Uint8Array, o: number): number {
  return ids[o]! + ids[o + 1]! * 256 + ids[o + 2]! * 65536 + ids[o + 3]! * 16777216;
}

/**
 * Adds (sign 1) or subtracts (sign −1) items `[from, to)` of parallel arrays to `acc`.
 * Subtraction adds the two's complement, word by word: (2^32 − 1 − w) plus one per item.
 * @example addItems(acc, tsArray, idBytes, 0, 10, 1)
 */
export function addItems(acc: Float64Array, ts: Float64Array, ids: Uint8Array, from: number, to: number, sign: 1 | -1): void {
  let a0 = acc[0]!, a1 = acc[1]!, a2 = acc[2]!, a3 = acc[3]!, a4 = acc[4]!, a5 = acc[5]!, a6 = acc[6]!, a7 = acc[7]!;
  for (let i = from; i < to; i++) {
    const o = i * 32;
    const t = ts[i]!;
    const tLo = t % WORD;
    const tHi = (t - tLo) / WORD;
    // XOR on two 32-bit words: both operands are < 2^32, so ToInt32 loses nothing.
    const w0 = (word(ids, o) ^ tLo) >>> 0;
    const w1 = (word(ids, o + 4) ^ tHi) >>> 0;
    if (sign === 1) {
      a0 += w0; a1 += w1; a2 += word(ids, o + 8); a3 += word(ids, o + 12);
      a4 += word(ids, o + 16); a5 += word(ids, o + 20); a6 += word(ids, o + 24); a7 += word(ids, o + 28);
    } else {
      a0 += WORD - w0; a1 += WORD - 1 - w1; a2 += WORD - 1 - word(ids, o + 8); a3 += WORD - 1 - word(ids, o + 12);
      a4 += WORD - 1 - word(ids, o + 16); a5 += WORD - 1 - word(ids, o + 20); a6 += WORD - 1 - word(ids, o + 24); a7 += WORD - 1 - word(ids, o + 28);
    }
  }
  acc[0] = a0; acc[1] = a1; acc[2] = a2; acc[3] = a3; acc[4] = a4; acc[5] = a5; acc[6] = a6; acc[7] = a7;
}

/**
 * acc += other (sign 1) or acc −= other (sign −1); `other` must be normalized.
 * @example addSum(acc, prefixSums, block * 8, -1)
 */
export function addSum(acc: Float64Array, other: Float64Array | Uint32Array, offset: number, sign: 1 | -1): void {
  for (let j = 0; j < 8; j++) {
    const w = other[offset + j]!;
    acc[j] = acc[j]! + (sign === 1 ? w : WORD - 1 - w + (j === 0 ? 1 : 0));
  }
}

/**
 * Propagates pending carries, leaving each word below 2^32 (the sum mod 2^256).
 * @example normalize(acc); acc[0] < 2 ** 32 // true
 */
export function normalize(acc: Float64Array): void {
  let carry = 0;
  for (let j = 0; j < 8; j++) {
    const v = acc[j]! + carry;
    const low = v % WORD;
    acc[j] = low;
    carry = (v - low) / WORD;
  }
}

/**
 * The 16-byte fingerprint of a range: first half of sha256(sum as 32 LE bytes ‖ varint(count)).
 * @example fingerprintOf(sum, 3).length // 16
 */
export function fingerprintOf(acc: Float64Array, count: number): Uint8Array {
  normalize(acc);
  const bytes = new Uint8Array(40);
  for (let j = 0; j < 8; j++) {
    let w = acc[j]!;
    for (let k = 0; k < 4; k++) {
      bytes[j * 4 + k] = w % 256;
      w = Math.floor(w / 256);
    }
  }
  let len = 32;
  let c = count;
  while (c >= 128) {
    bytes[len++] = (c % 128) + 128;
    c = Math.floor(c / 128);
  }
  bytes[len++] = c;
  return Uint8Array.from(createHash("sha256").update(bytes.subarray(0, len)).digest().subarray(0, 16));
}
