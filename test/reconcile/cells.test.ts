import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { cellsFor, cellsOf, decode, estimateDifferences, fromWire, toWire } from "../../lib/reconcile/cells.js";
import { seededRandom } from "../../lib/reconcile/limits.js";
import { capabilityRange, decodePayload, offeredSeed, PayloadWriter } from "../../lib/reconcile/payload.js";
import type { ReconcileIndex } from "../../lib/reconcile/reconcile-index.js";
import { BASE_TS, indexOf, keysOf } from "./exchange.js";

const SEED = Uint8Array.of(9, 8, 7, 6, 5, 4, 3, 2);
const everything = () => true;

/** Universe 0 … n − 1; A lacks `onlyB`, B lacks `onlyA` (deterministic from `seed`). */
function sides(n: number, onlyA: number, onlyB: number, seed: number): [ReconcileIndex, ReconcileIndex] {
  const random = seededRandom(seed);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = random();
    if (u < onlyA / n) a.push(i);
    else if (u < (onlyA + onlyB) / n) b.push(i);
    else (a.push(i), b.push(i));
  }
  return [indexOf(keysOf(a, 10, `c${seed}`)), indexOf(keysOf(b, 10, `c${seed}`))];
}

describe("reconcile cells (rateless coded symbols)", () => {
  test("cells: B's cells minus A's decode to exactly A\\B and B\\A, one-sided and two-sided", () => {
    for (const [onlyA, onlyB] of [[1, 0], [0, 1], [3, 2], [40, 0], [150, 150]] as const) {
      for (let seed = 1; seed <= 3; seed++) {
        const [a, b] = sides(5000, onlyA, onlyB, seed);
        const theirs = fromWire(toWire(cellsOf(b, 0, b.size, BASE_TS, 2 * cellsFor(onlyA + onlyB), SEED)));
        const r = decode(theirs, a, 0, a.size, BASE_TS, SEED, everything);
        assert.ok(r.ok, `${onlyA}/${onlyB} seed ${seed}: ${r.ok ? "" : r.reason}`);
        for (const pos of r.mine) assert.equal(b.lowerBound({ ts: a.tsAt(pos), id: a.idAt(pos) }) < b.size && b.compareAt(b.lowerBound({ ts: a.tsAt(pos), id: a.idAt(pos) }), { ts: a.tsAt(pos), id: a.idAt(pos) }) === 0, false, "mine: B lacks it");
        for (const k of r.theirs) assert.equal(a.compareAt(Math.min(a.lowerBound(k), a.size - 1), k) === 0, false, "theirs: A lacks it");
        assert.equal(new Set(r.mine).size, r.mine.length);
        assert.equal(a.size - r.mine.length + r.theirs.length, b.size);
      }
    }
  });

  test("cells: an item joins cell i with probability about 2 / (i + 2)", () => {
    const index = indexOf(keysOf([...Array(20_000).keys()], 10, "density"));
    const cells = cellsOf(index, 0, index.size, BASE_TS, 1001, SEED);
    assert.equal(cells.count(0), 20_000);
    for (const i of [1, 2, 10, 100, 1000]) {
      const expected = (20_000 * 2) / (i + 2);
      const got = cells.count(i);
      assert.ok(Math.abs(got - expected) < 5 * Math.sqrt(expected), `cell ${i}: ${got} items, expected about ${expected.toFixed(0)}`);
    }
  });

  test("cells: too few cells report a failure with an estimate, never a wrong answer", () => {
    const [a, b] = sides(5000, 200, 0, 4);
    const r = decode(fromWire(toWire(cellsOf(b, 0, b.size, BASE_TS, 60, SEED))), a, 0, a.size, BASE_TS, SEED, everything);
    assert.ok(!r.ok && !r.inconsistent);
    assert.ok(r.estimate >= 60, `estimate ${r.estimate}`);
    // With empty cells among them, the estimate lands near the truth.
    const big = decode(fromWire(toWire(cellsOf(b, 0, b.size, BASE_TS, 250, SEED))), a, 0, a.size, BASE_TS, SEED, everything);
    if (!big.ok) assert.ok(big.estimate > 100 && big.estimate < 400, `estimate ${big.estimate}`);
    assert.equal(estimateDifferences(10, 0), 80);
    assert.equal(cellsFor(1), 2);
  });

  test("cells: cells made with another seed, or of another range, do not decode into anything", () => {
    const [a, b] = sides(3000, 5, 5, 5);
    const other = decode(fromWire(toWire(cellsOf(b, 0, b.size, BASE_TS, 40, Uint8Array.of(1, 1, 1, 1, 1, 1, 1, 1)))), a, 0, a.size, BASE_TS, SEED, everything);
    assert.ok(!other.ok);
    const shifted = decode(fromWire(toWire(cellsOf(b, 0, b.size, BASE_TS + 1, 40, SEED))), a, 0, a.size, BASE_TS, SEED, everything);
    assert.ok(!shifted.ok);
  });

  test("payload: version 2 carries the seed, cells and requests for more, and round-trips exactly", () => {
    const index = indexOf(keysOf([...Array(50).keys()]));
    const cells = toWire(cellsOf(index, 0, index.size, 0, 5, SEED));
    const w = new PayloadWriter(3, SEED);
    w.range({ ts: BASE_TS + 2, id: Uint8Array.of(7) }, { mode: "cells", cells });
    w.range(null, { mode: "more", count: 12 });
    const r = decodePayload(w.bytes(), 100);
    assert.ok(r.ok);
    assert.equal(r.payload.version, 2);
    assert.deepEqual([...r.payload.seed!], [...SEED]);
    assert.deepEqual(JSON.parse(JSON.stringify(r.payload.ranges[0]!.body)), JSON.parse(JSON.stringify({ mode: "cells", cells })));
    assert.deepEqual(r.payload.ranges[1]!.body, { mode: "more", count: 12 });
    assert.throws(() => new PayloadWriter(0).range(null, { mode: "more", count: 1 }), /version 2/);
  });

  test("payload: the capability range is an empty version-1 range that names the seed", () => {
    const w = new PayloadWriter(0);
    w.range(...capabilityRange(SEED));
    w.range(null, { mode: "fingerprint", count: 3, fingerprint: new Uint8Array(16) });
    const r = decodePayload(w.bytes(), 100, 1);
    assert.ok(r.ok, "a version-1 reader accepts it");
    assert.deepEqual([...offeredSeed(r.payload)!], [...SEED]);
    const plain = new PayloadWriter(0);
    plain.range(null, { mode: "fingerprint", count: 0, fingerprint: new Uint8Array(16) });
    const p = decodePayload(plain.bytes(), 100);
    assert.ok(p.ok && offeredSeed(p.payload) === undefined);
  });
});
