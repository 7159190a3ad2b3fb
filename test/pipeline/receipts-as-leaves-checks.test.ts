/**
 * The one-pass checks of `wholeVersionLeaves` (lib/pipeline/receipts-as-leaves.ts): what
 * `shapeProblem` asks of batchRoot, tree and size is asked once of the checkpoint, the rest of it
 * per receipt in the same loop as the leaves form's own checks, and the ids it places are handed to
 * the store's cache (lib/store/file-receipts.ts `rememberLeafIndexes`). Each receipt that
 * `shapeProblem` refuses still makes the whole version undefined, and through `importBundle` is
 * still refused with `verifyInclusion`'s reason, nothing of it stored (docs/STATE.md §Leaves form).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { merkleRoot, receiptsForBatch, verifyInclusion } from "../../lib/merkle/index.js";
import { shapeProblem } from "../../lib/merkle/verify.js";
import type { Checkpoint } from "../../lib/messages/checkpoint.js";
import { encodeLeaves } from "../../lib/messages/leaves.js";
import { importBundle } from "../../lib/pipeline/bundle.js";
import { wholeVersionLeaves } from "../../lib/pipeline/receipts-as-leaves.js";
import type { Receipt, TreeKind } from "../../lib/receipt.js";
import { leafIndexesOf } from "../../lib/store/file-receipts.js";
import { leafIds } from "../../lib/store/leaves.js";
import { checkpointBy } from "../support/checkpoint.js";
import { useFreshStore } from "../support/fresh-store.js";

const NS = "dao:vaultmesh";
const ORIGIN = { did: "did:vm:node:origin", key: generateNodeKey() };
const H = (tag: string, n: number) => `sha256:${Buffer.from(`${tag}/${n}`).toString("hex").padEnd(64, "0").slice(0, 64)}`;

function version(id: string, size: number, tree: TreeKind = "vmsh-dup-sha256") {
  const hashes = Array.from({ length: size }, (_, i) => H(id, i));
  const root = merkleRoot(hashes, tree);
  const checkpoint: Checkpoint = checkpointBy(ORIGIN, { namespace: NS, batchId: id, batchRoot: root, size, createdAt: 1_700_000_000, tree });
  return { checkpoint, receipts: receiptsForBatch({ id, root, leaves: hashes, createdAt: 1_700_000_000 }, NS, { tree }) };
}

/** One receipt of a whole version changed in a way `shapeProblem` refuses (or the leaves form cannot keep). */
const MALFORMED: Array<[string, (r: Receipt, size: number) => unknown]> = [
  ["the event hash and id in upper-case hex", (r) => ({ ...r, id: r.eventHash.toUpperCase().replace("SHA256", "sha256"), eventHash: r.eventHash.toUpperCase().replace("SHA256", "sha256") })],
  ["an id that is not the event hash", (r) => ({ ...r, id: H("other", 0) })],
  ["an event hash one hex digit short", (r) => ({ ...r, id: r.eventHash.slice(0, -1), eventHash: r.eventHash.slice(0, -1) })],
  ["the index at the size", (r, size) => ({ ...r, proof: { ...r.proof, index: size } })],
  ["a negative index", (r) => ({ ...r, proof: { ...r.proof, index: -1 } })],
  ["a fractional index", (r) => ({ ...r, proof: { ...r.proof, index: 0.5 } })],
  ["the index as a string", (r) => ({ ...r, proof: { ...r.proof, index: String(r.proof.index) } })],
  ["a path that is not an array", (r) => ({ ...r, proof: { ...r.proof, path: r.proof.path.join(",") } })],
  ["a proof that is an array", (r) => ({ ...r, proof: [r.proof.tree, r.proof.index, r.proof.size, r.proof.path] })],
  ["a receipt that is null", () => null],
  ["a receipt that is an array", (r) => Object.values(r)],
  ["the batch root in upper-case hex", (r) => ({ ...r, batchRoot: r.batchRoot.toUpperCase().replace("SHA256", "sha256") })],
  ["another tree rule", (r) => ({ ...r, proof: { ...r.proof, tree: "rfc9162-sha256" } })],
  ["another size", (r, size) => ({ ...r, proof: { ...r.proof, size: size + 1 } })],
];

describe("wholeVersionLeaves: every check of shapeProblem, in one pass", () => {
  for (const tree of ["vmsh-dup-sha256", "rfc9162-sha256"] as const) {
    test(`${tree}: a whole version gives its leaves, and the store's cache holds exactly the ids a decode of them gives`, () => {
      for (const size of [1, 2, 7, 64]) {
        const v = version(`w${size}${tree[0]}`, size, tree);
        const text = wholeVersionLeaves([...v.receipts].reverse(), v.checkpoint);
        assert.equal(text, encodeLeaves(v.receipts.map((r) => r.eventHash)));
        const decoded = new Map(leafIds(text!).map((id, i) => [id, i] as const));
        assert.deepEqual([...leafIndexesOf(text!)], [...decoded]);
      }
    });
  }

  for (const [what, change] of MALFORMED) {
    test(`one receipt with ${what}: not a whole version`, () => {
      for (const at of [0, 4]) {
        const v = version("m", 5);
        const bad = change(v.receipts[at]!, 5);
        if (what !== "another tree rule" && what !== "another size") assert.notEqual(shapeProblem(bad), undefined, "shapeProblem refuses it too");
        assert.equal(wholeVersionLeaves(v.receipts.map((r, i) => (i === at ? bad : r)) as Receipt[], v.checkpoint), undefined);
      }
    });
  }

  test("one event hash twice (at two indexes): not a whole version", () => {
    const v = version("d", 4);
    const twice = v.receipts.map((r, i) => (i === 3 ? { ...r, id: v.receipts[0]!.id, eventHash: v.receipts[0]!.eventHash } : r));
    assert.equal(wholeVersionLeaves(twice, v.checkpoint), undefined);
  });

  test("two receipts at one index: not a whole version", () => {
    const v = version("i", 4);
    const same = v.receipts.map((r, i) => (i === 2 ? { ...r, proof: { ...r.proof, index: 1 } } : r));
    assert.equal(wholeVersionLeaves(same, v.checkpoint), undefined);
  });

  test("a checkpoint whose root is not a lower-case digest: not a whole version, even with receipts that carry it", () => {
    const v = version("c", 3);
    const upper = v.checkpoint.batchRoot.toUpperCase().replace("SHA256", "sha256");
    const receipts = v.receipts.map((r) => ({ ...r, batchRoot: upper }));
    assert.equal(wholeVersionLeaves(receipts, { ...v.checkpoint, batchRoot: upper }), undefined);
  });
});

describe("importBundle: a malformed receipt in a whole version is still refused with verifyInclusion's reason", () => {
  const fx = useFreshStore("vmsh-as-leaves-checks-", new Map([[ORIGIN.did, ORIGIN.key.publicKey]]));
  const ctx = fx.ctx;

  for (const what of ["the event hash and id in upper-case hex", "an id that is not the event hash", "the index at the size", "a path that is not an array"]) {
    test(`one receipt with ${what}: refused with its reason, the other receipts kept as receipts, no leaves stored`, async () => {
      const v = version("r", 6);
      const bad = MALFORMED.find(([w]) => w === what)![1](v.receipts[2]!, 6) as Receipt;
      const expected = verifyInclusion(bad);
      assert.equal(expected.ok, false);
      const [report] = await importBundle(NS, v.receipts.map((r, i) => (i === 2 ? bad : r)), [], ctx(), [v.checkpoint]);
      assert.deepEqual(report?.rejectedReceipts, [{ id: bad.id, reason: expected.ok ? "" : expected.reason }]);
      assert.equal(report?.receiptsAdded, 5);
      const stored = await fx.store.getBatch(NS, "r", v.checkpoint.batchRoot, ORIGIN.did);
      assert.equal(stored?.leaves, undefined);
      assert.deepEqual(stored?.receipts.map((r) => r.id), v.receipts.filter((_, i) => i !== 2).map((r) => r.id));
    });
  }
});

describe("importBundle: receipts of several versions, interleaved", () => {
  const fx = useFreshStore("vmsh-as-leaves-groups-", new Map([[ORIGIN.did, ORIGIN.key.publicKey]]));

  test("each receipt goes to its own version, whatever the order (the group of the one before is reused only for the same batch id and root)", async () => {
    const a = version("ga", 5);
    const b = version("gb", 3);
    const mixed = [a.receipts[0]!, b.receipts[0]!, a.receipts[1]!, a.receipts[2]!, b.receipts[1]!, a.receipts[3]!, b.receipts[2]!, a.receipts[4]!];
    const reports = await importBundle(NS, mixed, [], fx.ctx(), [a.checkpoint, b.checkpoint]);
    assert.deepEqual(reports.map((r) => [r.batchId, r.receiptsAdded, r.rejectedReceipts.length]), [["ga", 5, 0], ["gb", 3, 0]]);
    for (const v of [a, b]) assert.equal((await fx.store.getBatch(NS, v.checkpoint.batchId, v.checkpoint.batchRoot, ORIGIN.did))?.leaves, encodeLeaves(v.receipts.map((r) => r.eventHash)));
  });
});
