/**
 * From sealer batch files (docs/FEDERATION_SEMANTICS.md §The sealer's files) to wire receipts (docs/FEDERATION_PROTOCOL.md §Receipt), and the index
 * lookup a flagless path depends on.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ArgumentError } from "../../lib/errors.js";
import { indexInBatch, merkleRoot, receiptsForBatch, verifyInclusion, type SealerBatch } from "../../lib/merkle/index.js";

const leaves = Array.from({ length: 9 }, (_, i) => `sha256:${createHash("sha256").update(`evt-${i}`).digest("hex")}`);
const batch: SealerBatch = { id: "2026-11-24T18:00:00Z-0001", root: merkleRoot(leaves, "vmsh-dup-sha256"), leaves, createdAt: 1_764_007_200 };

describe("indexInBatch", () => {
  test("finds each leaf's position", () => {
    leaves.forEach((leaf, i) => assert.equal(indexInBatch(leaves, leaf), i));
  });

  test("an absent event hash throws ArgumentError naming eventHash", () => {
    const absent = `sha256:${"0".repeat(64)}`;
    assert.throws(() => indexInBatch(leaves, absent), (e: unknown) => e instanceof ArgumentError && /^eventHash: .* is not a leaf/.test(e.message));
  });

  test("a hash listed twice is ambiguous and the error names it and both positions", () => {
    const dup = [...leaves, leaves[4]!];
    assert.throws(() => indexInBatch(dup, leaves[4]!), (e: unknown) => e instanceof ArgumentError && e.message.includes(leaves[4]!) && /positions 4 and 9/.test(e.message));
  });

  test("a malformed event hash throws ArgumentError", () => {
    assert.throws(() => indexInBatch(leaves, "sha256:nothex"), ArgumentError);
  });
});

describe("receiptsForBatch", () => {
  test("one receipt per leaf, in order, each verifying, with ts = createdAt", () => {
    const receipts = receiptsForBatch(batch, "dao:vaultmesh");
    assert.equal(receipts.length, leaves.length);
    receipts.forEach((r, i) => {
      assert.equal(r.id, leaves[i]);
      assert.equal(r.eventHash, leaves[i]);
      assert.equal(r.namespace, "dao:vaultmesh");
      assert.equal(r.batchId, batch.id);
      assert.equal(r.batchRoot, batch.root);
      assert.equal(r.ts, batch.createdAt);
      assert.deepEqual({ tree: r.proof.tree, index: r.proof.index, size: r.proof.size }, { tree: "vmsh-dup-sha256", index: i, size: leaves.length });
      assert.deepEqual(verifyInclusion(r), { ok: true });
    });
  });

  test("an rfc9162-sha256 batch builds rfc9162 proofs", () => {
    const rfcBatch = { ...batch, root: merkleRoot(leaves, "rfc9162-sha256") };
    const receipts = receiptsForBatch(rfcBatch, "dao:vaultmesh", { tree: "rfc9162-sha256" });
    assert.ok(receipts.every((r) => r.proof.tree === "rfc9162-sha256" && verifyInclusion(r).ok));
  });

  test("a root that the leaves do not recompute throws ArgumentError naming batch.root", () => {
    const wrong = { ...batch, root: merkleRoot(leaves.slice(1), "vmsh-dup-sha256") };
    assert.throws(() => receiptsForBatch(wrong, "dao:vaultmesh"), /^ArgumentError: batch\.root:|batch\.root: /);
  });

  test("repeated leaves throw: receipt ids would collide", () => {
    const dupLeaves = [...leaves, leaves[8]!];
    const dup = { ...batch, leaves: dupLeaves, root: merkleRoot(dupLeaves, "vmsh-dup-sha256") };
    assert.throws(() => receiptsForBatch(dup, "dao:vaultmesh"), /batch\.leaves: .* appears more than once/);
  });

  test("missing namespace, empty leaves or bad createdAt throw ArgumentError naming the parameter", () => {
    assert.throws(() => receiptsForBatch(batch, ""), /namespace: /);
    assert.throws(() => receiptsForBatch({ ...batch, leaves: [] }, "dao:vaultmesh"), /batch\.leaves: /);
    assert.throws(() => receiptsForBatch({ ...batch, createdAt: 1.5 }, "dao:vaultmesh"), /batch\.createdAt: /);
  });
});
