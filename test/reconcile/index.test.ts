import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ArgumentError } from "../../lib/errors.js";
import { seededRandom } from "../../lib/reconcile/limits.js";
import { ReconcileIndex } from "../../lib/reconcile/reconcile-index.js";
import type { ReceiptKey } from "../../lib/store/types.js";
import { byKey, idOf, keysOf } from "./exchange.js";

/**
 * An independent reference for docs/ANTI_ENTROPY.md §Fingerprint, in BigInt:
 * item = (id as a 256-bit little-endian integer) XOR ts; fingerprint = sha256(Σ items mod 2^256, 32 bytes LE ‖ varint(count))[0..16).
 */
function referenceFingerprint(keys: readonly ReceiptKey[]): string {
  let sum = 0n;
  for (const k of keys) {
    const le = Buffer.from(k.id.slice(7), "hex").reverse().toString("hex");
    sum = (sum + (BigInt(`0x${le}`) ^ BigInt(k.ts))) % 2n ** 256n;
  }
  const bytes = Buffer.from(sum.toString(16).padStart(64, "0"), "hex").reverse();
  const varint: number[] = [];
  let c = keys.length;
  while (c >= 128) (varint.push((c % 128) + 128), (c = Math.floor(c / 128)));
  varint.push(c);
  return createHash("sha256").update(Buffer.concat([bytes, Buffer.from(varint)])).digest().subarray(0, 16).toString("hex");
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("reconcile index", () => {
  const keys = keysOf([...Array(1000).keys()], 7);

  test("index: range fingerprints match an independent BigInt computation, for ranges inside and across blocks", () => {
    const index = ReconcileIndex.fromSorted(keys);
    const random = seededRandom(3);
    const ranges: [number, number][] = [[0, 0], [0, 1], [0, 1000], [31, 33], [32, 64], [17, 49], [999, 1000], [500, 500]];
    for (let i = 0; i < 40; i++) {
      const a = Math.floor(random() * 1001);
      const b = Math.floor(random() * 1001);
      ranges.push([Math.min(a, b), Math.max(a, b)]);
    }
    for (const [lo, hi] of ranges) assert.equal(hex(index.fingerprint(lo, hi)), referenceFingerprint(keys.slice(lo, hi)), `[${lo}, ${hi})`);
  });

  test("index: the fingerprint covers ts: the same id at another second changes it", () => {
    const a = ReconcileIndex.fromSorted([{ ts: 5, id: idOf(1) }]);
    const b = ReconcileIndex.fromSorted([{ ts: 6, id: idOf(1) }]);
    assert.notEqual(hex(a.fingerprint(0, 1)), hex(b.fingerprint(0, 1)));
  });

  test("index: timestamps near 2^53 take part in the sum exactly", () => {
    const big = [0, 2 ** 32, 2 ** 53 - 1].map((ts, i) => ({ ts, id: idOf(i, "big") }));
    const index = ReconcileIndex.fromSorted(big);
    assert.equal(hex(index.fingerprint(0, 3)), referenceFingerprint(big));
    assert.deepEqual(index.keyAt(2), big[2]);
  });

  test("index: inserting in any order, in batches, with repeats, gives the same index as building from sorted keys", () => {
    const built = ReconcileIndex.fromSorted(keys);
    const random = seededRandom(11);
    const shuffled = [...keys].sort(() => random() - 0.5);
    const grown = new ReconcileIndex();
    let added = 0;
    for (let i = 0; i < shuffled.length; i += 97) added += grown.insert(shuffled.slice(i, i + 97));
    added += grown.insert(keys.slice(0, 50));
    assert.equal(added, 1000);
    assert.equal(grown.size, 1000);
    for (const [lo, hi] of [[0, 1000], [13, 870], [64, 96]] as const) assert.equal(hex(grown.fingerprint(lo, hi)), hex(built.fingerprint(lo, hi)));
    for (let i = 0; i < 1000; i += 111) assert.deepEqual(grown.keyAt(i), keys[i]);
  });

  test("index: appends after the last key and merges earlier keys", () => {
    const index = ReconcileIndex.fromSorted(keys.slice(0, 10));
    assert.equal(index.insert(keys.slice(10, 20)), 10);
    assert.equal(index.insert([keys[25]!, keys[20]!, keys[3]!]), 2);
    assert.equal(index.size, 22);
    assert.equal(hex(index.fingerprint(0, 22)), referenceFingerprint([...keys.slice(0, 21), keys[25]!]));
    assert.equal(index.has(keys[25]!), true);
    assert.equal(index.has(keys[24]!), false);
  });

  test("index: lowerBound orders by ts, then by id bytes with a short prefix read as zero-padded", () => {
    const k = [
      { ts: 10, id: `sha256:${"00".repeat(32)}` },
      { ts: 10, id: `sha256:80${"00".repeat(31)}` },
      { ts: 11, id: `sha256:${"ff".repeat(32)}` },
    ];
    const index = ReconcileIndex.fromSorted(k);
    assert.equal(index.lowerBound({ ts: 10, id: new Uint8Array(0) }), 0);
    assert.equal(index.lowerBound({ ts: 10, id: Uint8Array.of(0x01) }), 1);
    assert.equal(index.lowerBound({ ts: 10, id: Uint8Array.of(0x80) }), 1);
    assert.equal(index.lowerBound({ ts: 10, id: Uint8Array.of(0x80, 0) }), 1);
    assert.equal(index.lowerBound({ ts: 10, id: Uint8Array.of(0x80, 1) }), 2);
    assert.equal(index.lowerBound({ ts: 12, id: new Uint8Array(0) }), 3);
  });

  test("index: fingerprintExcept equals the fingerprint of the range without those items", () => {
    const index = ReconcileIndex.fromSorted(keys);
    const rest = keys.slice(100, 200).filter((_, i) => i !== 5 && i !== 77);
    assert.equal(hex(index.fingerprintExcept(100, 200, [105, 177])), referenceFingerprint(rest));
    assert.throws(() => index.fingerprintExcept(100, 200, [200]), ArgumentError);
  });

  test("index: rejects unsorted, repeated or malformed keys and bad ranges with ArgumentError", () => {
    assert.throws(() => ReconcileIndex.fromSorted([keys[1]!, keys[0]!]), (e: unknown) => e instanceof ArgumentError && /keys\[1\]/.test(e.message));
    assert.throws(() => ReconcileIndex.fromSorted([keys[0]!, keys[0]!]), ArgumentError);
    assert.throws(() => ReconcileIndex.fromSorted([{ ts: 1, id: "sha256:XYZ" }]), ArgumentError);
    assert.throws(() => ReconcileIndex.fromSorted([{ ts: 1, id: `sha256:${"AB".repeat(32)}` }]), ArgumentError);
    assert.throws(() => new ReconcileIndex().insert([{ ts: -1, id: idOf(1) }]), ArgumentError);
    assert.throws(() => new ReconcileIndex().insert([{ ts: 2 ** 53, id: idOf(1) }]), ArgumentError);
    assert.throws(() => ReconcileIndex.fromSorted(keys).fingerprint(5, 4), ArgumentError);
    assert.throws(() => ReconcileIndex.fromSorted(keys).fingerprint(0, 1001), ArgumentError);
  });

  test("index: an empty index has size 0 and the empty-range fingerprint", () => {
    const index = new ReconcileIndex();
    assert.equal(index.size, 0);
    assert.equal(hex(index.fingerprint(0, 0)), referenceFingerprint([]));
    assert.deepEqual([...keysOf([])].sort(byKey), []);
  });
});
