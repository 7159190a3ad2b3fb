/**
 * The regtest stub itself (docs/RELIABILITY.md §How the tests are built): its chain must be a real Bitcoin chain and
 * its servers must answer as Bitcoin Core and Esplora do, or the verifier tests
 * above would prove nothing about real nodes.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Block, script as bscript } from "bitcoinjs-lib";
import { foldMerkleBranch, fromDisplayHex, GENESIS_HASHES, toDisplayHex, verifyTxOutProof } from "../../../lib/anchors/btc/index.js";
import { REGTEST_BITS, createRegtestChain, startCoreRpcServer, startEsploraServer } from "../../support/btc-regtest.js";

async function rpc(url: string, origin: string, method: string, params: unknown[] = [], auth?: string): Promise<{ status: number; body: unknown }> {
  const u = new URL(url);
  const authorization = auth ?? `Basic ${Buffer.from(`${u.username}:${u.password}`).toString("base64")}`;
  const res = await fetch(origin, { method: "POST", headers: { authorization, "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "1.0", id: "t", method, params }), signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  return { status: res.status, body: text === "" ? undefined : JSON.parse(text) };
}

describe("regtest stub", () => {
  test("chain: starts at Core's regtest genesis and every block links, meets 0x207fffff and commits to its transactions", () => {
    const chain = createRegtestChain(5);
    chain.addAnchorTx(`sha256:${"ab".repeat(32)}`);
    chain.mine(2);
    assert.equal(chain.blocks[0]!.getId(), GENESIS_HASHES.regtest);
    chain.blocks.forEach((block, height) => {
      const copy = Block.fromBuffer(block.toBuffer());
      assert.ok(copy.checkProofOfWork(), `pow at ${height}`);
      assert.ok(copy.checkTxRoots(), `merkle root at ${height}`);
      assert.equal(copy.bits, REGTEST_BITS);
      if (height > 0) {
        assert.deepEqual(Buffer.from(copy.prevHash!), Buffer.from(chain.blocks[height - 1]!.getHash()));
        const bip34 = bscript.decompile(copy.transactions![0]!.ins[0]!.script)![0]!;
        assert.equal(typeof bip34 === "number" ? bip34 - 0x50 : bscript.number.decode(Buffer.from(bip34)), height, "BIP 34 height");
      }
    });
  });

  test("chain: a reorg replaces the last blocks with a longer branch of different blocks", () => {
    const chain = createRegtestChain(6);
    const old = chain.blocks.slice(5).map((b) => b.getId());
    const replaced = chain.reorg(2);
    assert.equal(chain.height, 7);
    assert.deepEqual(replaced, chain.blocks.slice(5).map((b) => b.getId()));
    for (const hash of old) {
      assert.ok(!replaced.includes(hash));
      assert.equal(chain.heightOf(hash), undefined, "old block is off the active chain");
      assert.ok(chain.blockByHash(hash), "old block is still known, as Core keeps stale blocks");
    }
  });

  test("core: answers 401 without a body to bad Basic auth, like bitcoind", async (t) => {
    const chain = createRegtestChain(1);
    const core = await startCoreRpcServer(chain);
    t.after(() => core.close());
    const answer = await rpc(core.url, core.origin, "getblockcount", [], `Basic ${Buffer.from("vmsh:nope").toString("base64")}`);
    assert.deepEqual(answer, { status: 401, body: undefined });
  });

  test("core: reports errors as {result:null,error:{code,message},id} with Core's codes and HTTP statuses", async (t) => {
    const chain = createRegtestChain(1);
    const core = await startCoreRpcServer(chain);
    t.after(() => core.close());
    assert.deepEqual(await rpc(core.url, core.origin, "getrawtransaction", ["00".repeat(32), true]), {
      status: 500,
      body: { result: null, error: { code: -5, message: "No such mempool or blockchain transaction. Use gettransaction for wallet transactions." }, id: "t" },
    });
    assert.deepEqual(await rpc(core.url, core.origin, "getblockhash", [9]), { status: 500, body: { result: null, error: { code: -8, message: "Block height out of range" }, id: "t" } });
    assert.equal((await rpc(core.url, core.origin, "nosuchmethod")).status, 404);
  });

  test("core: getblockheader, getrawtransaction and gettxoutproof agree with the chain", async (t) => {
    const chain = createRegtestChain(2);
    const txid = chain.addAnchorTx(`sha256:${"cd".repeat(32)}`);
    chain.mine(3);
    const core = await startCoreRpcServer(chain);
    t.after(() => core.close());
    const tx = (await rpc(core.url, core.origin, "getrawtransaction", [txid, true])).body as { result: { hex: string; blockhash: string; confirmations: number } };
    assert.equal(tx.result.confirmations, 3);
    const header = (await rpc(core.url, core.origin, "getblockheader", [tx.result.blockhash])).body as { result: { height: number; merkleroot: string; bits: string } };
    assert.deepEqual([header.result.height, header.result.bits], [3, "207fffff"]);
    const proof = (await rpc(core.url, core.origin, "gettxoutproof", [[txid]])).body as { result: string };
    assert.deepEqual(verifyTxOutProof(proof.result, txid), { outcome: "verified", blockHash: tx.result.blockhash, merkleRoot: header.result.merkleroot });
    const info = (await rpc(core.url, core.origin, "getblockchaininfo")).body as { result: { chain: string; blocks: number } };
    assert.deepEqual([info.result.chain, info.result.blocks], ["regtest", 5]);
  });

  test("esplora: serves the genesis hash, headers, tx status and merkle proofs that fold to the header's root", async (t) => {
    const chain = createRegtestChain(2);
    const txid = chain.addAnchorTx(`sha256:${"ef".repeat(32)}`);
    chain.mine(1);
    const esplora = await startEsploraServer(chain);
    t.after(() => esplora.close());
    const get = async (path: string): Promise<string> => (await fetch(`${esplora.url}${path}`, { signal: AbortSignal.timeout(5_000) })).text();
    assert.equal(await get("/block-height/0"), GENESIS_HASHES.regtest);
    const status = JSON.parse(await get(`/tx/${txid}/status`)) as { block_hash: string; block_height: number };
    assert.equal(status.block_height, 3);
    const header = Block.fromHex(await get(`/block/${status.block_hash}/header`));
    assert.equal(header.getId(), status.block_hash);
    const proof = JSON.parse(await get(`/tx/${txid}/merkle-proof`)) as { merkle: string[]; pos: number };
    const root = foldMerkleBranch(fromDisplayHex(txid), proof.merkle.map((h) => fromDisplayHex(h)), proof.pos)!;
    assert.equal(toDisplayHex(root), toDisplayHex(header.merkleRoot!));
    assert.equal(await get(`/tx/${"00".repeat(32)}/hex`), "Transaction not found");
  });
});
