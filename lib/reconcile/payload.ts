/**
 * The binary payload of one namespace in one reconcile message (docs/ANTI_ENTROPY.md
 * §Wire format): a header, then ranges that tile the key space from −∞ upwards, each an
 * upper bound followed by a mode and its body. Decoding never throws: bad bytes become
 * `{ ok: false, reason }`.
 */
import { CELL_MIN_BYTES, MAX_CELLS, type WireCell } from "./cells.js";
import type { WireKey } from "./reconcile-index.js";
import { ByteReader, ByteWriter, WireError } from "./varint.js";

/** The first payload version: what 0.1.0 reads and writes. */
export const PAYLOAD_VERSION = 1;
/** Adds coded symbols (`cells`, `more`) and a session seed in the header (docs/ANTI_ENTROPY.md §Versions). */
export const PAYLOAD_VERSION_CELLS = 2;
export const SEED_BYTES = 8;
const MAX_CELL_COUNT = 2 ** 31 - 1;
/** Narrowest and widest short id, bytes (docs/ANTI_ENTROPY.md §Algorithm, "Short ids"). */
export const MIN_SHORT_BYTES = 4;
/** Six bytes keep a short id an exact JavaScript number; longer lists rely on the matched-set check (docs/ANTI_ENTROPY.md §Algorithm). */
export const MAX_SHORT_BYTES = 6;
export const FINGERPRINT_BYTES = 16;
/** Largest session offset of the short-id window inside the 32 id bytes. */
export const MAX_SHORT_OFFSET = 32 - MAX_SHORT_BYTES;

export const MODE = { skip: 0, fingerprint: 1, ids: 2, prefixes: 3, diff: 4, items: 5, verdict: 6, cells: 7, more: 8 } as const;

export type RangeBody =
  | { mode: "skip" }
  | { mode: "fingerprint"; count: number; fingerprint: Uint8Array }
  /** All the sender's items in the range, in full: the receiver answers with `verdict`. */
  | { mode: "ids"; items: WireKey[] }
  /** Short ids of all the sender's items in the range, in order: the receiver answers with `diff`. */
  | { mode: "prefixes"; count: number; width: number; shorts: Uint8Array }
  /**
   * Answer to `prefixes`: bit i set = the sender lacks short i; `items` = the sender's items the other
   * lacks; `matched` = fingerprint of the sender's other items, so a short-id collision cannot go unseen.
   */
  | { mode: "diff"; bits: number; bitmap: Uint8Array; matched: Uint8Array; items: WireKey[] }
  /** The sender's items that the receiver lacks, in full: no answer. */
  | { mode: "items"; items: WireKey[] }
  /** Answer to `ids`, laid out like `diff` (bit i set = the sender lacks listed item i): no answer. */
  | { mode: "verdict"; bits: number; bitmap: Uint8Array; items: WireKey[] }
  /** Version 2: the sender's first cells of the range (docs/ANTI_ENTROPY.md §Coded symbols); the receiver decodes. */
  | { mode: "cells"; cells: WireCell[] }
  /** Version 2: "send me your first `count` cells of this range" (the previous ones did not decode). */
  | { mode: "more"; count: number };

export interface WireRange {
  /** Exclusive upper bound; `null` is +∞. */
  upper: WireKey | null;
  body: RangeBody;
}

export interface Payload {
  version: 1 | 2;
  shortOffset: number;
  /** Version 2: the session seed that keys the cells' item hash. */
  seed?: Uint8Array;
  ranges: WireRange[];
}

/**
 * Encodes ranges one at a time, tracking the size so callers can stay within a budget.
 * @example const w = new PayloadWriter(3); w.range(null, { mode: "ids", items: [] }); w.bytes()
 */
export class PayloadWriter {
  readonly #w = new ByteWriter();
  #lowerTs = 0;
  #ranges = 0;
  #open = true;
  readonly #version: 1 | 2;

  /** Version 2 when `seed` is given (its header carries the seed), else version 1. */
  constructor(shortOffset: number, seed?: Uint8Array) {
    this.#w.byte(seed === undefined ? PAYLOAD_VERSION : PAYLOAD_VERSION_CELLS);
    this.#w.byte(shortOffset);
    if (seed !== undefined) {
      if (seed.length !== SEED_BYTES) throw new RangeError(`payload: a seed of ${SEED_BYTES} bytes expected`);
      this.#w.raw(seed);
    }
    this.#version = seed === undefined ? 1 : 2;
  }

  get version(): 1 | 2 {
    return this.#version;
  }

  get length(): number {
    return this.#w.length;
  }

  get ranges(): number {
    return this.#ranges;
  }

  range(upper: WireKey | null, body: RangeBody): void {
    if (!this.#open) throw new RangeError("payload: a range after the +∞ bound");
    const lowerTs = this.#lowerTs;
    if (upper === null) {
      this.#w.varint(0);
      this.#open = false;
    } else {
      this.#w.varint(upper.ts - lowerTs + 1);
      this.#w.varint(upper.id.length);
      this.#w.raw(upper.id);
      this.#lowerTs = upper.ts;
    }
    this.#w.byte(MODE[body.mode]);
    switch (body.mode) {
      case "skip":
        break;
      case "fingerprint":
        this.#w.varint(body.count);
        this.#w.raw(body.fingerprint);
        break;
      case "prefixes":
        this.#w.varint(body.count);
        this.#w.byte(body.width);
        this.#w.raw(body.shorts);
        break;
      case "diff":
        this.#w.varint(body.bits);
        this.#w.raw(body.bitmap);
        this.#w.raw(body.matched);
        this.#items(body.items, lowerTs);
        break;
      case "verdict":
        this.#w.varint(body.bits);
        this.#w.raw(body.bitmap);
        this.#items(body.items, lowerTs);
        break;
      case "ids":
      case "items":
        this.#items(body.items, lowerTs);
        break;
      case "cells":
        if (this.#version < 2) throw new RangeError("payload: cells need version 2");
        this.#w.varint(body.cells.length);
        for (const c of body.cells) {
          this.#w.varint(c.count);
          this.#w.raw(c.id);
          this.#w.varint(c.ts);
          this.#w.raw(c.check);
        }
        break;
      case "more":
        if (this.#version < 2) throw new RangeError("payload: more needs version 2");
        this.#w.varint(body.count);
        break;
    }
    this.#ranges++;
  }

  #items(items: readonly WireKey[], lowerTs: number): void {
    this.#w.varint(items.length);
    let prev = lowerTs;
    for (const it of items) {
      this.#w.varint(it.ts - prev);
      this.#w.raw(it.id);
      prev = it.ts;
    }
  }

  bytes(): Uint8Array {
    return this.#w.bytes();
  }
}

/**
 * Encoded size of an item list of `n` items, upper estimate (ts deltas up to 3 bytes).
 * @example itemsBytes(10) // 354
 */
export function itemsBytes(n: number): number {
  return 4 + n * 35;
}

function readItems(r: ByteReader, lowerTs: number): WireKey[] {
  const n = r.count(33);
  const items: WireKey[] = new Array(n);
  let prev = lowerTs;
  for (let i = 0; i < n; i++) {
    const ts = prev + r.varint();
    if (!Number.isSafeInteger(ts)) throw new WireError("item ts exceeds 2^53 - 1");
    items[i] = { ts, id: r.take(32) };
    prev = ts;
  }
  return items;
}

function readCells(r: ByteReader): WireCell[] {
  const m = r.count(CELL_MIN_BYTES);
  if (m < 1 || m > MAX_CELLS) throw new WireError(`${m} cells (1 to ${MAX_CELLS})`);
  const cells: WireCell[] = new Array(m);
  for (let i = 0; i < m; i++) {
    const count = r.varint();
    // Cells hold one side's own items: a count beyond 2^31 − 1 cannot be honest (and would not fit a cell word).
    if (count > MAX_CELL_COUNT) throw new WireError(`cell ${i} counts ${count} items`);
    cells[i] = { count, id: r.take(32), ts: r.varint(), check: r.take(8) };
  }
  return cells;
}

function readBody(r: ByteReader, mode: number, lowerTs: number, version: number): RangeBody {
  switch (mode) {
    case MODE.skip:
      return { mode: "skip" };
    case MODE.fingerprint:
      return { mode: "fingerprint", count: r.varint(), fingerprint: r.take(FINGERPRINT_BYTES) };
    case MODE.ids:
      return { mode: "ids", items: readItems(r, lowerTs) };
    case MODE.prefixes: {
      const count = r.count(MIN_SHORT_BYTES);
      const width = r.byte();
      if (width < MIN_SHORT_BYTES || width > MAX_SHORT_BYTES) throw new WireError(`short ids of ${width} bytes`);
      return { mode: "prefixes", count, width, shorts: r.take(count * width) };
    }
    case MODE.diff: {
      const bits = r.count(1 / 8);
      const bitmap = r.take(Math.ceil(bits / 8));
      const matched = r.take(FINGERPRINT_BYTES);
      return { mode: "diff", bits, bitmap, matched, items: readItems(r, lowerTs) };
    }
    case MODE.verdict: {
      const bits = r.count(1 / 8);
      const bitmap = r.take(Math.ceil(bits / 8));
      return { mode: "verdict", bits, bitmap, items: readItems(r, lowerTs) };
    }
    case MODE.items:
      return { mode: "items", items: readItems(r, lowerTs) };
    case MODE.cells:
      if (version < 2) break;
      return { mode: "cells", cells: readCells(r) };
    case MODE.more: {
      if (version < 2) break;
      const count = r.varint();
      if (count < 1 || count > MAX_CELLS) throw new WireError(`a request for ${count} cells (1 to ${MAX_CELLS})`);
      return { mode: "more", count };
    }
  }
  throw new WireError(`unknown range mode ${mode}`);
}

/**
 * The empty first range by which an opening in version 1 says that its sender also reads
 * version 2 (docs/ANTI_ENTROPY.md §Versions): upper bound −∞ written as ts 0 with no id bytes,
 * a fingerprint of count 0 whose 16 bytes are 2, the session seed, and zeros. A 0.1.0 peer
 * reads an empty range it holds nothing in and answers nothing for it.
 * @example w.range(...capabilityRange(seed))
 */
export function capabilityRange(seed: Uint8Array): [WireKey, RangeBody] {
  const fingerprint = new Uint8Array(FINGERPRINT_BYTES);
  fingerprint[0] = PAYLOAD_VERSION_CELLS;
  fingerprint.set(seed, 1);
  return [{ ts: 0, id: new Uint8Array(0) }, { mode: "fingerprint", count: 0, fingerprint }];
}

/**
 * The seed of a version-1 payload that opens with `capabilityRange`, else undefined.
 * @example const seed = offeredSeed(payload) // Uint8Array(8) when the peer reads version 2
 */
export function offeredSeed(payload: Payload): Uint8Array | undefined {
  const first = payload.ranges[0];
  if (payload.version !== 1 || first === undefined || first.upper === null || first.upper.ts !== 0 || first.upper.id.length !== 0) return undefined;
  if (first.body.mode !== "fingerprint" || first.body.count !== 0 || first.body.fingerprint[0]! < PAYLOAD_VERSION_CELLS) return undefined;
  return first.body.fingerprint.slice(1, 1 + SEED_BYTES);
}


/**
 * Decodes a payload, checking bound order, the range limit and that nothing trails.
 * Version 2 is refused when `maxVersion` is 1 (as 0.1.0 does).
 * @example decodePayload(bytes, 100000) // { ok: true, payload: { version, shortOffset, ranges } }
 */
export function decodePayload(bytes: Uint8Array, maxRanges: number, maxVersion: number = PAYLOAD_VERSION_CELLS): { ok: true; payload: Payload } | { ok: false; reason: string } {
  const decoding = decodingPayload(bytes, maxRanges, maxVersion, Number.POSITIVE_INFINITY);
  for (;;) {
    const r = decoding.next();
    if (r.done === true) return r.value;
  }
}

/** Ranges decoded between two pauses of `decodingPayload` when a node answers: about a millisecond's worth. */
export const DECODE_SLICE_RANGES = 1024;

/**
 * `decodePayload` pausing (one `yield`) after every `sliceRanges` ranges, so that a payload of
 * 95,000 ranges does not hold the event loop in one piece (docs/FEDERATION_PROTOCOL.md
 * §Answering without holding the event loop).
 * @example const decoded = yield* decodingPayload(bytes, 100000, 2, DECODE_SLICE_RANGES)
 */
export function* decodingPayload(bytes: Uint8Array, maxRanges: number, maxVersion: number, sliceRanges: number): Generator<void, { ok: true; payload: Payload } | { ok: false; reason: string }> {
  try {
    const r = new ByteReader(bytes);
    const version = r.byte();
    if (version !== PAYLOAD_VERSION && !(version === PAYLOAD_VERSION_CELLS && maxVersion >= PAYLOAD_VERSION_CELLS)) throw new WireError(`unsupported payload version ${version}`);
    const shortOffset = r.byte();
    if (shortOffset > MAX_SHORT_OFFSET) throw new WireError(`short-id offset ${shortOffset} exceeds ${MAX_SHORT_OFFSET}`);
    const seed = version === PAYLOAD_VERSION_CELLS ? r.take(SEED_BYTES).slice() : undefined;
    const ranges: WireRange[] = [];
    let lower: WireKey = { ts: 0, id: new Uint8Array(0) };
    let closed = false;
    while (r.remaining > 0) {
      if (closed) throw new WireError("bytes after the +∞ bound");
      if (ranges.length >= maxRanges) throw new WireError(`more than ${maxRanges} ranges`);
      const code = r.varint();
      let upper: WireKey | null = null;
      if (code === 0) closed = true;
      else {
        const ts = lower.ts + code - 1;
        if (!Number.isSafeInteger(ts)) throw new WireError("bound ts exceeds 2^53 - 1");
        const len = r.varint();
        if (len > 32) throw new WireError(`bound id prefix of ${len} bytes`);
        upper = { ts, id: r.take(len) };
        if (compareWireKeys(upper, lower) <= 0 && ranges.length > 0) throw new WireError(`range ${ranges.length}: bounds not increasing`);
      }
      ranges.push({ upper, body: readBody(r, r.byte(), lower.ts, version) });
      if (upper !== null) lower = upper;
      if (ranges.length % sliceRanges === 0) yield;
    }
    return { ok: true, payload: { version: version === PAYLOAD_VERSION ? 1 : 2, shortOffset, ...(seed === undefined ? {} : { seed }), ranges } };
  } catch (e) {
    if (e instanceof WireError) return { ok: false, reason: e.message };
    throw e;
  }
}

/**
 * Orders two wire keys, a missing id byte reading as zero.
 * @example compareWireKeys({ ts: 1, id: Uint8Array.of(1) }, { ts: 1, id: Uint8Array.of(1, 0) }) // 0
 */
export function compareWireKeys(a: WireKey, b: WireKey): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  const n = Math.max(a.id.length, b.id.length);
  for (let k = 0; k < n; k++) {
    const x = a.id[k] ?? 0;
    const y = b.id[k] ?? 0;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}
