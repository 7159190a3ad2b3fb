/**
 * verifyInclusion: every honest proof verifies, every altered one is refused
 * with a reason, and nothing a peer can send makes it throw.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { propertySeed } from "../support/property-seed.js";
import { inclusionProofs, merkleRoot, verifyInclusion } from "../../lib/merkle/index.js";
import { TREE_KINDS, type Receipt, type TreeKind } from "../../lib/receipt.js";

const SEED = propertySeed();

const events = Array.from({ length: 70 }, (_, i) => `sha256:${createHash("sha256").update(`e${i}`).digest("hex")}`);

/** The same digest with its first hex digit changed. */
function flip(digest: string): string {
  const c = digest[7] === "0" ? "1" : "0";
  return `sha256:${c}${digest.slice(8)}`;
}

function receiptsOf(leaves: string[], tree: TreeKind): Receipt[] {
  const batchRoot = merkleRoot(leaves, tree);
  return inclusionProofs(leaves, tree).map((proof, i) => ({
    id: leaves[i]!, eventHash: leaves[i]!, namespace: "dao:vaultmesh", batchId: `b${leaves.length}`, ts: 1_700_000_000, batchRoot, proof,
  }));
}

function refused(receipt: unknown, pattern?: RegExp): void {
  const result = verifyInclusion(receipt as Receipt);
  assert.equal(result.ok, false, JSON.stringify(receipt).slice(0, 200));
  if (pattern && !result.ok) assert.match(result.reason, pattern);
}

for (const tree of TREE_KINDS) {
  describe(`verifyInclusion, ${tree}`, () => {
    test("round trip: every index of every batch of 1..70 leaves verifies", () => {
      for (let n = 1; n <= 70; n++) {
        for (const r of receiptsOf(events.slice(0, n), tree)) assert.deepEqual(verifyInclusion(r), { ok: true }, `index ${r.proof.index} of ${n}`);
      }
    });

    test("forgery: flipping any single path element is refused", () => {
      for (let n = 2; n <= 70; n += 3) {
        for (const r of receiptsOf(events.slice(0, n), tree)) {
          for (let k = 0; k < r.proof.path.length; k++) {
            const path = r.proof.path.slice();
            path[k] = flip(path[k]!);
            refused({ ...r, proof: { ...r.proof, path } });
          }
        }
      }
    });

    test("forgery: a different event hash or batch root is refused", () => {
      for (const r of receiptsOf(events.slice(0, 13), tree)) {
        // Under vmsh-dup a self-paired leaf already fails at its first level.
        refused({ ...r, id: flip(r.eventHash), eventHash: flip(r.eventHash) }, /does not recompute batchRoot|must repeat the node itself/);
        refused({ ...r, batchRoot: flip(r.batchRoot) }, /does not recompute batchRoot/);
      }
    });

    test("forgery: any other index is refused", () => {
      for (const n of [2, 5, 8, 13, 33]) {
        for (const r of receiptsOf(events.slice(0, n), tree)) {
          for (let other = 0; other < n; other++) {
            if (other !== r.proof.index) refused({ ...r, proof: { ...r.proof, index: other } });
          }
        }
      }
    });

    test("forgery: an extra or a missing path element is refused with the expected length", () => {
      for (const r of receiptsOf(events.slice(0, 11), tree)) {
        const expected = r.proof.path.length;
        const needs = new RegExp(`needs exactly ${expected} for index ${r.proof.index} in size 11`);
        refused({ ...r, proof: { ...r.proof, path: [...r.proof.path, r.batchRoot] } }, needs);
        if (expected > 0) refused({ ...r, proof: { ...r.proof, path: r.proof.path.slice(1) } }, needs);
      }
    });

    test("index ≥ size is refused before any hashing", () => {
      const [r] = receiptsOf(events.slice(0, 5), tree);
      refused({ ...r, proof: { ...r!.proof, index: 5 } }, /^proof\.index 5 is not below proof\.size 5$/);
      refused({ ...r, proof: { ...r!.proof, index: 9 } }, /not below proof\.size/);
    });

    test("malformed numbers are refused: size 0, size above 2^32, negative or fractional index, strings", () => {
      const [r] = receiptsOf(events.slice(0, 4), tree);
      const p = r!.proof;
      refused({ ...r, proof: { ...p, size: 0 } }, /proof\.size must be a positive integer/);
      refused({ ...r, proof: { ...p, size: 2 ** 32 + 1 } }, /exceeds the largest batch, 2\^32/);
      refused({ ...r, proof: { ...p, size: 4.5 } }, /proof\.size/);
      refused({ ...r, proof: { ...p, size: "4" } }, /proof\.size/);
      refused({ ...r, proof: { ...p, index: -1 } }, /proof\.index must be a non-negative integer/);
      refused({ ...r, proof: { ...p, index: 0.5 } }, /proof\.index/);
      refused({ ...r, proof: { ...p, index: Number.NaN } }, /proof\.index/);
    });

    test("a size of exactly 2^32 is accepted as a shape and checked by hashing", () => {
      const [r] = receiptsOf(events.slice(0, 4), tree);
      refused({ ...r, proof: { ...r!.proof, size: 2 ** 32 } }, /needs exactly 32/);
      const path = Array.from({ length: 32 }, () => r!.eventHash);
      refused({ ...r, proof: { ...r!.proof, index: 2 ** 32 - 1, size: 2 ** 32, path } }, tree === "vmsh-dup-sha256" ? /proof\.path\[0\] must repeat|does not recompute/ : /does not recompute/);
    });

    test("malformed digests and a mismatched id are refused, naming the field", () => {
      const [r] = receiptsOf(events.slice(0, 4), tree);
      refused({ ...r, id: flip(r!.id) }, /^id .* differs from eventHash/);
      refused({ ...r, eventHash: r!.eventHash.toUpperCase(), id: r!.eventHash.toUpperCase() }, /^eventHash is not/);
      refused({ ...r, batchRoot: "sha256:abc" }, /^batchRoot is not/);
      refused({ ...r, proof: { ...r!.proof, path: [r!.proof.path[0], 42] } }, /^proof\.path\[1\] is not/);
      refused({ ...r, proof: { ...r!.proof, tree: "sha3" } }, /^proof\.tree "sha3" is not one of/);
      refused({ ...r, proof: { ...r!.proof, path: "nope" } }, /^proof\.path is not an array/);
      refused({ ...r, proof: null }, /^proof is not an object/);
    });
  });
}

describe("verifyInclusion on the vmsh-dup self-pairing", () => {
  test("the last node of an odd level must carry itself, not another hash", () => {
    const [, , r] = receiptsOf(events.slice(0, 3), "vmsh-dup-sha256");
    assert.equal(r!.proof.path[0], r!.eventHash);
    const path = [events[0]!, ...r!.proof.path.slice(1)];
    refused({ ...r, proof: { ...r!.proof, path } }, /^proof\.path\[0\] must repeat the node itself: position 2 is the last of 3 nodes on level 0/);
  });
});

describe("verifyInclusion never throws on peer data", () => {
  test("arbitrary values give ok:false", () => {
    fc.assert(
      fc.property(fc.anything({ withNullPrototype: true, withBigInt: true, withMap: true, withSet: true }), (value) => {
        const result = verifyInclusion(value as Receipt);
        return result.ok === false && typeof result.reason === "string";
      }),
      { numRuns: 300, seed: SEED },
    );
  });

  test("well-shaped receipts with arbitrary proof fields give a result without throwing", () => {
    const [base] = receiptsOf(events.slice(0, 6), "rfc9162-sha256");
    const proof = fc.record({
      tree: fc.constantFrom(...TREE_KINDS, "other"),
      index: fc.oneof(fc.integer({ min: -3, max: 10 }), fc.double(), fc.constant(2 ** 53)),
      size: fc.oneof(fc.integer({ min: -3, max: 10 }), fc.double(), fc.constant(2 ** 33)),
      path: fc.array(fc.constantFrom(...events.slice(0, 6), "sha256:zz", 7), { maxLength: 6 }),
    });
    fc.assert(
      fc.property(proof, (p) => {
        const result = verifyInclusion({ ...base!, proof: p } as unknown as Receipt);
        return typeof result.ok === "boolean";
      }),
      { numRuns: 300, seed: SEED },
    );
  });
});
