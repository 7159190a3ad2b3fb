/**
 * mergeAnchors by example: union by (batchId, batchRoot, chain, tx) and the
 * deterministic choice between two copies of one anchor.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ArgumentError } from "../../lib/errors.js";
import { claimDigest, compareAnchors, mergeAnchors, type AnchorRecord } from "../../lib/conflict/index.js";
import { ROOT_B, record } from "./anchor-records.js";

describe("mergeAnchors", () => {
  test("union: anchors differing in any identity field are all kept", () => {
    const base = record({ chain: "btc:mainnet", tx: "aa" });
    const merged = mergeAnchors(
      [base, { ...base, batchId: "batch-2" }],
      [{ ...base, batchRoot: ROOT_B }, { ...base, chain: "btc:testnet" }, { ...base, tx: "ab" }],
    );
    assert.equal(merged.length, 5);
  });

  test("the output is sorted by (batchId, batchRoot, chain, tx) in code-unit order", () => {
    const merged = mergeAnchors(
      [record({ chain: "rfc3161:b", tx: "2" }), record({ batchId: "batch-0", chain: "rfc3161:z", tx: "1" })],
      [record({ chain: "rfc3161:B", tx: "1" }), record({ chain: "rfc3161:b", tx: "10" })],
    );
    assert.deepEqual(merged.map((r) => `${r.batchId} ${r.chain} ${r.tx}`), [
      "batch-0 rfc3161:z 1",
      "batch-1 rfc3161:B 1",
      "batch-1 rfc3161:b 10",
      "batch-1 rfc3161:b 2",
    ]);
  });

  test("same anchor twice: verified is preferred over pending over rejected, from either side", () => {
    const v = record({ chain: "eip155:1", tx: "0x1" });
    const p: AnchorRecord = { ...v, outcome: "pending", reason: "confirmations 1 < 3" };
    const r: AnchorRecord = { ...v, outcome: "rejected", reason: "receipt status 0" };
    assert.equal(mergeAnchors([p], [v])[0]!.outcome, "verified");
    assert.equal(mergeAnchors([v], [p])[0]!.outcome, "verified");
    assert.equal(mergeAnchors([r], [p])[0]!.outcome, "pending");
    assert.equal(mergeAnchors([p, r], [])[0]!.outcome, "pending");
  });

  test("claims differing in any field under one (chain, tx) are separate records, each with its own verdict", () => {
    const x = record({ chain: "eip155:1", tx: "0x1", memo: "alpha" });
    const y: AnchorRecord = { ...record({ chain: "eip155:1", tx: "0x1", block: 7 }), outcome: "rejected", reason: "not in block 7" };
    const merged = mergeAnchors([x], [y]);
    assert.equal(merged.length, 2);
    // Same (batchId, batchRoot, chain, tx): ordered by claim digest.
    assert.deepEqual(merged.map((r) => r.digest), [claimDigest(x), claimDigest(y)].sort());
    assert.equal(merged.find((r) => r.digest === claimDigest(x))!.outcome, "verified");
    assert.equal(merged.find((r) => r.digest === claimDigest(y))!.outcome, "rejected");
    assert.deepEqual(mergeAnchors([y], [x]), merged);
    assert.ok(merged.every((r) => r.digest === claimDigest(r)));
  });

  test("one TSA token under two labels is one claim: the smaller canonical JSON wins, from either side", () => {
    const x = record({ chain: "rfc3161:alpha", tx: "t-1", sig: "AAAA" });
    const y = record({ chain: "rfc3161:beta", tx: "t-2", sig: "AAAA" });
    assert.equal(claimDigest(x), claimDigest(y));
    assert.equal(mergeAnchors([x], [y]).length, 1);
    assert.equal(mergeAnchors([x], [y])[0]!.chain, "rfc3161:alpha");
    assert.equal(mergeAnchors([y], [x])[0]!.chain, "rfc3161:alpha");
  });

  test("undefined members are dropped, so copies that differ only by them are equal", () => {
    const x = record({ chain: "eip155:1", tx: "0x1" });
    const y = { ...x, reason: undefined, superseded_by: undefined };
    assert.deepEqual(mergeAnchors([x], [y]), mergeAnchors([y], [x]));
    assert.equal("reason" in mergeAnchors([y], [])[0]!, false);
  });

  test("returns copies: mutating the result leaves the inputs alone", () => {
    const input = [record({ chain: "eip155:1", tx: "0x1" })];
    const merged = mergeAnchors(input, []);
    merged[0]!.block = 99;
    assert.equal(input[0]!.block, 0);
  });

  test("a malformed record throws ArgumentError naming the argument and position", () => {
    const bad = { ...record({ chain: "eip155:1", tx: "0x1" }), block: -1 };
    assert.throws(() => mergeAnchors([], [record({ chain: "btc:mainnet", tx: "a" }), bad]), (e: unknown) => e instanceof ArgumentError && /b\[1\]\.block/.test(e.message));
    assert.throws(() => mergeAnchors("x" as never, []), ArgumentError);
  });
});

describe("compareAnchors", () => {
  test("sorts strongest first across all three rails", () => {
    const tsa = record({ chain: "rfc3161:digicert", tx: "t" });
    const evm = record({ chain: "eip155:1", tx: "0x1", block: 5 });
    const btc = record({ chain: "btc:mainnet", tx: "aa", block: 1 });
    assert.deepEqual([tsa, evm, btc].sort(compareAnchors).map((a) => a.chain), ["btc:mainnet", "eip155:1", "rfc3161:digicert"]);
  });

  test("a chain id outside docs/FEDERATION_PROTOCOL.md §Anchor sorts after every rail", () => {
    const odd = record({ chain: "sol:mainnet", tx: "x", block: 10 });
    const tsa = record({ chain: "rfc3161:digicert", tx: "t" });
    assert.ok(compareAnchors(tsa, odd) < 0);
  });

  test("a non-numeric block counts as the lowest and never yields NaN", () => {
    const broken = { ...record({ chain: "eip155:1", tx: "0x1" }), block: Number.NaN };
    const fine = record({ chain: "eip155:1", tx: "0x2", block: 0 });
    assert.equal(compareAnchors(fine, broken), -1);
    assert.equal(compareAnchors(broken, fine), 1);
  });

  test("returns 0 only for the same rail, block, chain and tx", () => {
    const a = record({ chain: "btc:mainnet", tx: "aa", block: 3 });
    const copy: AnchorRecord = { ...a, batchRoot: ROOT_B, outcome: "pending" };
    assert.equal(compareAnchors(a, copy), 0);
  });
});
