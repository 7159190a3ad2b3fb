/**
 * verifyBatchInclusion: a whole batch is checked against one rebuilt tree, a partial or
 * contradictory one path by path, and every verdict is the one verifyInclusion gives for
 * that receipt alone: a flipped byte anywhere in a path or an event hash rejects exactly
 * that receipt, under both tree rules.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { inclusionProofs, merkleRoot, verifyBatchInclusion, verifyInclusion } from "../../lib/merkle/index.js";
import { TREE_KINDS, type Receipt, type TreeKind } from "../../lib/receipt.js";

const events = Array.from({ length: 70 }, (_, i) => `sha256:${createHash("sha256").update(`batch-event-${i}`).digest("hex")}`);

function receiptsOf(leaves: string[], tree: TreeKind): Receipt[] {
  const batchRoot = merkleRoot(leaves, tree);
  return inclusionProofs(leaves, tree).map((proof, i) => ({
    id: leaves[i]!, eventHash: leaves[i]!, namespace: "dao:vaultmesh", batchId: `b${leaves.length}`, ts: 1_700_000_000, batchRoot, proof,
  }));
}

/** The digest with the hex digit at `pos` (0..63) changed. */
function flipAt(digest: string, pos: number): string {
  const at = 7 + pos;
  const c = digest[at] === "0" ? "1" : "0";
  return digest.slice(0, at) + c + digest.slice(at + 1);
}

/** Every verdict equals verifyInclusion of the same receipt alone. */
function sameAsAlone(receipts: readonly Receipt[], verdicts: readonly unknown[]): void {
  assert.equal(verdicts.length, receipts.length);
  receipts.forEach((r, k) => assert.deepEqual(verdicts[k], verifyInclusion(r), `receipt ${k}`));
}

for (const tree of TREE_KINDS) {
  describe(`verifyBatchInclusion, ${tree}`, () => {
    test("a whole batch of 1..70 leaves is checked against one rebuilt tree and every receipt verifies", () => {
      for (let n = 1; n <= 70; n++) {
        const receipts = receiptsOf(events.slice(0, n), tree);
        const { verdicts, rebuilt } = verifyBatchInclusion(receipts, { root: receipts[0]!.batchRoot, tree, size: n });
        assert.equal(rebuilt, true, `size ${n}`);
        assert.ok(verdicts.every((v) => v.ok), `size ${n}`);
      }
    });

    test("receipts in any order, with a receipt repeated, still rebuild the tree; shape may come from the receipts", () => {
      const receipts = receiptsOf(events.slice(0, 21), tree);
      const shuffled = [...receipts].reverse();
      shuffled.splice(5, 0, receipts[3]!);
      const out = verifyBatchInclusion(shuffled, { root: receipts[0]!.batchRoot });
      assert.equal(out.rebuilt, true);
      assert.ok(out.verdicts.every((v) => v.ok));
    });

    test("any flipped hex digit of any path element rejects that receipt only, as verifyInclusion does", () => {
      for (const n of [2, 7, 13]) {
        const receipts = receiptsOf(events.slice(0, n), tree);
        const root = receipts[0]!.batchRoot;
        for (let k = 0; k < n; k++) {
          for (let e = 0; e < receipts[k]!.proof.path.length; e++) {
            for (let pos = 0; pos < 64; pos++) {
              const path = receipts[k]!.proof.path.slice();
              path[e] = flipAt(path[e]!, pos);
              const batch = receipts.slice();
              batch[k] = { ...receipts[k]!, proof: { ...receipts[k]!.proof, path } };
              const { verdicts, rebuilt } = verifyBatchInclusion(batch, { root, tree, size: n });
              assert.equal(rebuilt, true);
              assert.equal(verdicts[k]!.ok, false, `size ${n}, receipt ${k}, path[${e}] digit ${pos}`);
              assert.equal(verdicts.filter((v) => v.ok).length, n - 1);
              assert.deepEqual(verdicts[k], verifyInclusion(batch[k]!));
            }
          }
        }
      }
    });

    test("any flipped hex digit of an event hash rejects that receipt only, and the tree is not trusted", () => {
      const n = 13;
      const receipts = receiptsOf(events.slice(0, n), tree);
      for (let k = 0; k < n; k++) {
        for (let pos = 0; pos < 64; pos += 7) {
          const forged = flipAt(receipts[k]!.eventHash, pos);
          const batch = receipts.slice();
          batch[k] = { ...receipts[k]!, id: forged, eventHash: forged };
          const { verdicts, rebuilt } = verifyBatchInclusion(batch, { root: receipts[0]!.batchRoot, tree, size: n });
          assert.equal(rebuilt, false, "a rebuilt root that differs falls back to walking every path");
          assert.equal(verdicts[k]!.ok, false, `receipt ${k} digit ${pos}`);
          assert.equal(verdicts.filter((v) => v.ok).length, n - 1);
          sameAsAlone(batch, verdicts);
        }
      }
    });

    test("a partial batch is checked path by path", () => {
      const receipts = receiptsOf(events.slice(0, 20), tree);
      const some = receipts.filter((_, i) => i !== 11);
      const { verdicts, rebuilt } = verifyBatchInclusion(some, { root: receipts[0]!.batchRoot, tree, size: 20 });
      assert.equal(rebuilt, false);
      assert.ok(verdicts.every((v) => v.ok));
    });

    test("two event hashes at one index: no rebuilt tree, the impostor is rejected", () => {
      const receipts = receiptsOf(events.slice(0, 9), tree);
      const impostor: Receipt = { ...receipts[4]!, id: events[60]!, eventHash: events[60]! };
      const batch = [...receipts, impostor];
      const { verdicts, rebuilt } = verifyBatchInclusion(batch, { root: receipts[0]!.batchRoot, tree, size: 9 });
      assert.equal(rebuilt, false);
      assert.equal(verdicts[9]!.ok, false);
      assert.equal(verdicts.filter((v) => v.ok).length, 9);
      sameAsAlone(batch, verdicts);
    });

    test("a wrong expected root, size or rule rebuilds nothing and leaves each receipt its own verdict", () => {
      const receipts = receiptsOf(events.slice(0, 10), tree);
      const root = receipts[0]!.batchRoot;
      const other = TREE_KINDS.find((t) => t !== tree)!;
      for (const shape of [{ root: flipAt(root, 3), tree, size: 10 }, { root, tree, size: 11 }, { root, tree: other, size: 10 }, { root: "sha256:nope" }]) {
        const { verdicts, rebuilt } = verifyBatchInclusion(receipts, shape);
        assert.equal(rebuilt, false, JSON.stringify(shape));
        sameAsAlone(receipts, verdicts);
      }
    });

    test("receipts of another batch and malformed ones in the list get verifyInclusion's verdicts", () => {
      const mine = receiptsOf(events.slice(0, 8), tree);
      const theirs = receiptsOf(events.slice(30, 35), tree);
      const bad = [{ ...mine[2]!, id: "x" }, { ...mine[3]!, proof: { ...mine[3]!.proof, path: "nope" } }, null] as unknown as Receipt[];
      const batch = [...mine, ...theirs, ...bad];
      const { verdicts, rebuilt } = verifyBatchInclusion(batch, { root: mine[0]!.batchRoot });
      assert.equal(rebuilt, true);
      sameAsAlone(batch, verdicts);
      assert.equal(verdicts.filter((v) => !v.ok).length, 3);
    });
  });
}

describe("verifyBatchInclusion on vmsh-dup-sha256's own weaknesses", () => {
  test("the self-pairing copy must be the node itself in the rebuilt tree too", () => {
    const receipts = receiptsOf(events.slice(0, 3), "vmsh-dup-sha256");
    const path = [events[0]!, ...receipts[2]!.proof.path.slice(1)];
    const batch = [receipts[0]!, receipts[1]!, { ...receipts[2]!, proof: { ...receipts[2]!.proof, path } }];
    const { verdicts, rebuilt } = verifyBatchInclusion(batch, { root: receipts[0]!.batchRoot });
    assert.equal(rebuilt, true);
    assert.match((verdicts[2] as { reason: string }).reason, /must repeat the node itself/);
  });
});

describe("verifyBatchInclusion never throws on peer data", () => {
  test("arbitrary values mixed into a real batch give verdicts, the real receipts stay verified", () => {
    const receipts = receiptsOf(events.slice(0, 6), "rfc9162-sha256");
    fc.assert(
      fc.property(fc.array(fc.anything({ withBigInt: true, withMap: true }), { maxLength: 4 }), (junk) => {
        const batch = [...receipts, ...(junk as Receipt[])];
        const { verdicts } = verifyBatchInclusion(batch, { root: receipts[0]!.batchRoot });
        return verdicts.length === batch.length && verdicts.slice(0, 6).every((v) => v.ok) && verdicts.slice(6).every((v) => v.ok === false && typeof v.reason === "string");
      }),
      { numRuns: 200 },
    );
  });
});
