/**
 * The per-namespace index anti-entropy works on (docs/ANTI_ENTROPY.md §Index):
 * receipt keys `(ts, id)` in order, held in flat typed arrays (8 bytes of ts and 32 of id
 * per item), with the prefix sums of every 32-item block cached (1 byte per item). A range
 * fingerprint is two prefix sums, each a cached block sum plus at most 16 item additions.
 */
import { ArgumentError } from "../errors.js";
import type { ReceiptKey } from "../store/types.js";
import { addItems, addSum, fingerprintOf, normalize, zeroSum } from "./sum256.js";

const BLOCK = 32;
const ID_PATTERN = /^sha256:[0-9a-f]{64}$/;
/** Byte value of two lower-case hex characters, indexed by their ASCII codes; 256 = not hex. */
const HEX_PAIR = new Uint16Array(65536).fill(256);
for (let a = 0; a < 16; a++) for (let b = 0; b < 16; b++) HEX_PAIR["0123456789abcdef".charCodeAt(a) * 256 + "0123456789abcdef".charCodeAt(b)] = a * 16 + b;

/** A range bound or item key in wire form: ts and up to 32 id bytes (missing bytes read as zero). */
export interface WireKey {
  ts: number;
  id: Uint8Array;
}

function checkKey(key: ReceiptKey, parameter: string): void {
  if (!Number.isSafeInteger(key.ts) || key.ts < 0) throw new ArgumentError(parameter, `ts must be a safe non-negative integer, got ${String(key.ts)}`);
  if (typeof key.id !== "string" || !ID_PATTERN.test(key.id)) throw new ArgumentError(parameter, `id must be "sha256:" and 64 lower-case hex digits`);
}

function compareReceiptKeys(a: ReceiptKey, b: ReceiptKey): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Sorted `(ts, id)` keys of one namespace with range fingerprints.
 * @example const index = ReconcileIndex.fromSorted(store.receiptKeys("dao:x")); index.fingerprint(0, index.size)
 */
export class ReconcileIndex {
  #ts = new Float64Array(0);
  #ids = new Uint8Array(0);
  #n = 0;
  /** Word j of prefix sum b at [b * 8 + j]: the sum of items [0, b * BLOCK). */
  #prefix = new Uint32Array(8);

  /**
   * Builds an index from keys already in `(ts, id)` order without repeats, e.g. `store.receiptKeys(ns)`.
   * @example ReconcileIndex.fromSorted([{ ts: 1, id: "sha256:" + "ab".repeat(32) }]).size // 1
   */
  static fromSorted(keys: readonly ReceiptKey[]): ReconcileIndex {
    const index = new ReconcileIndex();
    index.#grow(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      // Decoding checks the id; the order is checked on the decoded bytes (10^6 keys: no regex, no string compares).
      if (!Number.isSafeInteger(key.ts) || key.ts < 0 || !index.#decode(i, key.id)) checkKey(key, `keys[${i}]`);
      index.#ts[i] = key.ts;
      if (i > 0 && index.#compareSlots(i - 1, i) >= 0) throw new ArgumentError(`keys[${i}]`, "keys must be strictly increasing in (ts, id) order");
    }
    index.#n = keys.length;
    index.#rebuildPrefix(0);
    return index;
  }

  get size(): number {
    return this.#n;
  }

  #grow(capacity: number): void {
    if (capacity <= this.#ts.length) return;
    const cap = Math.max(capacity, Math.ceil(this.#ts.length * 1.5), 64);
    const ts = new Float64Array(cap);
    ts.set(this.#ts.subarray(0, this.#n));
    const ids = new Uint8Array(cap * 32);
    ids.set(this.#ids.subarray(0, this.#n * 32));
    this.#ts = ts;
    this.#ids = ids;
  }

  #put(i: number, key: ReceiptKey): void {
    this.#ts[i] = key.ts;
    this.#decode(i, key.id);
  }

  /** Writes the 32 bytes of `sha256:<hex>` into slot i; false when `id` is not that form. */
  #decode(i: number, id: string): boolean {
    if (typeof id !== "string" || id.length !== 71 || !id.startsWith("sha256:")) return false;
    const ids = this.#ids;
    const o = i * 32;
    let bad = 0;
    for (let j = 0; j < 32; j++) {
      const a = id.charCodeAt(7 + 2 * j);
      const b = id.charCodeAt(8 + 2 * j);
      const v = (a | b) < 128 ? HEX_PAIR[a * 256 + b]! : 256;
      bad |= v;
      ids[o + j] = v;
    }
    return bad < 256;
  }

  #compareSlots(a: number, b: number): number {
    const ta = this.#ts[a]!;
    const tb = this.#ts[b]!;
    if (ta !== tb) return ta < tb ? -1 : 1;
    for (let k = 0; k < 32; k++) {
      const x = this.#ids[a * 32 + k]!;
      const y = this.#ids[b * 32 + k]!;
      if (x !== y) return x < y ? -1 : 1;
    }
    return 0;
  }

  #rebuildPrefix(fromBlock: number): void {
    const blocks = Math.floor(this.#n / BLOCK);
    if (this.#prefix.length < (blocks + 1) * 8) {
      const next = new Uint32Array(Math.max((blocks + 1) * 8, Math.ceil(this.#prefix.length * 1.5)));
      next.set(this.#prefix.subarray(0, (fromBlock + 1) * 8));
      this.#prefix = next;
    }
    const acc = zeroSum();
    addSum(acc, this.#prefix, fromBlock * 8, 1);
    for (let b = fromBlock; b < blocks; b++) {
      addItems(acc, this.#ts, this.#ids, b * BLOCK, (b + 1) * BLOCK, 1);
      normalize(acc);
      this.#prefix.set(acc, (b + 1) * 8);
    }
  }

  /**
   * Adds keys (any order, repeats and already-indexed keys ignored); returns how many were new.
   * An id re-indexed at another ts is a new key here: see docs/ANTI_ENTROPY.md §Index for when `NamespaceIndexes` rebuilds.
   * @example index.insert([{ ts: 1732000000, id: "sha256:…" }])
   */
  insert(keys: readonly ReceiptKey[]): number {
    keys.forEach((k, i) => checkKey(k, `keys[${i}]`));
    const sorted = [...keys].sort(compareReceiptKeys);
    const fresh: ReceiptKey[] = [];
    for (const k of sorted) {
      const prev = fresh[fresh.length - 1];
      if (prev !== undefined && compareReceiptKeys(prev, k) === 0) continue;
      if (this.has(k)) continue;
      fresh.push(k);
    }
    if (fresh.length === 0) return 0;
    const first = this.lowerBound(this.#wire(fresh[0]!));
    const n = this.#n;
    if (first === n) {
      this.#grow(n + fresh.length);
      fresh.forEach((k, i) => this.#put(n + i, k));
    } else {
      // Merge from the first displaced position: O(n − first + k).
      const tailTs = this.#ts.slice(first, n);
      const tailIds = this.#ids.slice(first * 32, n * 32);
      this.#grow(n + fresh.length);
      let i = 0;
      let j = 0;
      let out = first;
      while (i < tailTs.length || j < fresh.length) {
        const takeFresh = i === tailTs.length || (j < fresh.length && this.#compareTail(fresh[j]!, tailTs[i]!, tailIds, i) < 0);
        if (takeFresh) {
          this.#put(out++, fresh[j++]!);
        } else {
          this.#ts[out] = tailTs[i]!;
          this.#ids.set(tailIds.subarray(i * 32, i * 32 + 32), out * 32);
          out++;
          i++;
        }
      }
    }
    this.#n = n + fresh.length;
    this.#rebuildPrefix(Math.floor(first / BLOCK));
    return fresh.length;
  }

  #wire(key: ReceiptKey): WireKey {
    return { ts: key.ts, id: Uint8Array.from(Buffer.from(key.id.slice(7), "hex")) };
  }

  #compareTail(key: ReceiptKey, ts: number, ids: Uint8Array, i: number): number {
    if (key.ts !== ts) return key.ts < ts ? -1 : 1;
    return Buffer.compare(Buffer.from(key.id.slice(7), "hex"), ids.subarray(i * 32, i * 32 + 32));
  }

  /**
   * True when exactly this `(ts, id)` is indexed.
   * @example index.has({ ts: 1, id: "sha256:…" })
   */
  has(key: ReceiptKey): boolean {
    const wire = this.#wire(key);
    const p = this.lowerBound(wire);
    return p < this.#n && this.compareAt(p, wire) === 0;
  }

  /** Compares the item at `pos` with `key` (short ids compare as if zero-padded). */
  compareAt(pos: number, key: WireKey): number {
    const ts = this.#ts[pos]!;
    if (ts !== key.ts) return ts < key.ts ? -1 : 1;
    const o = pos * 32;
    for (let k = 0; k < 32; k++) {
      const a = this.#ids[o + k]!;
      const b = k < key.id.length ? key.id[k]! : 0;
      if (a !== b) return a < b ? -1 : 1;
    }
    return 0;
  }

  /**
   * First position whose item is ≥ `key` (a bound: ts plus an id prefix, zero-padded).
   * @example index.lowerBound({ ts: 1732000000, id: new Uint8Array(0) })
   */
  lowerBound(key: WireKey): number {
    let lo = 0;
    let hi = this.#n;
    while (lo < hi) {
      const mid = Math.floor((lo + hi) / 2);
      if (this.compareAt(mid, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  tsAt(pos: number): number {
    return this.#ts[pos]!;
  }

  /** The 32 id bytes at `pos`, as a view valid until the next `insert`. */
  idAt(pos: number): Uint8Array {
    return this.#ids.subarray(pos * 32, pos * 32 + 32);
  }

  /**
   * All id bytes as 32-bit words in platform byte order (8 per item), a view valid until the next `insert`.
   * @example index.idWords()[pos * 8] // first four id bytes of the item at pos
   */
  idWords(): Int32Array {
    return new Int32Array(this.#ids.buffer, this.#ids.byteOffset, this.#n * 8);
  }

  /**
   * The receipt key at `pos`.
   * @example index.keyAt(0) // { ts: 1732000000, id: "sha256:…" }
   */
  keyAt(pos: number): ReceiptKey {
    return { ts: this.#ts[pos]!, id: `sha256:${Buffer.from(this.idAt(pos)).toString("hex")}` };
  }

  #prefixSum(pos: number, acc: Float64Array, sign: 1 | -1): void {
    const b = Math.floor(pos / BLOCK);
    const start = b * BLOCK;
    const fullBlocks = Math.floor(this.#n / BLOCK);
    if (b < fullBlocks && pos - start > BLOCK / 2) {
      addSum(acc, this.#prefix, (b + 1) * 8, sign);
      addItems(acc, this.#ts, this.#ids, pos, start + BLOCK, sign === 1 ? -1 : 1);
    } else {
      addSum(acc, this.#prefix, b * 8, sign);
      addItems(acc, this.#ts, this.#ids, start, pos, sign);
    }
    normalize(acc);
  }

  /**
   * The 16-byte fingerprint of positions `[lo, hi)` (docs/ANTI_ENTROPY.md §Fingerprint).
   * @example index.fingerprint(0, index.size)
   */
  fingerprint(lo: number, hi: number): Uint8Array {
    if (!(Number.isInteger(lo) && Number.isInteger(hi) && 0 <= lo && lo <= hi && hi <= this.#n)) throw new ArgumentError("lo, hi", `expected 0 ≤ lo ≤ hi ≤ ${this.#n}, got ${lo}, ${hi}`);
    const acc = zeroSum();
    this.#prefixSum(hi, acc, 1);
    this.#prefixSum(lo, acc, -1);
    return fingerprintOf(acc, hi - lo);
  }

  /**
   * The fingerprint of positions `[lo, hi)` without the items at `except` (distinct positions inside the range).
   * @example index.fingerprintExcept(0, 10, [3, 7]) // fingerprint of the other 8 items
   */
  fingerprintExcept(lo: number, hi: number, except: readonly number[]): Uint8Array {
    if (!(Number.isInteger(lo) && Number.isInteger(hi) && 0 <= lo && lo <= hi && hi <= this.#n)) throw new ArgumentError("lo, hi", `expected 0 ≤ lo ≤ hi ≤ ${this.#n}, got ${lo}, ${hi}`);
    const acc = zeroSum();
    this.#prefixSum(hi, acc, 1);
    this.#prefixSum(lo, acc, -1);
    for (const pos of except) {
      if (!(Number.isInteger(pos) && lo <= pos && pos < hi)) throw new ArgumentError("except", `position ${pos} outside [${lo}, ${hi})`);
      addItems(acc, this.#ts, this.#ids, pos, pos + 1, -1);
    }
    return fingerprintOf(acc, hi - lo - except.length);
  }
}
