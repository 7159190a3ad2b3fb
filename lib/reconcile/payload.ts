/**
 * The binary payload of one namespace in one reconcile message (docs/ANTI_ENTROPY.md
 * §Wire format): a header, then ranges that tile the key space from −∞ upwards, each an
 * upper bound followed by a mode and its body. Decoding never throws: bad bytes become
 * `{ ok: false, reason }`.
 */
import type { WireKey } from "./reconcile-index.js";
import { ByteReader, ByteWriter, WireError } from "./varint.js";

export const PAYLOAD_VERSION = 1;
/** Narrowest and widest short id, bytes (docs/ANTI_ENTROPY.md §Algorithm, "Short ids"). */
export const MIN_SHORT_BYTES = 4;
/** Six bytes keep a short id an exact JavaScript number; longer lists rely on the matched-set check (docs/ANTI_ENTROPY.md §Algorithm). */
export const MAX_SHORT_BYTES = 6;
export const FINGERPRINT_BYTES = 16;
/** Largest session offset of the short-id window inside the 32 id bytes. */
export const MAX_SHORT_OFFSET = 32 - MAX_SHORT_BYTES;

export const MODE = { skip: 0, fingerprint: 1, ids: 2, prefixes: 3, diff: 4, items: 5, verdict: 6 } as const;

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
  | { mode: "verdict"; bits: number; bitmap: Uint8Array; items: WireKey[] };

export interface WireRange {
  /** Exclusive upper bound; `null` is +∞. */
  upper: WireKey | null;
  body: RangeBody;
}

export interface Payload {
  shortOffset: number;
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

  constructor(shortOffset: number) {
    this.#w.byte(PAYLOAD_VERSION);
    this.#w.byte(shortOffset);
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

function readBody(r: ByteReader, mode: number, lowerTs: number): RangeBody {
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
    default:
      throw new WireError(`unknown range mode ${mode}`);
  }
}

/**
 * Decodes a payload, checking bound order, the range limit and that nothing trails.
 * @example decodePayload(bytes, 100000) // { ok: true, payload: { shortOffset, ranges } }
 */
export function decodePayload(bytes: Uint8Array, maxRanges: number): { ok: true; payload: Payload } | { ok: false; reason: string } {
  try {
    const r = new ByteReader(bytes);
    const version = r.byte();
    if (version !== PAYLOAD_VERSION) throw new WireError(`unsupported payload version ${version}`);
    const shortOffset = r.byte();
    if (shortOffset > MAX_SHORT_OFFSET) throw new WireError(`short-id offset ${shortOffset} exceeds ${MAX_SHORT_OFFSET}`);
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
      ranges.push({ upper, body: readBody(r, r.byte(), lower.ts) });
      if (upper !== null) lower = upper;
    }
    return { ok: true, payload: { shortOffset, ranges } };
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
