/**
 * The difficulty floor by height (docs/ANCHORS.md §Difficulty floor) and agreement across
 * several endpoints (docs/ANCHORS.md §Several endpoints), against regtest chains mined in
 * the test and served as Bitcoin Core JSON-RPC, and against real main-chain headers.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  DIFFICULTY_CHECKPOINTS,
  FLOOR_MARGIN,
  blockHashHex,
  decodeCompactTarget,
  difficultyFloor,
  difficultyFloorProblem,
  parseBlockHeader,
  verifyBtcAnchor,
  type DifficultyCheckpoint,
} from "../../../lib/anchors/btc/index.js";
import { REGTEST_BITS, startCoreRpcServer, type CoreStubOptions, type RegtestChain, type RunningServer } from "../../support/btc-regtest.js";
import { fixturePath } from "../../support/repo-root.js";
import { anchoredChain, fixedNow } from "./scenario.js";

async function serve(t: { after: (fn: () => Promise<void>) => void }, chain: RegtestChain, respond?: CoreStubOptions["respond"]): Promise<RunningServer> {
  const server = await startCoreRpcServer(chain, respond === undefined ? {} : { respond });
  t.after(() => server.close());
  return server;
}

/** A floor far above regtest's minimum difficulty, as a tiny synthetic table (mainnet's genesis bits). */
const HARD_FROM = (height: number): DifficultyCheckpoint[] => [{ height, bits: 0x1d00ffff, source: "test: mainnet genesis bits" }];

describe("difficulty floor", () => {
  test("floor: the real mainnet headers in test/fixtures/real/btc meet the floor at their heights", () => {
    const fixture = JSON.parse(readFileSync(fixturePath("real", "btc", "mainnet-592920-opreturn.json"), "utf8")) as { header: string; blockHeight: number; blockHash: string };
    const header = parseBlockHeader(Buffer.from(fixture.header, "hex"))!;
    assert.equal(blockHashHex(header), fixture.blockHash);
    assert.equal(difficultyFloorProblem(header, fixture.blockHeight, "mainnet"), undefined);
    // The table's 592920 entry is this very header's bits.
    assert.equal(DIFFICULTY_CHECKPOINTS.mainnet.find((c) => c.height === 592_920)!.bits, header.bits);
    // Core's txoutproof vector (a 2010 block, below the 592920 checkpoint) is held to the genesis floor.
    const proof = Buffer.from(readFileSync(fixturePath("real", "btc", "mainnet-13b8a-txoutproof.hex"), "utf8").trim(), "hex");
    assert.equal(difficultyFloorProblem(parseBlockHeader(proof.subarray(0, 80))!, 100_000, "mainnet"), undefined);
  });

  test("floor: a checkpoint's floor is its target times the margin, and applies from its height on", () => {
    const at = difficultyFloor("mainnet", 600_000);
    const real = decodeCompactTarget(0x171a213e);
    assert.ok(real.ok);
    assert.equal(at.target, real.target * FLOOR_MARGIN);
    assert.equal(at.checkpoint!.height, 592_920);
    assert.equal(difficultyFloor("mainnet", 592_919).checkpoint!.height, 0);
    assert.equal(difficultyFloor("regtest", 10).checkpoint, undefined);
  });

  test("floor: a header mined at regtest's minimum difficulty fails mainnet's floor at a recent height", () => {
    const { chain, anchor } = anchoredChain("floor-unit");
    const header = parseBlockHeader(chain.blocks[anchor.block]!.toBuffer(true))!;
    assert.equal(header.bits, REGTEST_BITS);
    assert.equal(difficultyFloorProblem(header, 700_000, "mainnet"), "header bits 0x207fffff at height 700000 are easier than btc:mainnet allows: the floor set at height 592920 (bits 0x171a213e / 256)");
  });

  test("verify: a fabricated transaction in a minimum-difficulty header is rejected where the floor is higher", async (t) => {
    const { chain, root, anchor } = anchoredChain("floor-core", 2);
    const core = await serve(t, chain);
    const ctx = { endpoint: { rpcUrl: core.url }, confirmations: 1, now: fixedNow };
    const hard = await verifyBtcAnchor(anchor, root, { ...ctx, difficultyCheckpoints: HARD_FROM(0) });
    assert.equal(hard.outcome, "rejected");
    assert.equal(hard.reason, `header bits 0x207fffff at height ${anchor.block} are easier than btc:regtest allows: the floor set at height 0 (bits 0x1d00ffff / 256)`);
    // The same header below the checkpoint's height, and with regtest's own (empty) table, verifies.
    const later = await verifyBtcAnchor(anchor, root, { ...ctx, difficultyCheckpoints: HARD_FROM(anchor.block + 1) });
    assert.equal(later.outcome, "verified", later.reason);
    const own = await verifyBtcAnchor(anchor, root, ctx);
    assert.equal(own.outcome, "verified", own.reason);
  });
});

describe("several Bitcoin endpoints", () => {
  test("verify: verified when every endpoint names the same block, with the smallest confirmation count", async (t) => {
    const { chain, root, anchor } = anchoredChain("agree-ok", 3);
    const a = await serve(t, chain);
    const b = await serve(t, chain);
    const r = await verifyBtcAnchor(anchor, root, { endpoints: [{ rpcUrl: a.url }, { rpcUrl: b.url }], confirmations: 2, now: fixedNow });
    assert.equal(r.outcome, "verified", r.reason);
    assert.equal(r.evidence!.endpointsAgreeing, 2);
    assert.equal(r.evidence!.confirmations, 4);
  });

  test("verify: two endpoints naming different blocks at the anchor's height are pending, never verified", async (t) => {
    const honest = anchoredChain("agree-fork", 2);
    const forked = anchoredChain("agree-fork", 2);
    assert.equal(forked.anchor.tx, honest.anchor.tx);
    forked.chain.reorg(3, { reinclude: true });
    assert.notEqual(forked.chain.blocks[honest.anchor.block]!.getId(), honest.chain.blocks[honest.anchor.block]!.getId());
    const a = await serve(t, honest.chain);
    const b = await serve(t, forked.chain);
    const r = await verifyBtcAnchor(honest.anchor, honest.root, { endpoints: [{ rpcUrl: a.url }, { rpcUrl: b.url }], confirmations: 1, now: fixedNow });
    assert.equal(r.outcome, "pending");
    assert.match(r.reason!, /^btc endpoints disagree \(2 of 2 must agree\): http:\/\/127\.0\.0\.1:\d+: verified in block [0-9a-f]{64}; http:\/\/127\.0\.0\.1:\d+: verified in block [0-9a-f]{64}$/);
  });

  test("verify: an endpoint that inflates confirmations cannot outvote one that counts fewer", async (t) => {
    const { chain, root, anchor } = anchoredChain("agree-confirmations", 1);
    const honest = await serve(t, chain);
    const liar = await serve(t, chain, (method) => (method === "getblockcount" ? { result: chain.height + 100 } : undefined));
    const r = await verifyBtcAnchor(anchor, root, { endpoints: [{ rpcUrl: liar.url }, { rpcUrl: honest.url }], confirmations: 6, now: fixedNow });
    assert.equal(r.outcome, "pending");
    assert.match(r.reason!, /^1 of 2 endpoints verified, 2 must: .*: verified in block .*; .*: pending: 2 of 6 confirmations$/);
  });

  test("verify: one endpoint rejecting what another verifies is pending; agree: 1 takes one endpoint's word", async (t) => {
    const { chain, root, anchor } = anchoredChain("agree-reject", 2);
    const honest = await serve(t, chain);
    const liar = await serve(t, chain, (method) => (method === "getrawtransaction" ? { error: { code: -5, message: "No such mempool or blockchain transaction" } } : undefined));
    const endpoints = [{ rpcUrl: honest.url }, { rpcUrl: liar.url }];
    const strict = await verifyBtcAnchor(anchor, root, { endpoints, confirmations: 1, now: fixedNow });
    assert.equal(strict.outcome, "pending");
    assert.match(strict.reason!, /^btc endpoints disagree .*verified in block .*; .*rejected: transaction not found/);
    const lenient = await verifyBtcAnchor(anchor, root, { endpoints, agree: 1, confirmations: 1, now: fixedNow });
    assert.equal(lenient.outcome, "verified", lenient.reason);
  });

  test("verify: rejected when the endpoints agree that it is wrong", async (t) => {
    const { chain, anchor } = anchoredChain("agree-wrong-root", 1);
    const a = await serve(t, chain);
    const b = await serve(t, chain);
    const r = await verifyBtcAnchor({ ...anchor, batchRoot: `sha256:${"00".repeat(32)}` }, `sha256:${"00".repeat(32)}`, { endpoints: [{ rpcUrl: a.url }, { rpcUrl: b.url }], confirmations: 1 });
    assert.equal(r.outcome, "rejected");
    assert.match(r.reason!, /^OP_RETURN RV output commits to sha256:/);
  });
});
