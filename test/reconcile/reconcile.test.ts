import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { propertySeed } from "../support/property-seed.js";
import { createHash } from "node:crypto";
import { seededRandom } from "../../lib/reconcile/limits.js";
import { decodePayload } from "../../lib/reconcile/payload.js";
import type { ReconcilePart } from "../../lib/reconcile/session.js";
import type { ReceiptKey } from "../../lib/store/types.js";
import { BASE_TS, byKey, exchange, honest, idOf, indexOf, keyName, keysOf, minus, type Responder } from "./exchange.js";

const SEED = propertySeed(20261124);

const NS = "dao:vaultmesh";

/** Asserts both sides learned exactly A\B and B\A, and returns the exchange. */
function reconcileExactly(a: ReceiptKey[], b: ReceiptKey[], limits = {}, seed = 1) {
  const r = exchange(new Map([[NS, indexOf(a)]]), honest(new Map([[NS, indexOf(b)]]), limits, seed), limits, seed);
  assert.equal(r.error, undefined, r.error);
  const aNotB = minus(a, b);
  const bNotA = minus(b, a);
  const mine = r.initiator.find((d) => d.namespace === NS)!;
  assert.deepEqual(mine.have.map(keyName).sort(), aNotB, "initiator have = A \\ B");
  assert.deepEqual(mine.need.map(keyName).sort(), bNotA, "initiator need = B \\ A");
  const theirs = r.responder.get(NS) ?? { have: new Set<string>(), need: new Set<string>() };
  // Ranges settled by cells tell the stateless responder what it lacks, not what it alone holds
  // (docs/ANTI_ENTROPY.md §Algorithm, "Result"); in payload version 1 it learns both.
  const bSet = new Set(bNotA);
  for (const k of theirs.have) assert.ok(bSet.has(k), "responder have ⊆ B \\ A");
  if ((limits as { payloadVersion?: number }).payloadVersion === 1) assert.deepEqual([...theirs.have].sort(), bNotA, "responder have = B \\ A");
  assert.deepEqual([...theirs.need].sort(), aNotB, "responder need = A \\ B");
  return r;
}

/** Splits a universe of `n` items into A and B with the given shares, deterministically from `seed`. */
function split(n: number, both: number, onlyA: number, onlyB: number, seed: number, perSecond: number): [ReceiptKey[], ReceiptKey[]] {
  const random = seededRandom(seed);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < n; i++) {
    const u = random();
    if (u < both) (a.push(i), b.push(i));
    else if (u < both + onlyA) a.push(i);
    else if (u < both + onlyA + onlyB) b.push(i);
  }
  const salt = `s${seed}`;
  return [keysOf(a, perSecond, salt), keysOf(b, perSecond, salt)];
}

describe("reconcile: exact set differences", () => {
  test("reconcile: random sets of 0 to 10,000 items end with each side knowing exactly A\\B and B\\A", () => {
    const size = fc.oneof({ arbitrary: fc.integer({ min: 0, max: 60 }), weight: 5 }, { arbitrary: fc.integer({ min: 0, max: 1500 }), weight: 3 }, { arbitrary: fc.integer({ min: 0, max: 10_000 }), weight: 1 });
    const share = fc.oneof(fc.constant(0), fc.constant(1), fc.double({ min: 0, max: 1, noNaN: true }));
    fc.assert(
      fc.property(size, share, share, fc.integer({ min: 0, max: 2 ** 31 }), fc.constantFrom(1, 10, 1000), (n, overlap, lopsided, seed, perSecond) => {
        const both = overlap;
        const onlyA = (1 - both) * lopsided;
        reconcileExactly(...split(n, both, onlyA, 1 - both - onlyA, seed, perSecond), {}, seed);
      }),
      { numRuns: 80, seed: SEED },
    );
  });

  test("reconcile: equal sets finish in one round trip with a few hundred bytes", () => {
    for (const n of [0, 1, 17, 33, 1000, 100_000]) {
      const keys = keysOf([...Array(n).keys()]);
      const r = reconcileExactly(keys, keys);
      assert.equal(r.roundTrips, 1, `n = ${n}`);
      // Up to 2 × idsLimit items the opening lists the ids themselves (docs/ANTI_ENTROPY.md §Algorithm).
      assert.ok(r.bytes <= (n <= 32 ? 40 + 34 * n : 400), `n = ${n}: ${r.bytes} bytes`);
    }
  });

  test("reconcile: 10,000 items with a clustered gap and with scattered gaps on both sides", () => {
    const all = [...Array(10_000).keys()];
    reconcileExactly(keysOf(all), keysOf(all.filter((i) => i < 4000 || i >= 4700)));
    reconcileExactly(keysOf(all.filter((i) => i < 4000 || i >= 4700)), keysOf(all));
    reconcileExactly(keysOf(all.filter((i) => i % 37 !== 3)), keysOf(all.filter((i) => i % 53 !== 5)));
    reconcileExactly(keysOf(all.filter((i) => i % 2 === 0)), keysOf(all.filter((i) => i % 2 === 1)));
  });

  test("reconcile: one side empty", () => {
    const keys = keysOf([...Array(3000).keys()]);
    reconcileExactly([], keys);
    reconcileExactly(keys, []);
    reconcileExactly([], []);
  });

  test("reconcile: timestamps at 0, 2^32 and up to 2^53 − 1 order and travel exactly", () => {
    const tss = [0, 127, 128, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 53 - 2, 2 ** 53 - 1];
    const keys = tss.flatMap((ts, i) => [0, 1, 2].map((j) => ({ ts, id: idOf(i * 3 + j, "ts") }))).sort(byKey);
    reconcileExactly(keys, keys.filter((_, i) => i % 4 !== 1));
    reconcileExactly(keys.filter((_, i) => i % 3 === 0), keys.filter((_, i) => i % 3 !== 0), { idsLimit: 1, branching: 2 });
  });

  test("reconcile: a receipt held at different ts on the two sides counts as a difference on both", () => {
    const common = keysOf([...Array(200).keys()]);
    const moved = idOf(9999);
    const r = reconcileExactly([...common, { ts: BASE_TS + 1, id: moved }], [...common, { ts: BASE_TS + 5, id: moved }]);
    assert.deepEqual(r.initiator[0]!.need, [{ ts: BASE_TS + 5, id: moved }]);
    assert.deepEqual(r.initiator[0]!.have, [{ ts: BASE_TS + 1, id: moved }]);
  });

  test("reconcile: ids that share every short-id byte are still told apart (matched fingerprint check)", () => {
    const twin = (last: number) => `sha256:${"5a".repeat(31)}${last.toString(16).padStart(2, "0")}`;
    const common = keysOf([...Array(60).keys()], 1000);
    const a = [...common, { ts: BASE_TS, id: twin(1) }].sort(byKey);
    const b = [...common, { ts: BASE_TS, id: twin(2) }].sort(byKey);
    for (let seed = 1; seed <= 8; seed++) reconcileExactly(a, b, { idsLimit: 1 }, seed);
  });

  test("reconcile: a small message budget pages the work over more rounds and stays exact", () => {
    const all = [...Array(1500).keys()];
    const r = reconcileExactly(keysOf(all), keysOf(all.filter((i) => i % 3 === 0)), { maxMessageBytes: 4096 });
    assert.ok(r.roundTrips > 3, `${r.roundTrips} round trips`);
    reconcileExactly(keysOf(all.filter((i) => i % 2 === 0)), keysOf(all.filter((i) => i % 2 === 1)), { maxMessageBytes: 4096 });
  });

  test("reconcile: several namespaces in one session, including one the responder does not hold", () => {
    const all = [...Array(2000).keys()];
    const a = new Map([
      ["ns:one", indexOf(keysOf(all))],
      ["ns:two", indexOf(keysOf(all.filter((i) => i % 10 !== 0), 10, "two"))],
      ["ns:three", indexOf(keysOf(all.slice(0, 50), 10, "three"))],
    ]);
    const b = new Map([
      ["ns:one", indexOf(keysOf(all))],
      ["ns:two", indexOf(keysOf(all.filter((i) => i % 7 !== 0), 10, "two"))],
    ]);
    const r = exchange(a, honest(b));
    assert.equal(r.error, undefined);
    const by = new Map(r.initiator.map((d) => [d.namespace, d]));
    assert.deepEqual([by.get("ns:one")!.have.length, by.get("ns:one")!.need.length], [0, 0]);
    const two = all.filter((i) => i % 10 !== 0 && i % 7 === 0).length;
    const twoNeed = all.filter((i) => i % 7 !== 0 && i % 10 === 0).length;
    assert.deepEqual([by.get("ns:two")!.have.length, by.get("ns:two")!.need.length], [two, twoNeed]);
    assert.deepEqual([by.get("ns:three")!.have.length, by.get("ns:three")!.need.length], [50, 0]);
    assert.ok(r.roundTrips <= 4, `${r.roundTrips} round trips`);
  });

  test("reconcile: the result does not depend on the responder's randomness", () => {
    const all = [...Array(3000).keys()];
    const a = keysOf(all.filter((i) => i % 11 !== 2));
    const b = keysOf(all.filter((i) => i % 13 !== 4));
    const runs = [3, 4, 5].map((seed) => reconcileExactly(a, b, {}, seed).initiator[0]!);
    for (const r of runs) assert.deepEqual(r, runs[0]);
    assert.ok(createHash("sha256").update(JSON.stringify(runs[0])).digest("hex").length === 64);
  });
});

describe("reconcile: limits on the honest side", () => {
  test("reconcile: a tight range limit pages the work and never sends more ranges than the peer accepts", () => {
    const all = [...Array(6000).keys()];
    // Version 1 splits and lists only, so the limit makes it page; version 2 settles most ranges by cells.
    const r = reconcileExactly(keysOf(all.filter((i) => i % 5 !== 1)), keysOf(all.filter((i) => i % 7 !== 2)), { maxRanges: 72, payloadVersion: 1 });
    assert.ok(r.roundTrips > 4, `${r.roundTrips} round trips`);
    reconcileExactly(keysOf(all.filter((i) => i % 5 !== 1)), keysOf(all.filter((i) => i % 7 !== 2)), { maxRanges: 72 });
  });
});

describe("reconcile: round trips (docs/ANTI_ENTROPY.md §Measured targets, counted, not timed)", () => {
  test("reconcile: a clustered gap closes in at most 3 round trips, whichever side lacks it and wherever splits fall", () => {
    const all = [...Array(20_000).keys()];
    const full = keysOf(all, 100);
    for (const d of [1, 100, 2000]) {
      for (const start of [3000, 14_321]) {
        const part = keysOf(all.filter((i) => i < start || i >= start + d), 100);
        for (const seed of [1, 2]) {
          assert.ok(reconcileExactly(full, part, {}, seed).roundTrips <= 3, `d=${d} start=${start} initiator has it, seed ${seed}`);
          assert.ok(reconcileExactly(part, full, {}, seed).roundTrips <= 3, `d=${d} start=${start} responder has it, seed ${seed}`);
        }
      }
    }
  });

  test("reconcile: scattered differences close in at most 4 round trips", () => {
    const all = [...Array(20_000).keys()];
    for (const every of [10, 97, 5000]) {
      const r = reconcileExactly(keysOf(all, 100), keysOf(all.filter((i) => i % every !== 3), 100));
      assert.ok(r.roundTrips <= 4, `1 in ${every}: ${r.roundTrips}`);
    }
  });
});

describe("reconcile: payload versions (docs/ANTI_ENTROPY.md §Versions)", () => {
  /** Wraps a responder, noting the payload version and range modes of every message both ways. */
  function watched(responder: Responder, log: { versions: Set<number>; modes: Set<string> }): Responder {
    const note = (parts: readonly ReconcilePart[]) => {
      for (const p of parts) {
        const r = decodePayload(p.payload, 1_000_000);
        assert.ok(r.ok);
        log.versions.add(r.payload.version);
        for (const x of r.payload.ranges) log.modes.add(x.body.mode);
      }
    };
    return (message, round) => {
      note(message);
      const r = responder(message, round);
      if (r.ok) note(r.reply);
      return r;
    };
  }

  const all = [...Array(20_000).keys()];
  const cases: Array<[string, number[], number[]]> = [
    ["scattered", all, all.filter((i) => i % 97 !== 3)],
    ["clustered", all, all.filter((i) => i < 5000 || i >= 5300)],
    ["two-sided", all.filter((i) => i % 89 !== 1), all.filter((i) => i % 97 !== 3)],
    ["in sync", all, all],
  ];

  test("versions: an initiator that offers version 2 and a 0.1.0 responder reconcile exactly, in version 1 only", () => {
    for (const [name, a, b] of cases) {
      const log = { versions: new Set<number>(), modes: new Set<string>() };
      const r = exchange(new Map([[NS, indexOf(keysOf(a, 100))]]), watched(honest(new Map([[NS, indexOf(keysOf(b, 100))]]), { payloadVersion: 1 }), log));
      assert.equal(r.error, undefined, name);
      assert.deepEqual(r.initiator[0]!.have.map(keyName).sort(), minus(keysOf(a, 100), keysOf(b, 100)), name);
      assert.deepEqual(r.initiator[0]!.need.map(keyName).sort(), minus(keysOf(b, 100), keysOf(a, 100)), name);
      assert.deepEqual([...log.versions], [1], name);
      assert.ok(!log.modes.has("cells") && !log.modes.has("more"), name);
    }
  });

  test("versions: a 0.1.0 initiator and a version-2 responder reconcile exactly, in version 1 only", () => {
    for (const [name, a, b] of cases) {
      const log = { versions: new Set<number>(), modes: new Set<string>() };
      const r = exchange(new Map([[NS, indexOf(keysOf(a, 100))]]), watched(honest(new Map([[NS, indexOf(keysOf(b, 100))]])), log), { payloadVersion: 1 });
      assert.equal(r.error, undefined, name);
      assert.deepEqual(r.initiator[0]!.have.map(keyName).sort(), minus(keysOf(a, 100), keysOf(b, 100)), name);
      assert.deepEqual(r.initiator[0]!.need.map(keyName).sort(), minus(keysOf(b, 100), keysOf(a, 100)), name);
      assert.deepEqual([...log.versions], [1], name);
    }
  });

  test("versions: two version-2 sides settle scattered differences with cells, exactly", () => {
    const log = { versions: new Set<number>(), modes: new Set<string>() };
    const [a, b] = [cases[0]![1], cases[0]![2]];
    const r = exchange(new Map([[NS, indexOf(keysOf(a, 100))]]), watched(honest(new Map([[NS, indexOf(keysOf(b, 100))]])), log));
    assert.equal(r.error, undefined);
    assert.deepEqual(r.initiator[0]!.have.map(keyName).sort(), minus(keysOf(a, 100), keysOf(b, 100)));
    assert.ok(log.versions.has(2) && log.modes.has("cells"));
  });
});

describe("reconcile: scattered bytes per difference (issue #16 item 5, counted, not timed)", () => {
  const n = 50_000;
  const all = [...Array(n).keys()];
  const full = keysOf(all, 100);
  const fullIndex = indexOf(full);

  test("reconcile: one scattered difference costs at most 300 B and 2 round trips, in sync at most 200 B and 1", () => {
    for (const missing of [12_345, 40_001]) {
      for (const [a, b] of [[full, full.filter((_, i) => i !== missing)], [full.filter((_, i) => i !== missing), full]]) {
        const r = reconcileExactly(a!, b!);
        assert.ok(r.bytes <= 300 && r.roundTrips <= 2, `${r.bytes} B, ${r.roundTrips} round trips`);
      }
    }
    const same = exchange(new Map([[NS, fullIndex]]), honest(new Map([[NS, fullIndex]])));
    assert.ok(same.bytes <= 200 && same.roundTrips === 1, `${same.bytes} B`);
  });

  test("reconcile: 100 and 2,000 scattered differences cost at most 300 B each within 4 round trips", () => {
    for (const d of [100, 2000]) {
      const random = seededRandom(d);
      const gone = new Set<number>();
      while (gone.size < d) gone.add(Math.floor(random() * n));
      const r = reconcileExactly(full, full.filter((_, i) => !gone.has(i)));
      assert.ok(r.bytes <= 300 * d && r.roundTrips <= 4, `d = ${d}: ${r.bytes} B, ${r.roundTrips} round trips`);
    }
  });
});
