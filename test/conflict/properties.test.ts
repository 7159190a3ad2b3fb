/**
 * The determinism of docs/FEDERATION_SEMANTICS.md §3. Conflicts and §4. Merge as properties: arrival order never matters, merge is a
 * semilattice join, and resolution's winners and flags are what the rules say.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { propertySeed } from "../support/property-seed.js";
import { anchorKey, claimDigest, compareAnchors, mergeAnchors, recordName, resolveAnchors, type AnchorRecord } from "../../lib/conflict/index.js";
import { recordsArb } from "./anchor-records.js";

const RUNS = { numRuns: 250, seed: propertySeed() };

/** A list and one of its permutations, by sorting on random keys. */
const permutedArb = recordsArb.chain((xs) =>
  fc.array(fc.double({ noNaN: true }), { minLength: xs.length, maxLength: xs.length }).map((keys) => {
    const order = xs.map((_, i) => i).sort((i, j) => keys[i]! - keys[j]! || i - j);
    return [xs, order.map((i) => xs[i]!)] as const;
  }),
);

/** A record's identity: its version and the digest of its claim (docs/FEDERATION_SEMANTICS.md §4. Merge). */
const identity = (a: AnchorRecord): string => JSON.stringify([a.batchId, a.batchRoot, claimDigest(a)]);

describe("resolveAnchors properties", () => {
  test("any permutation of the input gives a deep-equal resolution", () => {
    fc.assert(fc.property(permutedArb, ([xs, ys]) => {
      assert.deepStrictEqual(resolveAnchors(ys), resolveAnchors(xs));
    }), RUNS);
  });

  test("resolve(merge(a, b)) equals resolve(merge(b, a)) and resolve(a ++ b)", () => {
    fc.assert(fc.property(recordsArb, recordsArb, (a, b) => {
      const ab = resolveAnchors(mergeAnchors(a, b));
      assert.deepStrictEqual(resolveAnchors(mergeAnchors(b, a)), ab);
      assert.deepStrictEqual(resolveAnchors([...b, ...a]), ab);
    }), RUNS);
  });

  test("resolving a resolution's own anchors again changes nothing", () => {
    fc.assert(fc.property(recordsArb, (xs) => {
      const once = resolveAnchors(xs);
      const flat = once.batches.flatMap((b) => b.byRoot.flatMap((r) => r.anchors));
      assert.deepStrictEqual(resolveAnchors(flat), once);
    }), RUNS);
  });

  test("each winner is verified, no verified anchor of its root compares stronger, and only verified losers are superseded", () => {
    fc.assert(fc.property(recordsArb, (xs) => {
      for (const batch of resolveAnchors(xs).batches) {
        for (const root of batch.byRoot) {
          const verified = root.anchors.filter((a) => a.outcome === "verified");
          if (verified.length === 0) {
            assert.equal(root.winner, undefined);
            continue;
          }
          const winner = verified.find((a) => recordName(a, verified) === root.winner);
          assert.ok(winner && winner.outcome === "verified");
          assert.equal(winner.superseded_by, undefined);
          for (const v of verified) assert.ok(compareAnchors(v, winner) >= 0, `${anchorKey(v)} is stronger than ${root.winner}`);
          for (const a of root.anchors) {
            const expected: string | undefined = a.outcome === "verified" && a !== winner ? root.winner : undefined;
            assert.equal(a.superseded_by, expected);
          }
        }
      }
    }), RUNS);
  });

  test("equivocation is flagged iff a batch has more than one root, and every root and anchor is kept", () => {
    fc.assert(fc.property(recordsArb, (xs) => {
      const res = resolveAnchors(xs);
      const inputIds = new Set(xs.map(identity));
      const outputIds = res.batches.flatMap((b) => b.byRoot.flatMap((r) => r.anchors.map(identity)));
      assert.equal(outputIds.length, inputIds.size);
      assert.deepEqual(new Set(outputIds), inputIds);
      for (const batch of res.batches) {
        const roots = new Set(xs.filter((x) => x.batchId === batch.batchId).map((x) => x.batchRoot));
        assert.deepEqual(new Set(batch.roots), roots);
        assert.equal(batch.equivocation, roots.size > 1);
        assert.equal(res.equivocations.includes(batch.batchId), roots.size > 1);
      }
    }), RUNS);
  });
});

describe("mergeAnchors properties", () => {
  test("commutative", () => {
    fc.assert(fc.property(recordsArb, recordsArb, (a, b) => {
      assert.deepStrictEqual(mergeAnchors(a, b), mergeAnchors(b, a));
    }), RUNS);
  });

  test("associative", () => {
    fc.assert(fc.property(recordsArb, recordsArb, recordsArb, (a, b, c) => {
      assert.deepStrictEqual(mergeAnchors(mergeAnchors(a, b), c), mergeAnchors(a, mergeAnchors(b, c)));
    }), RUNS);
  });

  test("idempotent", () => {
    fc.assert(fc.property(recordsArb, recordsArb, (a, b) => {
      const m = mergeAnchors(a, b);
      assert.deepStrictEqual(mergeAnchors(m, m), m);
      assert.deepStrictEqual(mergeAnchors(m, b), m);
      assert.deepStrictEqual(mergeAnchors(a, a), mergeAnchors(a, []));
    }), RUNS);
  });

  test("the merge keeps one record per identity, with the strongest outcome seen", () => {
    const rank = { verified: 0, pending: 1, rejected: 2 } as const;
    fc.assert(fc.property(recordsArb, recordsArb, (a, b) => {
      const merged = mergeAnchors(a, b);
      assert.equal(new Set(merged.map(identity)).size, merged.length);
      for (const m of merged) {
        const best = Math.min(...[...a, ...b].filter((x) => identity(x) === identity(m)).map((x) => rank[x.outcome]));
        assert.equal(rank[m.outcome], best);
      }
    }), RUNS);
  });
});
