/**
 * Rateless coded symbols ("cells") of a range (docs/ANTI_ENTROPY.md §Coded symbols), after
 * Yang, Gilad and Alizadeh, *Practical Rateless Set Reconciliation* (SIGCOMM 2024): every item
 * is added to cell 0 and to each later cell i independently with probability 2 / (i + 2), so
 * any prefix of the cell sequence is a usable invertible Bloom lookup table. Subtracting one
 * side's cells from the other's leaves the cells of the symmetric difference, which peeling
 * decodes when about 1.4–2 cells per difference have been sent.
 *
 * A cell holds a count, the XOR of the 32 id bytes, the XOR of `ts − lowerTs` and the XOR of
 * a 64-bit keyed hash of each item (the session seed is the key), which tells a cell holding
 * exactly one item ("pure") from a mixture.
 */
import type { ReconcileIndex, WireKey } from "./reconcile-index.js";

/** Smallest encoded cell: count 1, id 32, ts 1, check 8 bytes. */
export const CELL_MIN_BYTES = 42;
/** Typical encoded cell when counting what cells cost (count and ts of 1–3 bytes each). */
export const CELL_TYPICAL_BYTES = 45;
/** Most cells one range may carry or ask for. */
export const MAX_CELLS = 1 << 20;

const WORD = 4294967296;
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/** Int32 words per cell: 8 of id, ts low and high, check 0 and 1, count, 3 unused (64 bytes, one cache line). */
const STRIDE = 16;
const TS_LO = 8;
const TS_HI = 9;
const CHECK0 = 10;
const CHECK1 = 11;
const COUNT = 12;

/** Cells `[0, m)` of one side, or their difference, in one flat array. */
export class Cells {
  readonly m: number;
  readonly data: Int32Array;

  constructor(m: number) {
    this.m = m;
    this.data = new Int32Array(m * STRIDE);
  }

  /** Net count of cell `i` (a difference may be negative). */
  count(i: number): number {
    return this.data[i * STRIDE + COUNT]!;
  }

  /** The id bytes of cell `i` (a view). */
  idBytes(i: number): Uint8Array {
    return new Uint8Array(this.data.buffer, i * STRIDE * 4, 32);
  }

  /** `ts − lowerTs` XOR-ed over the cell's items, as a number below 2^53. */
  tsValue(i: number): number {
    return (this.data[i * STRIDE + TS_HI]! >>> 0) * WORD + (this.data[i * STRIDE + TS_LO]! >>> 0);
  }

  /** The two check words of cell `i`. */
  check(i: number): [number, number] {
    return [this.data[i * STRIDE + CHECK0]!, this.data[i * STRIDE + CHECK1]!];
  }

  isEmpty(i: number): boolean {
    const b = i * STRIDE;
    for (let k = 0; k <= COUNT; k++) if (this.data[b + k] !== 0) return false;
    return true;
  }
}

/** The session seed as two 32-bit key words. */
export function seedWords(seed: Uint8Array): [number, number] {
  const w = (o: number) => (seed[o]! | (seed[o + 1]! << 8) | (seed[o + 2]! << 16) | (seed[o + 3]! << 24)) | 0;
  return [w(0), w(4)];
}

const swap = (w: number) => ((w & 0xff) << 24) | ((w & 0xff00) << 8) | ((w >>> 8) & 0xff00) | (w >>> 24);

function mixWord(h: number, w: number, m: number): number {
  h = Math.imul(h ^ w, m);
  return (h << 15) | (h >>> 17);
}

function finish(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  return (h ^ (h >>> 16)) | 0;
}

/** Scratch output of `itemHash`: two words. */
const HASH = new Int32Array(2);

/**
 * The keyed 64-bit item hash: id words (read little-endian), ts words, key. Not collision
 * resistant against whoever knows the key; a wrong decode is caught by the checks in `decode`.
 */
function itemHash(ids: Int32Array, o: number, tsLo: number, tsHi: number, k0: number, k1: number): void {
  let a = k0 ^ 0x3c6ef372;
  let b = k1 ^ 0x510e527f;
  for (let k = 0; k < 8; k++) {
    const w = LITTLE_ENDIAN ? ids[o + k]! : swap(ids[o + k]!);
    a = mixWord(a, w, 0x2d51cc9e | 1);
    b = mixWord(b, w ^ a, 0x1b873593);
  }
  a = mixWord(a, tsLo, 0x2d51cc9e | 1);
  b = mixWord(b, tsHi ^ a, 0x1b873593);
  HASH[0] = finish(a ^ 40);
  HASH[1] = finish(b ^ Math.imul(a, 0x9e3779b1));
}

/**
 * The cell after `i` that an item with generator state `x` joins: the smallest k > i with
 * (k + 1)(k + 2) > (i + 1)(i + 2) / u, u uniform in (0, 1), which makes the item join each
 * cell k independently with probability 2 / (k + 2) (the chance of skipping cells i+1 … k is
 * the product of k'/(k' + 2), which telescopes to (i + 1)(i + 2) / ((k + 1)(k + 2))).
 */
function nextCell(i: number, x: number): number {
  const u = (x >>> 0) / WORD;
  const k = Math.floor(Math.sqrt(((i + 1) * (i + 2)) / u + 0.25) - 1.5) + 1;
  return k > i ? k : i + 1;
}

/** xorshift32 (Marsaglia 2003) step: the per-item generator of cell indexes; never 0 from a non-zero state. */
function step(x: number): number {
  x ^= x << 13;
  x ^= x >>> 17;
  return x ^ (x << 5);
}

/** XORs one item's words into cell i and adds `sign` to its count. */
function xorInto(cells: Cells, i: number, ids: Int32Array, o: number, tsLo: number, tsHi: number, c0: number, c1: number, sign: number): void {
  const d = cells.data;
  const b = i * STRIDE;
  d[b] = d[b]! ^ ids[o]!;
  d[b + 1] = d[b + 1]! ^ ids[o + 1]!;
  d[b + 2] = d[b + 2]! ^ ids[o + 2]!;
  d[b + 3] = d[b + 3]! ^ ids[o + 3]!;
  d[b + 4] = d[b + 4]! ^ ids[o + 4]!;
  d[b + 5] = d[b + 5]! ^ ids[o + 5]!;
  d[b + 6] = d[b + 6]! ^ ids[o + 6]!;
  d[b + 7] = d[b + 7]! ^ ids[o + 7]!;
  d[b + TS_LO] = d[b + TS_LO]! ^ tsLo;
  d[b + TS_HI] = d[b + TS_HI]! ^ tsHi;
  d[b + CHECK0] = d[b + CHECK0]! ^ c0;
  d[b + CHECK1] = d[b + CHECK1]! ^ c1;
  d[b + COUNT] = d[b + COUNT]! + sign;
}

/** Adds (sign 1) or removes (sign −1) one item, given as id words at `o` and ts words, to cells `[0, m)`. */
function apply(cells: Cells, ids: Int32Array, o: number, tsLo: number, tsHi: number, sign: number, k0: number, k1: number): void {
  itemHash(ids, o, tsLo, tsHi, k0, k1);
  const c0 = HASH[0]!;
  const c1 = HASH[1]!;
  let x = c1 === 0 ? 0x6a09e667 : c1;
  const m = cells.m;
  for (let i = 0; i < m; ) {
    xorInto(cells, i, ids, o, tsLo, tsHi, c0, c1, sign);
    x = step(x);
    i = nextCell(i, x);
  }
}

/**
 * The first `m` cells of the items at positions `[p, q)` of `index`, ts taken relative to `lowerTs`.
 * @example const mine = cellsOf(index, 0, index.size, 0, 12, seed)
 */
export function cellsOf(index: ReconcileIndex, p: number, q: number, lowerTs: number, m: number, seed: Uint8Array): Cells {
  const building = cellsInSlices(index, p, q, lowerTs, m, seed, Number.POSITIVE_INFINITY);
  for (;;) {
    const r = building.next();
    if (r.done === true) return r.value;
  }
}

/**
 * `cellsOf`, pausing (one `yield`) after every `sliceItems` items, so that the cells of a range
 * of 10^5 items are not computed in one piece
 * (docs/FEDERATION_PROTOCOL.md §Answering without holding the event loop).
 * @example const cells = yield* cellsInSlices(index, 0, index.size, 0, 26, seed, 2000)
 */
export function* cellsInSlices(index: ReconcileIndex, p: number, q: number, lowerTs: number, m: number, seed: Uint8Array, sliceItems: number): Generator<void, Cells> {
  const [k0, k1] = seedWords(seed);
  const cells = new Cells(m);
  const ids = index.idWords();
  if (m === 0) return cells;
  for (let pos = p; pos < q; pos++) {
    const t = index.tsAt(pos) - lowerTs;
    const lo = t % WORD;
    apply(cells, ids, pos * 8, lo | 0, ((t - lo) / WORD) | 0, 1, k0, k1);
    if ((pos - p + 1) % sliceItems === 0 && pos + 1 < q) yield;
  }
  return cells;
}

/** Cells whose content came off the wire, in encoded form. */
export interface WireCell {
  count: number;
  id: Uint8Array;
  ts: number;
  check: Uint8Array;
}

/**
 * Wire cells as a `Cells`, so that `decode` can subtract them.
 * @example fromWire(body.cells)
 */
export function fromWire(cells: readonly WireCell[]): Cells {
  const out = new Cells(cells.length);
  const bytes = new Uint8Array(out.data.buffer);
  const d = out.data;
  cells.forEach((c, i) => {
    const b = i * STRIDE;
    bytes.set(c.id, b * 4);
    const lo = c.ts % WORD;
    d[b + TS_LO] = lo | 0;
    d[b + TS_HI] = ((c.ts - lo) / WORD) | 0;
    d[b + CHECK0] = (c.check[0]! | (c.check[1]! << 8) | (c.check[2]! << 16) | (c.check[3]! << 24)) | 0;
    d[b + CHECK1] = (c.check[4]! | (c.check[5]! << 8) | (c.check[6]! << 16) | (c.check[7]! << 24)) | 0;
    d[b + COUNT] = c.count;
  });
  return out;
}

/**
 * Cells in wire form (copies).
 * @example toWire(cellsOf(index, p, q, lowerTs, 8, seed))
 */
export function toWire(cells: Cells): WireCell[] {
  const out: WireCell[] = new Array(cells.m);
  for (let i = 0; i < cells.m; i++) {
    const check = new Uint8Array(8);
    const [c0, c1] = cells.check(i);
    for (let k = 0; k < 4; k++) {
      check[k] = (c0 >>> (8 * k)) & 0xff;
      check[4 + k] = (c1 >>> (8 * k)) & 0xff;
    }
    out[i] = { count: cells.count(i), id: cells.idBytes(i).slice(), ts: cells.tsValue(i), check };
  }
  return out;
}

export type DecodeResult =
  /** `mine`: own positions the peer lacks; `theirs`: the peer's items this side lacks. */
  | { ok: true; mine: number[]; theirs: WireKey[] }
  /** `inconsistent`: the cells cannot come from an honest peer holding a fixed set (fall back); otherwise more cells may decode. */
  | { ok: false; inconsistent: boolean; reason: string; estimate: number };

/**
 * Subtracts own cells from the peer's and peels the difference. Work is bounded by
 * O(m log m): at most 2m + 2 items are recovered before the cells are declared inconsistent.
 * @example decode(theirs, index, p, q, lowerTs, seed, (key) => inRange(key))
 */
export function decode(theirs: Cells, index: ReconcileIndex, p: number, q: number, lowerTs: number, seed: Uint8Array, inRange: (key: WireKey) => boolean): DecodeResult {
  const m = theirs.m;
  const [k0, k1] = seedWords(seed);
  const fail = (reason: string): DecodeResult => ({ ok: false, inconsistent: true, reason, estimate: 0 });
  // The peer's own cells: counts never negative, and no cell holds more than cell 0.
  for (let i = 0; i < m; i++) if (theirs.count(i) < 0 || theirs.count(i) > theirs.count(0)) return fail(`cell ${i} count ${theirs.count(i)} is impossible`);
  const diff = cellsOf(index, p, q, lowerTs, m, seed);
  const d = diff.data;
  const t = theirs.data;
  // diff = theirs − own: XOR every word, then make the count a difference.
  for (let j = 0; j < d.length; j++) d[j] = d[j]! ^ t[j]!;
  for (let i = 0; i < m; i++) {
    const c = i * STRIDE + COUNT;
    d[c] = t[c]! - (d[c]! ^ t[c]!);
  }
  let empty = 0;
  for (let i = 0; i < m; i++) if (diff.isEmpty(i)) empty++;

  const mine: number[] = [];
  const found: WireKey[] = [];
  const seenOwn = new Set<number>();
  const seenTheirs = new Set<string>();
  const stack: number[] = [];
  for (let i = 0; i < m; i++) if (Math.abs(diff.count(i)) === 1) stack.push(i);
  const words = new Int32Array(8);
  while (stack.length > 0) {
    const i = stack.pop()!;
    const b = i * STRIDE;
    const sign = d[b + COUNT]!;
    if (sign !== 1 && sign !== -1) continue;
    const tsLo = d[b + TS_LO]!;
    const tsHi = d[b + TS_HI]!;
    words.set(d.subarray(b, b + 8));
    itemHash(words, 0, tsLo, tsHi, k0, k1);
    if (HASH[0] !== d[b + CHECK0] || HASH[1] !== d[b + CHECK1]) continue; // a mixture, not one item
    // The item must join cell i by its own index sequence.
    const c0 = HASH[0]!;
    const c1 = HASH[1]!;
    let x = c1 === 0 ? 0x6a09e667 : c1;
    let at = 0;
    while (at < i) {
      x = step(x);
      at = nextCell(at, x);
    }
    if (at !== i) continue;
    const key: WireKey = { ts: lowerTs + (tsHi >>> 0) * WORD + (tsLo >>> 0), id: new Uint8Array(words.buffer).slice() };
    if (!Number.isSafeInteger(key.ts)) return fail("a decoded item has a ts beyond 2^53 - 1");
    if (mine.length + found.length >= 2 * m + 2) return fail(`more than ${2 * m + 2} items decoded from ${m} cells`);
    const pos = index.lowerBound(key);
    const held = pos < index.size && index.compareAt(pos, key) === 0;
    if (sign === -1) {
      // Ours, lacking on the peer's side: must be one of our items in this range, once.
      if (!held || pos < p || pos >= q) return fail("a decoded item of ours is not ours");
      if (seenOwn.has(pos)) return fail("an item decoded twice");
      seenOwn.add(pos);
      mine.push(pos);
    } else {
      if (held || !inRange(key)) return fail("a decoded item of the peer's is held here or lies outside the range");
      const name = `${key.ts} ${Buffer.from(key.id).toString("hex")}`;
      if (seenTheirs.has(name)) return fail("an item decoded twice");
      seenTheirs.add(name);
      found.push(key);
    }
    // Peel: take the item out of every cell it joined.
    x = c1 === 0 ? 0x6a09e667 : c1;
    for (let j = 0; j < m; ) {
      xorInto(diff, j, words, 0, tsLo, tsHi, c0, c1, -sign);
      if (Math.abs(d[j * STRIDE + COUNT]!) === 1) stack.push(j);
      x = step(x);
      j = nextCell(j, x);
    }
  }
  for (let i = 0; i < m; i++) {
    if (!diff.isEmpty(i)) return { ok: false, inconsistent: false, reason: `${m} cells did not decode`, estimate: Math.max(estimateDifferences(m, empty), mine.length + found.length + 1) };
  }
  // Counts must agree: the peer's count is ours minus what it lacks plus what we lack.
  if (theirs.count(0) !== q - p - mine.length + found.length) return fail("decoded differences disagree with the peer's count");
  mine.sort((a, b) => a - b);
  return { ok: true, mine, theirs: found };
}

/**
 * The number of differences that best explains `empty` empty cells among the first `m` of a
 * difference (each cell i ≥ 1 is empty with probability (1 − 2/(i + 2))^d): bisection on d.
 * With no empty cell there is only a lower bound; 8m is returned so that the next request grows
 * fast (each request costs a round trip).
 * @example estimateDifferences(40, 10) // about 30
 */
export function estimateDifferences(m: number, empty: number): number {
  if (empty === 0) return 8 * m;
  const expected = (d: number) => {
    let e = 0;
    for (let i = 1; i < m; i++) e += Math.pow(i / (i + 2), d);
    return e;
  };
  let lo = 0;
  let hi = 4 * m + 8;
  for (let k = 0; k < 24; k++) {
    const mid = (lo + hi) / 2;
    if (expected(mid) > empty) lo = mid;
    else hi = mid;
  }
  return Math.max(1, Math.round(hi));
}

/**
 * Cells to send for an estimate of `d` differences: about 1.5 per difference (the paper
 * measures 1.35–1.72 on average) plus a margin that matters for small d.
 * @example cellsFor(1) // 2
 */
export function cellsFor(d: number): number {
  if (d <= 1) return 2;
  return Math.min(MAX_CELLS, Math.ceil(1.5 * d + 3 * Math.sqrt(d) + 1));
}
