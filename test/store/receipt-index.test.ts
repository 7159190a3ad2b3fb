/**
 * The in-memory (ts, id) index (lib/store/receipt-index.ts) against a plain sort,
 * over random batches in random arrival orders (fast-check).
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { propertySeed } from "../support/property-seed.js";
import { compareKeys, ReceiptIndex } from "../../lib/store/receipt-index.js";

const SEED = propertySeed();

type Batch = { name: string; ts: number; ids: string[] };
const byName = (a: Batch, b: Batch) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

function build(batches: readonly Batch[]): ReceiptIndex<Batch> {
  const index = new ReceiptIndex<Batch>(byName);
  for (const b of batches) index.insert(b.ids.map((id) => ({ ts: b.ts, id, batch: b })));
  return index;
}

const batchesArb = fc
  .uniqueArray(
    fc.record({ ts: fc.integer({ min: 0, max: 20 }), ids: fc.array(fc.stringMatching(/^[0-9a-f]{1,3}$/), { maxLength: 12 }) }),
    { maxLength: 10 },
  )
  .map((bs) => bs.map((b, i) => ({ name: `b${i}`, ...b })));

describe("receipt index", () => {
  test("insert: the order equals a sort of the distinct ids whatever the arrival order", () => {
    fc.assert(
      fc.property(batchesArb, fc.func(fc.integer()), (batches, shuffleKey) => {
        const shuffled = [...batches].sort((a, b) => shuffleKey(a.name) - shuffleKey(b.name));
        const a = build(batches);
        const b = build(shuffled);
        // Expected: each id once, at the ts of the copy in the batch preferBatch puts first, never the
        // copy with the earliest ts (a claimant signs its ts, docs/FEDERATION_SEMANTICS.md §6. Threat model).
        const best = new Map<string, { ts: number; name: string }>();
        for (const bt of batches) for (const id of bt.ids) {
          const cur = best.get(id);
          if (cur === undefined || bt.name < cur.name) best.set(id, { ts: bt.ts, name: bt.name });
        }
        const expected = [...best].map(([id, v]) => ({ ts: v.ts, id, name: v.name })).sort(compareKeys);
        const view = (i: ReceiptIndex<Batch>) => i.keys().map((k) => ({ ts: k.ts, id: k.id, name: k.batch.name }));
        assert.deepEqual(view(a), expected);
        assert.deepEqual(view(b), expected);
        assert.equal(a.size, best.size);
      }),
      { numRuns: 300, seed: SEED },
    );
  });

  test("tsRange and lowerBound: agree with a linear scan", () => {
    fc.assert(
      fc.property(batchesArb, fc.integer({ min: -1, max: 21 }), fc.integer({ min: -1, max: 21 }), (batches, x, y) => {
        const index = build(batches);
        const keys = index.keys();
        const [from, to] = x <= y ? [x, y] : [y, x];
        const [start, end] = index.tsRange(from, to);
        assert.deepEqual(keys.slice(start, end), keys.filter((k) => k.ts >= from && k.ts <= to));
        for (const probe of [{ ts: from, id: "" }, { ts: to, id: "8" }, ...keys.slice(0, 3)]) {
          const pos = index.lowerBound(probe);
          assert.ok(keys.slice(0, pos).every((k) => compareKeys(k, probe) < 0));
          assert.ok(keys.slice(pos).every((k) => compareKeys(k, probe) >= 0));
        }
      }),
      { numRuns: 300, seed: SEED },
    );
  });

  test("active first: each id is indexed at its copy in an active batch when one holds it, also after batches become active or stop being so", () => {
    type Ranked = Batch & { active: boolean };
    const rank = (b: Ranked) => (b.active ? 0 : 1);
    fc.assert(
      fc.property(batchesArb, fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }), fc.array(fc.integer({ min: 0, max: 9 }), { maxLength: 6 }), (plain, activeAt, flips) => {
        const batches: Ranked[] = plain.map((b, i) => ({ ...b, active: activeAt[i]! }));
        const index = new ReceiptIndex<Ranked>(byName, rank);
        for (const b of batches) index.insert(b.ids.map((id) => ({ ts: b.ts, id, batch: b })));
        const check = () => {
          const best = new Map<string, Ranked>();
          const better = (x: Ranked, y: Ranked) => rank(x) - rank(y) || byName(x, y);
          for (const bt of batches) for (const id of bt.ids) if (!best.has(id) || better(bt, best.get(id)!) < 0) best.set(id, bt);
          const expected = [...best].map(([id, b]) => ({ ts: b.ts, id, name: b.name })).sort(compareKeys);
          assert.deepEqual(index.keys().map((k) => ({ ts: k.ts, id: k.id, name: k.batch.name })), expected);
          for (const [id, b] of best) assert.equal(index.copies(id)[0]!.batch, b, "copies() lists the preferred copy first");
        };
        check();
        // A batch's activity changes (an anchor verified, or a re-check rejected it): the store calls reconsider with its ids.
        for (const f of flips) {
          const b = batches[f];
          if (b === undefined) continue;
          b.active = !b.active;
          index.reconsider(b.ids);
          check();
        }
      }),
      { numRuns: 300, seed: SEED },
    );
  });

  test("remove and reconsiderWhere: forgetting a batch's copies hands each id to the next copy, as if it had never held them", () => {
    type Ranked = Batch & { active: boolean };
    const rank = (b: Ranked) => (b.active ? 0 : 1);
    fc.assert(
      fc.property(batchesArb, fc.array(fc.boolean(), { minLength: 10, maxLength: 10 }), fc.integer({ min: 0, max: 9 }), (plain, activeAt, gone) => {
        const batches: Ranked[] = plain.map((b, i) => ({ ...b, active: activeAt[i]! }));
        const index = new ReceiptIndex<Ranked>(byName, rank);
        for (const b of batches) index.insert(b.ids.map((id) => ({ ts: b.ts, id, batch: b })));
        const victim = batches[gone];
        if (victim === undefined) return;
        index.remove(victim, victim.ids);
        const rest = batches.filter((b) => b !== victim);
        const fresh = new ReceiptIndex<Ranked>(byName, rank);
        for (const b of rest) fresh.insert(b.ids.map((id) => ({ ts: b.ts, id, batch: b })));
        const view = (i: ReceiptIndex<Ranked>) => i.keys().map((k) => ({ ts: k.ts, id: k.id, name: k.batch.name }));
        assert.deepEqual(view(index), view(fresh));
        assert.deepEqual(index.idsOf(victim), []);
        // Every remaining batch turns active at once: one reconsiderWhere re-chooses all the ids held twice.
        for (const b of rest) b.active = true;
        index.reconsiderWhere(() => true);
        const again = new ReceiptIndex<Ranked>(byName, rank);
        for (const b of rest) again.insert(b.ids.map((id) => ({ ts: b.ts, id, batch: b })));
        assert.deepEqual(view(index), view(again));
      }),
      { numRuns: 300, seed: SEED },
    );
  });
});
