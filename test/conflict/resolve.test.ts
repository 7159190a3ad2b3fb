/**
 * docs/FEDERATION_SEMANTICS.md §3. Conflicts, rule by rule, as named cases.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ArgumentError } from "../../lib/errors.js";
import { anchorKey, claimDigest, compareAnchors, resolveAnchors, type AnchorRecord } from "../../lib/conflict/index.js";
import { ROOT_A, ROOT_B, record } from "./anchor-records.js";

function only(records: AnchorRecord[]) {
  const { batches } = resolveAnchors(records);
  assert.equal(batches.length, 1);
  assert.equal(batches[0]!.byRoot.length, 1);
  return batches[0]!.byRoot[0]!;
}

describe("resolveAnchors: rule 1, finality", () => {
  test("a verified btc anchor beats a verified eip155 anchor at a far higher block", () => {
    const btc = record({ chain: "btc:mainnet", tx: "aa", block: 800_000 });
    const evm = record({ chain: "eip155:1", tx: "0xbb", block: 19_000_000 });
    assert.equal(only([evm, btc]).winner, "btc:mainnet/aa");
  });

  test("a verified eip155 anchor beats a verified rfc3161 anchor", () => {
    const evm = record({ chain: "eip155:8453", tx: "0xbb", block: 5 });
    const tsa = record({ chain: "rfc3161:digicert", tx: "tsa-1" });
    assert.equal(only([tsa, evm]).winner, "eip155:8453/0xbb");
  });
});

describe("resolveAnchors: rule 2, same rail", () => {
  test("the higher block wins between two EVM chains", () => {
    const mainnet = record({ chain: "eip155:1", tx: "0x01", block: 100 });
    const base = record({ chain: "eip155:8453", tx: "0x02", block: 200 });
    assert.equal(only([mainnet, base]).winner, "eip155:8453/0x02");
  });

  test("the higher block wins between two Bitcoin transactions", () => {
    const early = record({ chain: "btc:mainnet", tx: "ff", block: 10 });
    const late = record({ chain: "btc:mainnet", tx: "00", block: 11 });
    assert.equal(only([early, late]).winner, "btc:mainnet/00");
  });
});

describe("resolveAnchors: rule 3, tie on (chain, tx)", () => {
  test("two TSA anchors (block 0) are ordered by chain, ascending", () => {
    const a = record({ chain: "rfc3161:freetsa", tx: "1" });
    const b = record({ chain: "rfc3161:digicert", tx: "9" });
    assert.equal(only([a, b]).winner, "rfc3161:digicert/9");
  });

  test("same chain and block: the smaller tx wins", () => {
    const a = record({ chain: "eip155:1", tx: "0xb0", block: 7 });
    const b = record({ chain: "eip155:1", tx: "0xa0", block: 7 });
    assert.equal(only([a, b]).winner, "eip155:1/0xa0");
  });

  test("the comparison is by UTF-16 code units, not locale: upper case sorts before lower case", () => {
    const upper = record({ chain: "rfc3161:Zeta", tx: "1" });
    const lower = record({ chain: "rfc3161:alpha", tx: "1" });
    assert.ok("Zeta".localeCompare("alpha") > 0, "a locale order would put alpha first");
    assert.equal(only([lower, upper]).winner, "rfc3161:Zeta/1");
    assert.ok(compareAnchors(upper, lower) < 0);
  });
});

describe("resolveAnchors: only verified anchors compete", () => {
  test("a pending btc anchor does not beat a verified TSA anchor", () => {
    const btc = record({ chain: "btc:mainnet", tx: "aa", block: 9, outcome: "pending", reason: "confirmations 0 < 1" });
    const tsa = record({ chain: "rfc3161:digicert", tx: "t" });
    const root = only([btc, tsa]);
    assert.equal(root.winner, "rfc3161:digicert/t");
    const kept = root.anchors.find((a) => a.chain === "btc:mainnet")!;
    assert.equal(kept.outcome, "pending");
    assert.equal(kept.superseded_by, undefined);
  });

  test("with no verified anchor there is no winner and nothing is superseded", () => {
    const root = only([
      record({ chain: "btc:mainnet", tx: "aa", outcome: "pending", reason: "unreachable" }),
      record({ chain: "eip155:1", tx: "0x1", outcome: "rejected", reason: "no BatchAnchored log" }),
    ]);
    assert.equal("winner" in root, false);
    assert.ok(root.anchors.every((a) => a.superseded_by === undefined));
    assert.equal(root.anchors.length, 2);
  });
});

describe("resolveAnchors: losers stay for audit", () => {
  test("every verified loser names the winner in superseded_by; the winner has none", () => {
    const btc = record({ chain: "btc:mainnet", tx: "aa", block: 1 });
    const evm = record({ chain: "eip155:1", tx: "0x1", block: 2 });
    const tsa = record({ chain: "rfc3161:digicert", tx: "t" });
    const rejected = record({ chain: "eip155:8453", tx: "0x2", outcome: "rejected", reason: "tx reverted" });
    const root = only([tsa, rejected, evm, btc]);
    assert.deepEqual(root.anchors.map((a) => [anchorKey(a), a.outcome, a.superseded_by]), [
      ["btc:mainnet/aa", "verified", undefined],
      ["eip155:1/0x1", "verified", "btc:mainnet/aa"],
      ["eip155:8453/0x2", "rejected", undefined],
      ["rfc3161:digicert/t", "verified", "btc:mainnet/aa"],
    ]);
  });

  test("a stale superseded_by in the input is recomputed, not trusted", () => {
    const btc = record({ chain: "btc:mainnet", tx: "aa", superseded_by: "eip155:1/0x1" });
    const evm = record({ chain: "eip155:1", tx: "0x1" });
    const pending = record({ chain: "rfc3161:x", tx: "p", outcome: "pending", superseded_by: "btc:mainnet/aa" });
    const root = only([btc, evm, pending]);
    assert.equal(root.winner, "btc:mainnet/aa");
    assert.deepEqual(root.anchors.map((a) => a.superseded_by), [undefined, "btc:mainnet/aa", undefined]);
  });

  test("the input records are not modified", () => {
    const input = [record({ chain: "eip155:1", tx: "0x1" }), record({ chain: "btc:mainnet", tx: "aa" })];
    const before = structuredClone(input);
    resolveAnchors(input);
    assert.deepEqual(input, before);
  });
});

describe("resolveAnchors: equivocation", () => {
  test("two roots for one batch are both kept, flagged, and listed, each with its own winner", () => {
    const onA = record({ chain: "btc:mainnet", tx: "aa", batchRoot: ROOT_A });
    const onB = record({ chain: "eip155:1", tx: "0x1", batchRoot: ROOT_B });
    const otherBatch = record({ batchId: "batch-0", chain: "eip155:1", tx: "0x9" });
    const res = resolveAnchors([onB, otherBatch, onA]);
    assert.deepEqual(res.equivocations, ["batch-1"]);
    assert.deepEqual(res.batches.map((b) => [b.batchId, b.equivocation]), [["batch-0", false], ["batch-1", true]]);
    const batch = res.batches[1]!;
    assert.deepEqual(batch.roots, [ROOT_A, ROOT_B]);
    assert.deepEqual(batch.byRoot.map((r) => r.winner), ["btc:mainnet/aa", "eip155:1/0x1"]);
  });

  test("a second root seen only in a rejected anchor is still an equivocation to report", () => {
    const good = record({ chain: "btc:mainnet", tx: "aa", batchRoot: ROOT_A });
    const claim = record({ chain: "eip155:1", tx: "0x1", batchRoot: ROOT_B, outcome: "rejected", reason: "topic1 differs" });
    const batch = resolveAnchors([good, claim]).batches[0]!;
    assert.equal(batch.equivocation, true);
    assert.equal(batch.byRoot[1]!.winner, undefined);
  });
});

describe("resolveAnchors: duplicates and caller mistakes", () => {
  test("two copies of one anchor collapse to one, the verified copy preferred", () => {
    const pending = record({ chain: "btc:mainnet", tx: "aa", outcome: "pending", reason: "confirmations 0 < 1" });
    const verified = record({ chain: "btc:mainnet", tx: "aa" });
    const root = only([pending, verified, pending]);
    assert.equal(root.anchors.length, 1);
    assert.equal(root.anchors[0]!.outcome, "verified");
  });

  test("a record without a chain string throws ArgumentError naming it", () => {
    const bad = { ...record({ chain: "btc:mainnet", tx: "aa" }), chain: 7 } as unknown as AnchorRecord;
    assert.throws(() => resolveAnchors([record({ chain: "eip155:1", tx: "0x1" }), bad]), (e: unknown) => e instanceof ArgumentError && /anchors\[1\]\.chain/.test(e.message));
  });

  test("an unknown outcome throws ArgumentError naming it", () => {
    const bad = { ...record({ chain: "btc:mainnet", tx: "aa" }), outcome: "ok" } as unknown as AnchorRecord;
    assert.throws(() => resolveAnchors([bad]), /anchors\[0\]\.outcome/);
  });
});

describe("resolveAnchors: claims that share (chain, tx)", () => {
  test("two verified claims under one (chain, tx) are named by digest; a rejected twin changes no name", () => {
    const a = record({ chain: "rfc3161:acme", tx: "t-1", sig: "AAAA" });
    const b = record({ chain: "rfc3161:acme", tx: "t-1", sig: "BBBB" });
    const both = only([b, a]);
    const [first, second] = [a, b].map((r) => claimDigest(r)).sort();
    assert.equal(both.winner, `rfc3161:acme/t-1#${first}`);
    assert.equal(both.anchors.find((r) => r.digest === second)!.superseded_by, both.winner);
    assert.deepEqual(only([a, b]), both);
    const lone = only([a, { ...b, outcome: "rejected", reason: "not signed by acme" }]);
    assert.equal(lone.winner, "rfc3161:acme/t-1");
  });
});
