/**
 * verifyBtcAnchor against the Bitcoin Core JSON-RPC stub serving a regtest chain
 * mined in the test (docs/ANCHORS.md §Bitcoin anchors, docs/RELIABILITY.md §How the tests are built).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { verifyBtcAnchor } from "../../../lib/anchors/btc/index.js";
import { ArgumentError } from "../../../lib/errors.js";
import { startCoreRpcServer, type CoreStubOptions, type RegtestChain, type RunningServer } from "../../support/btc-regtest.js";
import { anchoredChain, fixedNow, rootOf } from "./scenario.js";

async function serve(t: { after: (fn: () => Promise<void>) => void }, chain: RegtestChain, options: CoreStubOptions = {}): Promise<RunningServer> {
  const server = await startCoreRpcServer(chain, options);
  t.after(() => server.close());
  return server;
}

describe("verifyBtcAnchor with Bitcoin Core JSON-RPC", () => {
  test("verify: accepts an anchor mined on the regtest chain and records evidence", async (t) => {
    const { chain, root, anchor } = anchoredChain("core-ok", 2);
    const core = await serve(t, chain);
    const result = await verifyBtcAnchor(anchor, root, { endpoint: { rpcUrl: core.url }, confirmations: 3, now: fixedNow });
    const block = chain.blocks[anchor.block]!;
    assert.equal(result.outcome, "verified", result.reason);
    assert.deepEqual(result.evidence, {
      checkedAt: 1_700_000_000,
      blockHash: block.getId(),
      height: anchor.block,
      head: chain.height,
      confirmations: 3,
      merkleRoot: Buffer.from(block.merkleRoot!).reverse().toString("hex"),
    });
    assert.ok(core.calls.includes("gettxoutproof"), "the inclusion proof came from gettxoutproof");
  });

  test("verify: pending while short of confirmations, verified once enough blocks are mined", async (t) => {
    const { chain, root, anchor } = anchoredChain("core-confirm", 1);
    const core = await serve(t, chain);
    const ctx = { endpoint: { rpcUrl: core.url }, confirmations: 6 };
    const first = await verifyBtcAnchor(anchor, root, ctx);
    assert.equal(first.outcome, "pending");
    assert.equal(first.reason, "2 of 6 confirmations");
    chain.mine(4);
    const second = await verifyBtcAnchor(anchor, root, { ...ctx, previous: first.evidence });
    assert.equal(second.outcome, "verified", second.reason);
    assert.equal(second.evidence?.confirmations, 6);
  });

  test("verify: pending for a transaction still in the mempool", async (t) => {
    const { chain, root } = anchoredChain("core-mempool-base");
    const tx = chain.addAnchorTx(root);
    const core = await serve(t, chain);
    const anchor = { batchId: "b", batchRoot: root, chain: "btc:regtest", tx, block: chain.height + 1, ts: 0 };
    const result = await verifyBtcAnchor(anchor, root, { endpoint: { rpcUrl: core.url }, confirmations: 1 });
    assert.equal(result.outcome, "pending");
    assert.match(result.reason!, /^0 of 1 confirmations/);
  });

  test("verify: pending, naming the endpoint without credentials, when the RPC port is closed", async (t) => {
    const { chain, root, anchor } = anchoredChain("core-closed");
    const core = await startCoreRpcServer(chain);
    await core.close();
    const result = await verifyBtcAnchor(anchor, root, { endpoint: { rpcUrl: core.url }, confirmations: 1, timeoutMs: 2_000 });
    assert.equal(result.outcome, "pending");
    assert.ok(result.reason!.includes(core.origin), result.reason);
    assert.ok(!result.reason!.includes("regtest-secret"), "password must not appear in the reason");
    t.diagnostic(result.reason!);
  });

  test("verify: pending when the node accepts the connection but never answers within timeoutMs", async (t) => {
    const { root, anchor } = anchoredChain("core-silent");
    const silent = createServer(() => undefined); // holds every request open
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
    t.after(() => new Promise<void>((resolve) => {
      silent.closeAllConnections();
      silent.close(() => resolve());
    }));
    const { port } = silent.address() as AddressInfo;
    const result = await verifyBtcAnchor(anchor, root, { endpoint: { rpcUrl: `http://vmsh:secret@127.0.0.1:${port}` }, confirmations: 1, timeoutMs: 300 });
    assert.equal(result.outcome, "pending");
    assert.equal(result.reason, `btc endpoint http://127.0.0.1:${port} unreachable: no answer within 300 ms`);
  });

  test("verify: pending, without echoing the password, when the node refuses the credentials", async (t) => {
    const { chain, root, anchor } = anchoredChain("core-401");
    const core = await serve(t, chain);
    const wrong = core.url.replace("regtest-secret", "wrong-password");
    const result = await verifyBtcAnchor(anchor, root, { endpoint: { rpcUrl: wrong }, confirmations: 1 });
    assert.equal(result.outcome, "pending");
    assert.match(result.reason!, /HTTP 401/);
    assert.ok(!result.reason!.includes("wrong-password"));
  });

  test("verify: finds a confirmed transaction on a node without -txindex through the anchor's block", async (t) => {
    const { chain, root, anchor } = anchoredChain("core-no-txindex");
    const core = await serve(t, chain, { txindex: false });
    const result = await verifyBtcAnchor(anchor, root, { endpoint: { rpcUrl: core.url }, confirmations: 1 });
    assert.equal(result.outcome, "verified", result.reason);
  });

  test("verify: rejects an anchor whose batchRoot is not the batch's root", async (t) => {
    const { chain, anchor } = anchoredChain("core-batchroot");
    const core = await serve(t, chain);
    const result = await verifyBtcAnchor(anchor, rootOf("another batch"), { endpoint: { rpcUrl: core.url }, confirmations: 1 });
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /differs from batch root/);
    assert.deepEqual(core.calls, [], "nothing is asked of the node for an anchor that contradicts itself");
  });

  test("verify: rejects a transaction without an RV OP_RETURN output", async (t) => {
    const { chain, root } = anchoredChain("core-no-rv");
    const tx = chain.addOpReturnTx(Buffer.concat([Buffer.from("RX"), Buffer.from(root.slice(7), "hex")]));
    chain.mine(1);
    const core = await serve(t, chain);
    const anchor = { batchId: "b", batchRoot: root, chain: "btc:regtest", tx, block: chain.height, ts: 0 };
    const result = await verifyBtcAnchor(anchor, root, { endpoint: { rpcUrl: core.url }, confirmations: 1 });
    assert.equal(result.outcome, "rejected");
    assert.equal(result.reason, "no OP_RETURN output carries RV followed by the 32 root bytes");
  });

  test("verify: rejects an RV output that commits to a different root", async (t) => {
    const { chain, anchor } = anchoredChain("core-wrong-root");
    const core = await serve(t, chain);
    const claimed = rootOf("claimed root");
    const result = await verifyBtcAnchor({ ...anchor, batchRoot: claimed }, claimed, { endpoint: { rpcUrl: core.url }, confirmations: 1 });
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, new RegExp(`commits to ${rootOf("core-wrong-root")}, not batch root ${claimed}`));
  });

  test("verify: rejects when gettxoutproof proves a different transaction of the block", async (t) => {
    const { chain, root, anchor } = anchoredChain("core-forged-proof");
    const block = chain.blocks[anchor.block]!;
    const coinbaseProof = Buffer.from(chain.txOutProof(block, [block.transactions![0]!.getId()])).toString("hex");
    const core = await serve(t, chain, { respond: (method) => (method === "gettxoutproof" ? { result: coinbaseProof } : undefined) });
    const result = await verifyBtcAnchor(anchor, root, { endpoint: { rpcUrl: core.url }, confirmations: 1 });
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /not among the proof's matched transactions/);
  });

  test("verify: rejects a gettxoutproof whose tree does not reach the header's merkle root", async (t) => {
    const { chain, root, anchor } = anchoredChain("core-forged-tree");
    const proof = Buffer.from(chain.txOutProof(chain.blocks[anchor.block]!, [anchor.tx]));
    proof[80 + 4 + 1 + 5]! ^= 0x01; // a byte of the first hash of the tree
    const core = await serve(t, chain, { respond: (method) => (method === "gettxoutproof" ? { result: proof.toString("hex") } : undefined) });
    const result = await verifyBtcAnchor(anchor, root, { endpoint: { rpcUrl: core.url }, confirmations: 1 });
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /partial merkle tree recomputes root/);
  });

  test("verify: rejects a transaction in a block whose header misses its own target", async (t) => {
    const { chain, root } = anchoredChain("core-bad-pow-base");
    const tx = chain.addAnchorTx(root);
    chain.mine(1, { invalidProofOfWork: true });
    chain.mine(1);
    const core = await serve(t, chain);
    const anchor = { batchId: "b", batchRoot: root, chain: "btc:regtest", tx, block: chain.height - 1, ts: 0 };
    const result = await verifyBtcAnchor(anchor, root, { endpoint: { rpcUrl: core.url }, confirmations: 1 });
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /does not meet the target of its own bits 0x207fffff/);
  });

  test("verify: rejects when the node returns a different transaction for the txid", async (t) => {
    const { chain, root, anchor } = anchoredChain("core-other-tx");
    const decoy = chain.addAnchorTx(root); // carries the very same RV commitment
    chain.mine(1);
    const decoyHex = chain.locate(decoy)!.tx.toHex();
    const core = await serve(t, chain, {
      respond: (method, params) => (method === "getrawtransaction" && params[0] === anchor.tx ? { result: { txid: anchor.tx, hex: decoyHex, blockhash: chain.blocks[anchor.block]!.getId() } } : undefined),
    });
    const result = await verifyBtcAnchor(anchor, root, { endpoint: { rpcUrl: core.url }, confirmations: 1 });
    assert.equal(result.outcome, "rejected");
    assert.equal(result.reason, `raw transaction from the endpoint hashes to ${decoy}, not anchor tx ${anchor.tx}`);
  });

  test("verify: rejects a btc:mainnet anchor checked against a regtest node", async (t) => {
    const { chain, root, anchor } = anchoredChain("core-network");
    const core = await serve(t, chain);
    const result = await verifyBtcAnchor({ ...anchor, chain: "btc:mainnet" }, root, { endpoint: { rpcUrl: core.url }, confirmations: 1 });
    assert.equal(result.outcome, "rejected");
    assert.equal(result.reason, `wrong network: endpoint ${core.origin} serves chain "regtest", anchor is btc:mainnet`);
  });

  test("verify: rejects regtest-difficulty headers from a node that claims to serve mainnet", async (t) => {
    const { chain, root, anchor } = anchoredChain("core-lying-network");
    const core = await serve(t, chain, { chainName: "main" });
    const result = await verifyBtcAnchor({ ...anchor, chain: "btc:mainnet" }, root, { endpoint: { rpcUrl: core.url }, confirmations: 1 });
    assert.equal(result.outcome, "rejected");
    assert.equal(result.reason, "header bits 0x207fffff exceed the btc:mainnet proof-of-work limit");
  });

  test("verify: rejects an unknown txid as transaction not found", async (t) => {
    const { chain, root, anchor } = anchoredChain("core-unknown");
    const core = await serve(t, chain);
    const result = await verifyBtcAnchor({ ...anchor, tx: "ab".repeat(32) }, root, { endpoint: { rpcUrl: core.url }, confirmations: 1 });
    assert.equal(result.outcome, "rejected");
    assert.equal(result.reason, "transaction not found");
  });

  test("verify: rejects an anchor whose block height is not the transaction's", async (t) => {
    const { chain, root, anchor } = anchoredChain("core-height", 1);
    const core = await serve(t, chain);
    const result = await verifyBtcAnchor({ ...anchor, block: anchor.block + 1 }, root, { endpoint: { rpcUrl: core.url }, confirmations: 1 });
    assert.equal(result.outcome, "rejected");
    assert.equal(result.reason, `transaction is in block height ${anchor.block}, anchor says ${anchor.block + 1}`);
  });

  test("verify: rejects a reorg that moved the transaction into another block", async (t) => {
    const { chain, root, anchor } = anchoredChain("core-reorg", 1);
    const core = await serve(t, chain);
    const ctx = { endpoint: { rpcUrl: core.url }, confirmations: 1 };
    const before = await verifyBtcAnchor(anchor, root, ctx);
    assert.equal(before.outcome, "verified", before.reason);
    chain.reorg(2);
    assert.equal(chain.locate(anchor.tx)?.height, anchor.block, "re-mined at the same height");
    const after = await verifyBtcAnchor(anchor, root, { ...ctx, previous: before.evidence });
    assert.equal(after.outcome, "rejected");
    assert.match(after.reason!, new RegExp(`^reorg: transaction moved from block ${before.evidence!.blockHash} to ${chain.blocks[anchor.block]!.getId()}`));
  });

  test("verify: pending with a reorg reason when the reorg left the transaction unconfirmed", async (t) => {
    const { chain, root, anchor } = anchoredChain("core-reorg-mempool", 1);
    const core = await serve(t, chain);
    const ctx = { endpoint: { rpcUrl: core.url }, confirmations: 1 };
    const before = await verifyBtcAnchor(anchor, root, ctx);
    chain.reorg(2, { reinclude: false });
    const after = await verifyBtcAnchor(anchor, root, { ...ctx, previous: before.evidence });
    assert.equal(after.outcome, "pending");
    assert.match(after.reason!, /^reorg: block [0-9a-f]{64} no longer holds the transaction; 0 of 1 confirmations/);
  });

  test("verify: a caller's malformed context throws ArgumentError naming the parameter", async () => {
    const { root, anchor } = anchoredChain("core-args");
    await assert.rejects(verifyBtcAnchor(anchor, root, { endpoint: { rpcUrl: "ftp://x" }, confirmations: 1 }), (e: unknown) => e instanceof ArgumentError && /ctx\.endpoint\.rpcUrl/.test(e.message));
    await assert.rejects(verifyBtcAnchor(anchor, root, { endpoint: { rpcUrl: "http://127.0.0.1:1" }, confirmations: 0 }), /ctx\.confirmations/);
    await assert.rejects(verifyBtcAnchor(anchor, "sha256:xyz", { endpoint: { rpcUrl: "http://127.0.0.1:1" }, confirmations: 1 }), /batchRoot/);
  });
});
