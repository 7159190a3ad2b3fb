/**
 * verifyBtcAnchor against the Esplora REST stub serving a regtest chain mined
 * in the test (docs/ANCHORS.md §Bitcoin anchors, docs/RELIABILITY.md §How the tests are built).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { verifyBtcAnchor } from "../../../lib/anchors/btc/index.js";
import { startEsploraServer, type EsploraStubOptions, type RegtestChain, type RunningServer } from "../../support/btc-regtest.js";
import { anchoredChain, fixedNow } from "./scenario.js";

async function serve(t: { after: (fn: () => Promise<void>) => void }, chain: RegtestChain, options: EsploraStubOptions = {}): Promise<RunningServer> {
  const server = await startEsploraServer(chain, options);
  t.after(() => server.close());
  return server;
}

describe("verifyBtcAnchor with Esplora REST", () => {
  test("verify: accepts an anchor mined on the regtest chain and records evidence", async (t) => {
    const { chain, root, anchor } = anchoredChain("esplora-ok", 1);
    const esplora = await serve(t, chain);
    const result = await verifyBtcAnchor(anchor, root, { endpoint: { esploraUrl: esplora.url }, confirmations: 2, now: fixedNow });
    const block = chain.blocks[anchor.block]!;
    assert.equal(result.outcome, "verified", result.reason);
    assert.deepEqual(result.evidence, {
      checkedAt: 1_700_000_000,
      blockHash: block.getId(),
      height: anchor.block,
      head: chain.height,
      confirmations: 2,
      merkleRoot: Buffer.from(block.merkleRoot!).reverse().toString("hex"),
    });
    assert.ok(esplora.calls.some((c) => c.endsWith("/merkle-proof")), "the inclusion proof came from merkle-proof");
  });

  test("verify: pending while short of confirmations, verified once enough blocks are mined", async (t) => {
    const { chain, root, anchor } = anchoredChain("esplora-confirm");
    const esplora = await serve(t, chain);
    const ctx = { endpoint: { esploraUrl: esplora.url }, confirmations: 3 };
    const first = await verifyBtcAnchor(anchor, root, ctx);
    assert.equal(first.outcome, "pending");
    assert.equal(first.reason, "1 of 3 confirmations");
    chain.mine(2);
    const second = await verifyBtcAnchor(anchor, root, { ...ctx, previous: first.evidence });
    assert.equal(second.outcome, "verified", second.reason);
  });

  test("verify: pending, naming the endpoint, when the Esplora port is closed", async () => {
    const { chain, root, anchor } = anchoredChain("esplora-closed");
    const esplora = await startEsploraServer(chain);
    await esplora.close();
    const result = await verifyBtcAnchor(anchor, root, { endpoint: { esploraUrl: esplora.url }, confirmations: 1, timeoutMs: 2_000 });
    assert.equal(result.outcome, "pending");
    assert.equal(result.reason, `btc endpoint ${esplora.origin} unreachable: connection refused`);
  });

  test("verify: pending when Esplora answers HTTP 503", async (t) => {
    const { chain, root, anchor } = anchoredChain("esplora-503");
    const esplora = await serve(t, chain, { respond: (path) => (path.startsWith("/tx/") ? { status: 503, body: "overloaded" } : undefined) });
    const result = await verifyBtcAnchor(anchor, root, { endpoint: { esploraUrl: esplora.url }, confirmations: 1 });
    assert.equal(result.outcome, "pending");
    assert.match(result.reason!, new RegExp(`^btc endpoint ${esplora.origin} answered GET /tx/…/hex with HTTP 503$`));
  });

  test("verify: rejects a merkle-proof branch that does not fold to the header's merkle root", async (t) => {
    const { chain, root, anchor } = anchoredChain("esplora-forged-branch");
    const located = chain.locate(anchor.tx)!;
    const honest = chain.merkleBranch(located.block, located.index);
    const forged = { block_height: located.height, merkle: honest.merkle.map((h, i) => (i === 0 ? `${h.slice(0, 63)}${h[63] === "0" ? "1" : "0"}` : h)), pos: honest.pos };
    const esplora = await serve(t, chain, { respond: (path) => (path.endsWith("/merkle-proof") ? { status: 200, body: JSON.stringify(forged) } : undefined) });
    const result = await verifyBtcAnchor(anchor, root, { endpoint: { esploraUrl: esplora.url }, confirmations: 1 });
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /^transaction not in block [0-9a-f]{64}: merkle-proof folds to/);
  });

  test("verify: rejects a merkle-proof at another position of the same block", async (t) => {
    const { chain, root, anchor } = anchoredChain("esplora-wrong-pos");
    const located = chain.locate(anchor.tx)!;
    const honest = chain.merkleBranch(located.block, located.index);
    const esplora = await serve(t, chain, { respond: (path) => (path.endsWith("/merkle-proof") ? { status: 200, body: JSON.stringify({ ...honest, pos: honest.pos ^ 1 }) } : undefined) });
    const result = await verifyBtcAnchor(anchor, root, { endpoint: { esploraUrl: esplora.url }, confirmations: 1 });
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /^transaction not in block/);
  });

  test("verify: rejects a transaction in a block whose header misses its own target", async (t) => {
    const { chain, root } = anchoredChain("esplora-bad-pow-base");
    const tx = chain.addAnchorTx(root);
    chain.mine(1, { invalidProofOfWork: true });
    const esplora = await serve(t, chain);
    const anchor = { batchId: "b", batchRoot: root, chain: "btc:regtest", tx, block: chain.height, ts: 0 };
    const result = await verifyBtcAnchor(anchor, root, { endpoint: { esploraUrl: esplora.url }, confirmations: 1 });
    assert.equal(result.outcome, "rejected");
    assert.equal(result.reason, "header hash does not meet the target of its own bits 0x207fffff");
  });

  test("verify: rejects when Esplora returns a different transaction for the txid", async (t) => {
    const { chain, root, anchor } = anchoredChain("esplora-other-tx");
    const decoy = chain.addAnchorTx(root);
    chain.mine(1);
    const decoyHex = chain.locate(decoy)!.tx.toHex();
    const esplora = await serve(t, chain, { respond: (path) => (path === `/tx/${anchor.tx}/hex` ? { status: 200, body: decoyHex } : undefined) });
    const result = await verifyBtcAnchor(anchor, root, { endpoint: { esploraUrl: esplora.url }, confirmations: 1 });
    assert.equal(result.outcome, "rejected");
    assert.equal(result.reason, `raw transaction from the endpoint hashes to ${decoy}, not anchor tx ${anchor.tx}`);
  });

  test("verify: rejects a btc:mainnet anchor checked against a regtest Esplora (by genesis hash)", async (t) => {
    const { chain, root, anchor } = anchoredChain("esplora-network");
    const esplora = await serve(t, chain);
    const result = await verifyBtcAnchor({ ...anchor, chain: "btc:mainnet" }, root, { endpoint: { esploraUrl: esplora.url }, confirmations: 1 });
    assert.equal(result.outcome, "rejected");
    assert.equal(result.reason, `wrong network: endpoint ${esplora.origin} serves genesis ${chain.blocks[0]!.getId()}, anchor is btc:mainnet`);
  });

  test("verify: rejects an unknown txid as transaction not found", async (t) => {
    const { chain, root, anchor } = anchoredChain("esplora-unknown");
    const esplora = await serve(t, chain);
    const result = await verifyBtcAnchor({ ...anchor, tx: "cd".repeat(32) }, root, { endpoint: { esploraUrl: esplora.url }, confirmations: 1 });
    assert.equal(result.outcome, "rejected");
    assert.equal(result.reason, "transaction not found");
  });

  test("verify: rejects a reorg that moved the transaction into another block", async (t) => {
    const { chain, root, anchor } = anchoredChain("esplora-reorg");
    const esplora = await serve(t, chain);
    const ctx = { endpoint: { esploraUrl: esplora.url }, confirmations: 1 };
    const before = await verifyBtcAnchor(anchor, root, ctx);
    assert.equal(before.outcome, "verified", before.reason);
    chain.reorg(1);
    const after = await verifyBtcAnchor(anchor, root, { ...ctx, previous: before.evidence });
    assert.equal(after.outcome, "rejected");
    assert.match(after.reason!, /^reorg: transaction moved from block/);
  });

  test("verify: pending with a reorg reason when the new block still lacks confirmations", async (t) => {
    const { chain, root, anchor } = anchoredChain("esplora-reorg-shallow");
    const esplora = await serve(t, chain);
    const before = await verifyBtcAnchor(anchor, root, { endpoint: { esploraUrl: esplora.url }, confirmations: 1 });
    chain.reorg(1);
    const after = await verifyBtcAnchor(anchor, root, { endpoint: { esploraUrl: esplora.url }, confirmations: 3, previous: before.evidence });
    assert.equal(after.outcome, "pending");
    assert.match(after.reason!, /^reorg: transaction moved from block [0-9a-f]{64} to [0-9a-f]{64} at height \d+; 2 of 3 confirmations$/);
  });
});
