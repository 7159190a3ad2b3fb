/**
 * One side's answer to one namespace payload (docs/ANTI_ENTROPY.md §Algorithm): the same
 * rules drive the initiator and the stateless responder. Equal fingerprints close a range;
 * a differing one is split at randomised positions, listed by short ids when the mismatch
 * looks dense, or listed in full when small; lists are answered with exactly the items the
 * other side lacks. Output stays within a byte budget: whatever does not fit is handed
 * back as fingerprints of the unanswered ranges, which the peer simply asks about again.
 * Everything but the items the other side lacks also stays within a reply cap, the responder's
 * bound relative to the request (docs/FEDERATION_PROTOCOL.md §Limits, amplification). The work
 * done is counted (ranges, items and cells touched) so the caller can charge it and answer in
 * slices that each hold the event loop briefly.
 */
import type { ReceiptKey } from "../store/types.js";
import { CELL_TYPICAL_BYTES, cellsFor, cellsInSlices, decode, fromWire, MAX_CELLS, toWire, type WireCell } from "./cells.js";
import { boundBefore, checkItems, equalBytes, ownKey, positions, ProtocolViolation, shortValue, shortWidth, toReceiptKey } from "./items.js";
import { capabilityRange, compareWireKeys, itemsBytes, MAX_SHORT_OFFSET, offeredSeed, PayloadWriter, type Payload, type RangeBody } from "./payload.js";
import type { ReconcileIndex, WireKey } from "./reconcile-index.js";

export interface StepTuning {
  /** Sub-ranges per split (docs/ANTI_ENTROPY.md §Bounds: 16). */
  branching: number;
  /** A differing range with at most this many own items is listed rather than split. */
  idsLimit: number;
  /** Most ranges in one payload, sent or accepted. */
  maxRanges: number;
  /** Uniform in [0, 1): jitters split positions so a peer cannot steer them (Meyer). */
  random: () => number;
  /** True on the initiator's side, whose lists cost an extra POST when answered in two steps. */
  initiator: boolean;
  /** Highest payload version this side speaks; below 2 the capability range is an ordinary empty range, as in 0.1.0. */
  payloadVersion: number;
}

export type StepOutcome = { ok: true; payload: Uint8Array | undefined; have: ReceiptKey[]; need: ReceiptKey[] } | { ok: false; reason: string };

const MINUS_INFINITY: WireKey = { ts: 0, id: new Uint8Array(0) };
/** Bytes of one fingerprint range at most: bound ≤ 44, mode 1, count ≤ 8, fingerprint 16. */
const FINGERPRINT_RANGE_MAX = 69;
/** Part of the budget kept for handing back deferred ranges as fingerprints, at most 64 KiB. */
const DEFER_SHARE = 1 / 16;
const DEFER_MAX = 64 * 1024;
/**
 * A range is listed by short ids when that costs at most this many bytes per difference
 * estimated from the share of differing sibling ranges (scattered differences)…
 */
const PREFIX_BYTES_PER_DIFFERENCE = 48;
/**
 * …plus this many per difference implied by the two counts. A count gap is often one
 * contiguous run (a partition window) that splitting isolates cheaply, so it buys less.
 */
const PREFIX_BYTES_PER_COUNT_GAP = 8;
/** Typical encoded size of one fingerprint range: bound, mode, count, 16 bytes. */
const SPLIT_BYTES_PER_RANGE = 21;
/** Bytes of an item in a full list: ts delta (usually 1) and the 32-byte id. */
const FULL_ID_BYTES = 33;
/** What the initiator will spend on one of few differing ranges to save itself a round trip (a POST). */
const INITIATOR_ROUND_TRIP_BYTES = 2048;
/** At least this many differing ranges in one payload make leaf lists use short ids. */
const MANY_DIFFERING = 32;
/** Ranges of an opening that offers cells: few, so that in sync and one difference stay small (docs/ANTI_ENTROPY.md §Coded symbols). */
const OPENING_BRANCHING = 4;
/** Up to this many estimated differences a range is answered with cells whatever the layout. */
const FEW_DIFFERENCES = 8;
/** Beyond that, cells only when at least this share of the payload's ranges differ (scattered differences). */
const SCATTERED_SHARE = 0.5;
/** Cells are chosen over short ids while they cost at most this many times as much: they save a round trip. */
const CELLS_OVER_SHORT_IDS = 1.5;
/** In version 2, ranges above this many items split twice as wide. */
const WIDE_SPLIT_ITEMS = 4096;
/** Encoded cell at most: count ≤ 5 bytes (below 2^31), id 32, ts ≤ 8, check 8. */
const CELL_MAX_BYTES = 53;

/**
 * Answers one payload; see the file header. One instance per payload.
 * @example const r = new Step(index, offset, budget, tuning).answer(payload); if (r.ok) send(r.payload)
 */
export class Step {
  readonly #index: ReconcileIndex;
  readonly #tuning: StepTuning;
  readonly #budget: number;
  readonly #out: PayloadWriter;
  /** Cells chosen for the range being answered, not yet computed (#sendCells, #writeCells). */
  #cellsJob: { lowerTs: number; hi: WireKey | null; p: number; q: number; m: number } | undefined;
  readonly #shortOffset: number;
  /** Session seed when this payload is version 2 (cells allowed), else undefined. */
  readonly #seed: Uint8Array | undefined;
  #pendingSkip: WireKey | null | undefined;
  #emitted = 0;
  #deferFrom: WireKey | undefined;
  /** Upper bounds of the ranges left unanswered, in order. */
  #deferred: (WireKey | null)[] = [];
  readonly have: ReceiptKey[] = [];
  readonly need: ReceiptKey[] = [];
  // Split heuristics, from the fingerprints of the payload being answered.
  #lambda = 0;
  #meanCount = 1;
  #manyDiffering = false;
  #differingShare = 0;
  /** Fingerprint comparisons made by `#estimate`, reused when answering. */
  readonly #equal = new WeakMap<RangeBody, boolean>();
  /** Bytes of the answer other than items the peer lacks: fingerprints, lists, short ids, cells. */
  readonly #cap: number;
  /** Work units done so far: ranges read, items and cells touched (docs/FEDERATION_PROTOCOL.md §Limits). */
  work = 0;

  /**
   * With `seed` the answer is written in payload version 2 and may use cells. `cap` bounds
   * every part of the answer but the items the peer lacks (default: `budget`).
   */
  constructor(index: ReconcileIndex, shortOffset: number, budget: number, tuning: StepTuning, seed?: Uint8Array, cap: number = budget) {
    this.#index = index;
    this.#tuning = tuning;
    this.#budget = budget;
    this.#cap = Math.min(budget, cap);
    this.#shortOffset = Math.min(shortOffset, MAX_SHORT_OFFSET);
    this.#seed = seed;
    this.#out = new PayloadWriter(shortOffset, seed);
  }

  /**
   * The opening move: the whole set as one differing range of unknown peer count. With `offer`
   * (a seed), a version-1 payload that says this side reads version 2, split only 4 ways.
   */
  open(offer?: Uint8Array): Uint8Array | undefined {
    if (offer !== undefined && this.#index.size > 2 * this.#tuning.idsLimit) {
      this.#emit(...capabilityRange(offer));
      this.#split(MINUS_INFINITY, null, 0, this.#index.size, OPENING_BRANCHING);
    } else this.#answerDiffering(MINUS_INFINITY, null, 0, this.#index.size, -1);
    return this.#finish();
  }

  /** Answers `payload`; a peer's protocol violation becomes `{ ok: false }`. */
  answer(payload: Payload): StepOutcome {
    const slices = this.answerInSlices(payload, Number.POSITIVE_INFINITY);
    for (;;) {
      const r = slices.next();
      if (r.done === true) return r.value;
    }
  }

  /**
   * Answers `payload` as `answer` does, pausing (one `yield`) each time about `sliceWork` more
   * work units are done, so a caller can let other work run in between.
   * @example const it = step.answerInSlices(payload, 2000); let r; while (!(r = it.next()).done) await pause()
   */
  *answerInSlices(payload: Payload, sliceWork: number): Generator<void, StepOutcome> {
    let paused = this.work;
    try {
      let lo = MINUS_INFINITY;
      for (const r of this.#ranges(payload)) {
        this.#estimateRange(lo, r);
        if (this.work - paused >= sliceWork) {
          paused = this.work;
          yield;
        }
        if (r.upper === null) break;
        lo = r.upper;
      }
      this.#settleEstimate();
      lo = MINUS_INFINITY;
      // The capability range is empty and asks for no answer.
      for (const range of this.#ranges(payload)) {
        this.work++;
        this.#answerRange(lo, range.upper, range.body);
        // Cells chosen for this range are computed here, in slices, and written in its place.
        if (this.#cellsJob !== undefined) {
          yield* this.#writeCells(sliceWork);
          paused = this.work;
        }
        if (this.work - paused >= sliceWork) {
          paused = this.work;
          yield;
        }
        if (range.upper === null) break;
        lo = range.upper;
      }
      return { ok: true, payload: this.#finish(), have: this.have, need: this.need };
    } catch (e) {
      if (e instanceof ProtocolViolation) return { ok: false, reason: e.message };
      throw e;
    }
  }

  /** The ranges to answer: all but a capability range, which is empty and asks for nothing. */
  #ranges(payload: Payload): readonly Payload["ranges"][number][] {
    return this.#tuning.payloadVersion >= 2 && offeredSeed(payload) !== undefined ? payload.ranges.slice(1) : payload.ranges;
  }

  #positions(lo: WireKey, hi: WireKey | null): [number, number] {
    const p = lo === MINUS_INFINITY ? 0 : this.#index.lowerBound(lo);
    return [p, hi === null ? this.#index.size : this.#index.lowerBound(hi)];
  }

  /** The estimate's running sums over the payload's fingerprint ranges. */
  #seen = { total: 0, differing: 0, own: 0 };

  #estimateRange(lo: WireKey, r: Payload["ranges"][number]): void {
    this.work++;
    if (r.body.mode !== "fingerprint") return;
    const [p, q] = this.#positions(lo, r.upper);
    this.#seen.total++;
    this.#seen.own += q - p;
    const equal = r.body.count === q - p && equalBytes(r.body.fingerprint, this.#index.fingerprint(p, q));
    this.#equal.set(r.body, equal);
    if (!equal) this.#seen.differing++;
  }

  #settleEstimate(): void {
    const { total, differing, own } = this.#seen;
    this.#manyDiffering = differing >= MANY_DIFFERING;
    this.#differingShare = total === 0 ? 0 : differing / total;
    if (total >= 8) {
      // Share of differing ranges → mean differences per range, Poisson: f = 1 − e^(−λ).
      const f = Math.min(differing / total, 1 - 1 / (2 * total));
      this.#lambda = -Math.log(1 - f);
      this.#meanCount = Math.max(1, own / total);
    }
  }

  get #reserve(): number {
    return FINGERPRINT_RANGE_MAX + Math.min(DEFER_MAX, Math.floor(this.#cap * DEFER_SHARE));
  }

  #fits(bytes: number): boolean {
    return this.#deferFrom === undefined && this.#out.length + bytes + this.#reserve <= this.#cap && this.#out.ranges + 2 * this.#tuning.branching + 4 <= this.#tuning.maxRanges;
  }

  #emit(upper: WireKey | null, body: RangeBody): void {
    if (this.#pendingSkip !== undefined) {
      this.#out.range(this.#pendingSkip, { mode: "skip" });
      this.#pendingSkip = undefined;
    }
    this.#out.range(upper, body);
    this.#emitted++;
  }

  #skip(upper: WireKey | null): void {
    // Once deferring, later skipped ranges fall inside the closing fingerprint or trail it.
    if (this.#deferFrom === undefined) this.#pendingSkip = upper;
  }

  #defer(lo: WireKey, hi: WireKey | null): void {
    if (this.#deferFrom === undefined) this.#deferFrom = lo;
    this.#deferred.push(hi);
  }

  /**
   * Hands the unanswered ranges back as fingerprints, so the peer asks again next round.
   * Runs of consecutive ranges share one fingerprint when the reserve cannot hold one each.
   */
  #finish(): Uint8Array | undefined {
    // Cells chosen outside answerInSlices's loop are written at once.
    if (this.#cellsJob !== undefined) for (const _ of this.#writeCells(Number.POSITIVE_INFINITY));
    if (this.#deferFrom !== undefined) {
      const m = this.#deferred.length;
      const room = Math.floor((this.#cap - this.#out.length) / FINGERPRINT_RANGE_MAX);
      const chunks = Math.max(1, Math.min(m, room, this.#tuning.maxRanges - this.#out.ranges - 2));
      let [p] = this.#positions(this.#deferFrom, null);
      this.#deferFrom = undefined;
      for (let j = 1; j <= chunks; j++) {
        const hi = this.#deferred[Math.floor((j * m) / chunks) - 1]!;
        const q = hi === null ? this.#index.size : this.#index.lowerBound(hi);
        this.#emit(hi, { mode: "fingerprint", count: q - p, fingerprint: this.#index.fingerprint(p, q) });
        p = q;
      }
    }
    return this.#emitted === 0 ? undefined : this.#out.bytes();
  }

  #answerRange(lo: WireKey, hi: WireKey | null, body: RangeBody): void {
    if (body.mode === "skip") return this.#skip(hi);
    if (body.mode === "items") {
      checkItems(body.items, lo, hi, "items");
      this.#recordNeed(body.items);
      return this.#skip(hi);
    }
    const [p, q] = this.#positions(lo, hi);
    if (body.mode === "verdict") return this.#takeVerdict(lo, hi, p, q, body.bits, body.bitmap, body.items);
    if (this.#deferFrom !== undefined) return this.#defer(lo, hi);
    switch (body.mode) {
      case "fingerprint":
        if (this.#equal.get(body) ?? (body.count === q - p && equalBytes(body.fingerprint, this.#index.fingerprint(p, q)))) return this.#skip(hi);
        return this.#answerDiffering(lo, hi, p, q, body.count);
      case "ids":
        return this.#answerIds(lo, hi, p, q, body.items);
      case "prefixes":
        return this.#answerPrefixes(lo, hi, p, q, body.count, body.width, body.shorts);
      case "diff":
        return this.#answerDiff(lo, hi, p, q, body);
      case "cells":
        return this.#answerCells(lo, hi, p, q, body.cells);
      case "more":
        return this.#answerMore(lo, hi, p, q, body.count);
    }
  }

  #answerDiffering(lo: WireKey, hi: WireKey | null, p: number, q: number, peerCount: number): void {
    const c = q - p;
    if (peerCount === 0) return this.#sendItems(lo, hi, positions(p, q));
    if (this.#tryCells(lo, hi, p, q, peerCount)) return;
    // Among few differing ranges, a full list (answered by one verdict) saves the round trip that
    // short ids cost (prefixes → diff → items); for the initiator that round trip is a whole extra POST.
    // (The opening, peerCount −1, keeps 2 × idsLimit: in sync, its list is all it costs.)
    const fullLimit = this.#manyDiffering ? this.#tuning.idsLimit : (this.#tuning.initiator && peerCount >= 0 ? 4 : 2) * this.#tuning.idsLimit;
    if (c <= fullLimit) {
      if (this.#manyDiffering && c > 2 && this.#fits(8 + c * shortWidth(c))) return this.#sendPrefixes(hi, p, q);
      if (this.#fits(itemsBytes(c))) return this.#emit(hi, { mode: "ids", items: this.#ownIds(p, q) });
      return this.#defer(lo, hi);
    }
    // The peer holds few items here (the edge of a gap): our full list costs at most 2 × idsLimit ids
    // (4 × for the initiator, to whom the round trip is a whole POST) beyond the ones the peer lacks
    // and must receive anyway, and ends the range one message sooner than short ids would.
    if (!this.#manyDiffering && peerCount >= 0 && peerCount <= (this.#tuning.initiator ? 4 : 2) * this.#tuning.idsLimit && this.#fits(itemsBytes(c))) {
      return this.#emit(hi, { mode: "ids", items: this.#ownIds(p, q) });
    }
    // A differing range holds at least one difference; short ids win over a split when they cost
    // less than the split's fingerprints plus a budget per estimated difference.
    const scattered = Math.max(1, (this.#lambda * c) / this.#meanCount);
    const gap = peerCount < 0 ? 0 : Math.abs(c - peerCount);
    const worth = PREFIX_BYTES_PER_DIFFERENCE * scattered + PREFIX_BYTES_PER_COUNT_GAP * gap + SPLIT_BYTES_PER_RANGE * this.#tuning.branching;
    if (peerCount >= 0 && c * shortWidth(c) <= worth && this.#fits(8 + c * shortWidth(c))) {
      // When the counts say most of our items are missing there, the full list costs little more
      // than short ids plus the items sent after them, and needs one message less.
      const overhead = FULL_ID_BYTES * Math.min(c, peerCount);
      const allowance = this.#tuning.initiator && !this.#manyDiffering ? INITIATOR_ROUND_TRIP_BYTES : 0;
      if (overhead <= c * (shortWidth(c) + 1 / 8) + allowance && this.#fits(itemsBytes(c))) {
        return this.#emit(hi, { mode: "ids", items: this.#ownIds(p, q) });
      }
      return this.#sendPrefixes(hi, p, q);
    }
    // Version 2 opens with 4 ranges, not 16: twice the branching on large ranges keeps a clustered
    // gap as few levels from its leaves as before (docs/ANTI_ENTROPY.md §Coded symbols).
    this.#split(lo, hi, p, q, this.#seed !== undefined && c > WIDE_SPLIT_ITEMS ? 2 * this.#tuning.branching : this.#tuning.branching);
  }

  #split(lo: WireKey, hi: WireKey | null, p: number, q: number, branching = this.#tuning.branching): void {
    const c = q - p;
    const k = Math.min(branching, c);
    if (k < 2 || !this.#fits(k * 70)) return this.#defer(lo, hi);
    let prev = p;
    for (let i = 1; i <= k; i++) {
      let s = q;
      if (i < k) {
        const jitter = Math.floor((this.#tuning.random() - 0.5) * (c / (2 * k)));
        s = Math.min(Math.max(p + Math.round((c * i) / k) + jitter, prev + 1), q - (k - i));
      }
      this.#emit(i < k ? boundBefore(this.#index, s) : hi, { mode: "fingerprint", count: s - prev, fingerprint: this.#index.fingerprint(prev, s) });
      prev = s;
    }
  }

  /** Own items p..q as wire keys, for a full list. */
  #ownIds(p: number, q: number): WireKey[] {
    this.work += q - p;
    return positions(p, q).map((i) => ownKey(this.#index, i));
  }

  #short(pos: number, width: number): number {
    return shortValue(this.#index.idAt(pos), this.#shortOffset, width);
  }

  #sendPrefixes(hi: WireKey | null, p: number, q: number): void {
    this.work += q - p;
    const width = shortWidth(q - p);
    const shorts = new Uint8Array((q - p) * width);
    for (let i = p; i < q; i++) shorts.set(this.#index.idAt(i).subarray(this.#shortOffset, this.#shortOffset + width), (i - p) * width);
    this.#emit(hi, { mode: "prefixes", count: q - p, width, shorts });
  }

  /** Sends own items the peer lacks; what does not fit is deferred from a bound after the last one sent. */
  #sendItems(lo: WireKey, hi: WireKey | null, positions: number[]): void {
    if (positions.length === 0) return this.#skip(hi);
    this.work += positions.length;
    const room = Math.floor((this.#budget - this.#reserve - this.#out.length - 64) / 35);
    if (this.#deferFrom !== undefined || room < 1) return this.#defer(lo, hi);
    const sent = positions.length <= room ? positions : positions.slice(0, room);
    for (const pos of sent) this.have.push(this.#index.keyAt(pos));
    const items = sent.map((pos) => ownKey(this.#index, pos));
    if (sent.length === positions.length) return this.#emit(hi, { mode: "items", items });
    const cut = boundBefore(this.#index, sent[sent.length - 1]! + 1);
    this.#emit(cut, { mode: "items", items });
    this.#defer(cut, hi);
  }

  #isOwn(item: WireKey, p: number, q: number): boolean {
    let a = p;
    let b = q;
    while (a < b) {
      const mid = Math.floor((a + b) / 2);
      if (this.#index.compareAt(mid, item) < 0) a = mid + 1;
      else b = mid;
    }
    return a < q && this.#index.compareAt(a, item) === 0;
  }

  #recordNeed(items: readonly WireKey[]): void {
    this.work += items.length;
    for (const it of items) if (!this.#isOwn(it, 0, this.#index.size)) this.need.push(toReceiptKey(it));
  }

  #answerIds(lo: WireKey, hi: WireKey | null, p: number, q: number, items: readonly WireKey[]): void {
    checkItems(items, lo, hi, "ids");
    this.work += items.length + (q - p);
    const bitmap = new Uint8Array(Math.ceil(items.length / 8));
    const mine: number[] = [];
    const lacking: WireKey[] = [];
    let i = p;
    items.forEach((it, j) => {
      while (i < q && this.#index.compareAt(i, it) < 0) mine.push(i++);
      if (i < q && this.#index.compareAt(i, it) === 0) i++;
      else {
        bitmap[j >> 3]! |= 1 << (j & 7);
        lacking.push(it);
      }
    });
    while (i < q) mine.push(i++);
    // Nothing lacking on either side: silence closes the range.
    if (lacking.length === 0 && mine.length === 0) return this.#skip(hi);
    if (!this.#fits(8 + bitmap.length + itemsBytes(mine.length))) {
      // Deferring would hand the range back, the peer would list the same few ids again, and a
      // range too big for one message would never end (a fresh node against 10^5 receipts).
      // Our items go as "items", as many as fit, the rest deferred from after the last one sent;
      // the peer's ids we lack are recorded now (docs/ANTI_ENTROPY.md §Catching up).
      if (this.#deferFrom !== undefined) return this.#defer(lo, hi);
      for (const it of lacking) this.need.push(toReceiptKey(it));
      return this.#sendItems(lo, hi, mine);
    }
    for (const it of lacking) this.need.push(toReceiptKey(it));
    for (const pos of mine) this.have.push(this.#index.keyAt(pos));
    this.#emit(hi, { mode: "verdict", bits: items.length, bitmap, items: mine.map((pos) => ownKey(this.#index, pos)) });
  }

  /** The peer's answer to our `ids`: which of ours it lacks, and its items we lack. Never answered. */
  #takeVerdict(lo: WireKey, hi: WireKey | null, p: number, q: number, bits: number, bitmap: Uint8Array, items: readonly WireKey[]): void {
    checkItems(items, lo, hi, "verdict");
    this.#recordNeed(items);
    // A changed own set makes the bitmap unreadable; the next session finds what remains.
    if (bits === q - p) for (let j = 0; j < bits; j++) if ((bitmap[j >> 3]! >> (j & 7)) & 1) this.have.push(this.#index.keyAt(p + j));
    this.#skip(hi);
  }

  #answerPrefixes(lo: WireKey, hi: WireKey | null, p: number, q: number, count: number, width: number, shorts: Uint8Array): void {
    this.work += 2 * (q - p) + count;
    const own = new Map<number, number>();
    for (let i = p; i < q; i++) own.set(this.#short(i, width), i);
    const theirs = new Set<number>();
    const bitmap = new Uint8Array(Math.ceil(count / 8));
    for (let j = 0; j < count; j++) {
      const s = shortValue(shorts, j * width, width);
      theirs.add(s);
      if (!own.has(s)) bitmap[j >> 3]! |= 1 << (j & 7);
    }
    // Two items sharing a short id on one side: fall back to the exact full list.
    if (own.size !== q - p || theirs.size !== count) return this.#sendIds(lo, hi, p, q);
    const unmatched: number[] = [];
    for (let i = p; i < q; i++) if (!theirs.has(this.#short(i, width))) unmatched.push(i);
    if (!this.#fits(24 + bitmap.length + itemsBytes(unmatched.length))) return this.#split(lo, hi, p, q);
    for (const pos of unmatched) this.have.push(this.#index.keyAt(pos));
    const matched = this.#index.fingerprintExcept(p, q, unmatched);
    this.#emit(hi, { mode: "diff", bits: count, bitmap, matched, items: unmatched.map((pos) => ownKey(this.#index, pos)) });
  }

  #sendIds(lo: WireKey, hi: WireKey | null, p: number, q: number): void {
    if (this.#fits(itemsBytes(q - p))) return this.#emit(hi, { mode: "ids", items: this.#ownIds(p, q) });
    return this.#split(lo, hi, p, q);
  }

  #answerDiff(lo: WireKey, hi: WireKey | null, p: number, q: number, body: { bits: number; bitmap: Uint8Array; matched: Uint8Array; items: readonly WireKey[] }): void {
    checkItems(body.items, lo, hi, "diff");
    this.#recordNeed(body.items);
    // Our set changed since we listed it: restart this range exactly.
    if (body.bits !== q - p) return this.#sendIds(lo, hi, p, q);
    this.work += body.bits;
    const lacking: number[] = [];
    for (let j = 0; j < body.bits; j++) if ((body.bitmap[j >> 3]! >> (j & 7)) & 1) lacking.push(p + j);
    // What both call matched must be the same items; if not, two different ids shared a short id.
    if (!equalBytes(body.matched, this.#index.fingerprintExcept(p, q, lacking))) return this.#sendIds(lo, hi, p, q);
    this.#sendItems(lo, hi, lacking);
  }

  /**
   * The responder's choice of cells for a differing range (docs/ANTI_ENTROPY.md §Coded symbols):
   * only in version 2, when the estimated differences are few or scattered, and when the cells
   * cost less than a full list and not much more than short ids.
   */
  #tryCells(lo: WireKey, hi: WireKey | null, p: number, q: number, peerCount: number): boolean {
    if (this.#seed === undefined || this.#tuning.initiator || peerCount < 0) return false;
    const c = q - p;
    const estimate = Math.max(1, Math.abs(c - peerCount), (this.#lambda * c) / this.#meanCount);
    if (estimate > FEW_DIFFERENCES && this.#differingShare < SCATTERED_SHARE) return false;
    const m = cellsFor(estimate);
    const cost = m * CELL_TYPICAL_BYTES;
    if (cost > FULL_ID_BYTES * Math.max(c, peerCount) || cost > CELLS_OVER_SHORT_IDS * c * shortWidth(c)) return false;
    if (!this.#fits(8 + m * CELL_MAX_BYTES)) return false;
    this.#sendCells(lo, hi, p, q, m);
    return true;
  }

  /**
   * Cells are the last thing a range's answer writes: they are computed by `#writeCells` once
   * the range's answer returns (in slices when answering in slices), then written in its place.
   */
  #sendCells(lo: WireKey, hi: WireKey | null, p: number, q: number, m: number): void {
    this.work += q - p + m;
    this.#cellsJob = { lowerTs: lo.ts, hi, p, q, m };
  }

  *#writeCells(sliceItems: number): Generator<void, void> {
    const job = this.#cellsJob!;
    this.#cellsJob = undefined;
    const cells: WireCell[] = toWire(yield* cellsInSlices(this.#index, job.p, job.q, job.lowerTs, job.m, this.#seed!, sliceItems));
    this.#emit(job.hi, { mode: "cells", cells });
  }

  /**
   * The initiator asks for more cells of a range whose cells did not decode. More than fits is
   * not computed: the range goes back as a fingerprint, which the initiator then splits (a peer
   * with a larger message limit than ours gets the same answer).
   */
  #answerMore(lo: WireKey, hi: WireKey | null, p: number, q: number, m: number): void {
    if (this.#tuning.initiator) throw new ProtocolViolation("more: only the initiator asks for cells");
    if (!this.#fits(8 + m * CELL_MAX_BYTES)) return this.#defer(lo, hi);
    this.#sendCells(lo, hi, p, q, m);
  }

  /**
   * The responder's cells of a range: decoded, the range is settled (items it lacks go back in
   * full); undecoded, more cells are asked for; inconsistent, or as many as a message holds
   * already, the range falls back to splitting (docs/ANTI_ENTROPY.md §Coded symbols, "Decode failure").
   */
  #answerCells(lo: WireKey, hi: WireKey | null, p: number, q: number, wire: readonly WireCell[]): void {
    if (!this.#tuning.initiator) throw new ProtocolViolation("cells: only the responder sends cells");
    const theirs = fromWire(wire);
    this.work += wire.length + (q - p);
    const inRange = (k: WireKey) => compareWireKeys(k, lo) >= 0 && (hi === null || compareWireKeys(k, hi) < 0);
    const r = decode(theirs, this.#index, p, q, lo.ts, this.#seed!, inRange);
    if (r.ok) {
      for (const k of r.theirs) this.need.push(toReceiptKey(k));
      return this.#sendItems(lo, hi, r.mine);
    }
    const m = wire.length;
    if (!r.inconsistent) {
      const next = Math.min(MAX_CELLS, Math.max(2 * m, cellsFor(r.estimate)));
      if (next > m && 8 + next * CELL_MAX_BYTES <= this.#budget - this.#reserve && this.#fits(16)) return this.#emit(hi, { mode: "more", count: next });
    }
    this.#answerDiffering(lo, hi, p, q, theirs.count(0));
  }
}
