import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { decodePayload, PayloadWriter, type RangeBody, type WireRange } from "../../lib/reconcile/payload.js";
import { ByteReader, ByteWriter, WireError } from "../../lib/reconcile/varint.js";

const id = (b: number) => new Uint8Array(32).fill(b);

describe("reconcile codec", () => {
  // Values from the task: both sides of each 7-bit boundary, 2^32 (where 32-bit bit operations break) and 2^53 − 1.
  const VARINTS: Array<[number, number[]]> = [
    [0, [0x00]],
    [127, [0x7f]],
    [128, [0x80, 0x01]],
    [300, [0xac, 0x02]],
    [2 ** 32, [0x80, 0x80, 0x80, 0x80, 0x10]],
    [2 ** 53 - 1, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]],
  ];

  test("varint: encodes and decodes 0, 127, 128, 2^32 and 2^53 − 1 exactly (LEB128)", () => {
    for (const [value, bytes] of VARINTS) {
      const w = new ByteWriter();
      w.varint(value);
      assert.deepEqual([...w.bytes()], bytes, String(value));
      assert.equal(new ByteReader(Uint8Array.from(bytes)).varint(), value);
    }
  });

  test("varint: refuses values above 2^53 − 1, negatives, and fractions when writing", () => {
    for (const bad of [2 ** 53, -1, 1.5, Number.NaN]) assert.throws(() => new ByteWriter().varint(bad), RangeError);
  });

  test("varint: rejects truncated, over-long, oversized and non-canonical input", () => {
    const cases: Array<[number[], RegExp]> = [
      [[], /truncated/],
      [[0x80], /truncated/],
      [[0x80, 0x00], /non-canonical/],
      [[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x10], /2\^53/],
      [[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], /longer than 8/],
    ];
    for (const [bytes, reason] of cases) assert.throws(() => new ByteReader(Uint8Array.from(bytes)).varint(), (e: unknown) => e instanceof WireError && reason.test(e.message), String(bytes));
  });

  test("payload: every range mode round-trips, with bounds and item ts relative to the range start", () => {
    const ranges: WireRange[] = [
      { upper: { ts: 1_732_000_000, id: new Uint8Array(0) }, body: { mode: "skip" } },
      { upper: { ts: 1_732_000_000, id: Uint8Array.of(7, 9) }, body: { mode: "fingerprint", count: 62_500, fingerprint: new Uint8Array(16).fill(3) } },
      { upper: { ts: 1_732_000_005, id: Uint8Array.of(1) }, body: { mode: "ids", items: [{ ts: 1_732_000_000, id: id(8) }, { ts: 1_732_000_004, id: id(1) }] } },
      { upper: { ts: 2 ** 40, id: new Uint8Array(0) }, body: { mode: "prefixes", count: 2, width: 5, shorts: new Uint8Array(10).fill(4) } },
      { upper: { ts: 2 ** 53 - 2, id: id(255) }, body: { mode: "diff", bits: 10, bitmap: Uint8Array.of(1, 2), matched: new Uint8Array(16).fill(9), items: [{ ts: 2 ** 53 - 3, id: id(2) }] } },
      { upper: { ts: 2 ** 53 - 1, id: new Uint8Array(0) }, body: { mode: "items", items: [] } },
      { upper: null, body: { mode: "verdict", bits: 1, bitmap: Uint8Array.of(1), items: [{ ts: 2 ** 53 - 1, id: id(3) }] } },
    ];
    const w = new PayloadWriter(17);
    for (const r of ranges) w.range(r.upper, r.body);
    const decoded = decodePayload(w.bytes(), 100);
    assert.ok(decoded.ok);
    assert.equal(decoded.payload.shortOffset, 17);
    assert.deepEqual(JSON.parse(JSON.stringify(decoded.payload.ranges)), JSON.parse(JSON.stringify(ranges)));
  });

  function payload(...parts: Array<[{ ts: number; id: Uint8Array } | null, RangeBody]>): Uint8Array {
    const w = new PayloadWriter(0);
    for (const [upper, body] of parts) w.range(upper, body);
    return w.bytes();
  }

  test("payload: garbage and truncation become a reason, never an exception", () => {
    const good = payload([{ ts: 5, id: new Uint8Array(0) }, { mode: "ids", items: [{ ts: 1, id: id(1) }] }], [null, { mode: "skip" }]);
    // Bytes 0–1 are the header and 2–38 the first range; a cut anywhere inside that range must be caught.
    // (A cut at a range boundary leaves a shorter valid payload: the rest reads as skipped, and a skipped
    // range is only ever a claim of agreement, which the signed envelope vouches for.)
    assert.equal(good.length, 41);
    for (let cut = 3; cut < 39; cut++) assert.equal(decodePayload(good.subarray(0, cut), 100).ok, false, `cut at ${cut}`);
    assert.equal(decodePayload(good.subarray(0, 1), 100).ok, false);
    const cases: Array<[number[], RegExp]> = [
      [[], /truncated/],
      [[3, 0], /version 3/],
      [[2, 0], /truncated: expected 8 bytes/],
      [[1, 0, 0, 7, 1], /unknown range mode 7/],
      [[1, 0, 0, 8, 1], /unknown range mode 8/],
      [[2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 9], /unknown range mode 9/],
      [[2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 7, 0], /0 cells/],
      [[2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 7, 2, ...Array(60).fill(0)], /count 2 exceeds/],
      [[2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 8, 0], /request for 0 cells/],
      [[2, 0, 1, 2, 3, 4, 5, 6, 7, 8, 0, 8, 0x80, 0x80, 0x80, 0x01], /request for 2097152 cells/],
      [[1, 27], /offset 27/],
      [[1, 0, 0, 9], /unknown range mode 9/],
      [[1, 0, 0, 0, 1, 0], /after the \+∞ bound/],
      [[1, 0, 5, 33], /prefix of 33 bytes/],
      [[1, 0, 0, 2, 0xff, 0x7f], /count 16383 exceeds/],
      [[1, 0, 0, 3, 1, 3, 0, 0, 0], /short ids of 3 bytes/],
    ];
    for (const [bytes, reason] of cases) {
      const r = decodePayload(Uint8Array.from(bytes), 100);
      assert.ok(!r.ok && reason.test(r.reason), `${JSON.stringify(bytes)} → ${r.ok ? "ok" : r.reason}`);
    }
    // A side that speaks only version 1 refuses version 2 as 0.1.0 does.
    const v1only = decodePayload(Uint8Array.from([2, 0, 1, 2, 3, 4, 5, 6, 7, 8]), 100, 1);
    assert.ok(!v1only.ok && /unsupported payload version 2/.test(v1only.reason));
  });

  test("payload: bounds must increase and ranges stay under the limit", () => {
    const down = payload([{ ts: 9, id: new Uint8Array(0) }, { mode: "skip" }]);
    // Hand-append a second bound at the same ts and prefix: code 1 (delta 0), no prefix, mode skip.
    const repeated = Uint8Array.from([...down, 1, 0, 0]);
    const r = decodePayload(repeated, 100);
    assert.ok(!r.ok && /not increasing/.test(r.reason));
    const many = payload(...Array.from({ length: 5 }, (_, i): [{ ts: number; id: Uint8Array }, RangeBody] => [{ ts: i + 1, id: new Uint8Array(0) }, { mode: "skip" }]));
    const limited = decodePayload(many, 4);
    assert.ok(!limited.ok && /more than 4 ranges/.test(limited.reason));
    assert.ok(decodePayload(many, 5).ok);
  });
});
