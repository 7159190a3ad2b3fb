/**
 * verifyTxOutProof (docs/ANCHORS.md §`verifyTxOutProof(proof, txid)`) on a real Bitcoin Core `gettxoutproof` from the main
 * chain, every single-byte alteration of it, and a CVE-2012-2459 forgery built on a
 * regtest block.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { encodeTxOutProof, sha256d, verifyTxOutProof } from "../../../lib/anchors/btc/index.js";
import { ArgumentError } from "../../../lib/errors.js";
import { createRegtestChain } from "../../support/btc-regtest.js";
import { fixturePath } from "../../support/repo-root.js";

// rust-bitcoin test data (see test/fixtures/real/SOURCES.md): tx index 3 of 9.
const REAL_PROOF = readFileSync(fixturePath("real", "btc", "mainnet-13b8a-txoutproof.hex"), "utf8").trim();
const REAL_TXID = "220ebc64e21abece964927322cba69180ed853bb187fbc6923bac7d010b9d87a";
const REAL_BLOCK = "0000000000013b8ab2cd513b0261a14096412195a72a0c4827d229dcc7e0f7af";

describe("verifyTxOutProof", () => {
  test("verify: accepts a real main-chain gettxoutproof and names its block", () => {
    const result = verifyTxOutProof(REAL_PROOF, REAL_TXID);
    assert.equal(result.outcome, "verified", result.reason);
    assert.equal(result.blockHash, REAL_BLOCK);
    assert.equal(result.merkleRoot, "2fda58e5959b0ee53c5253da9b9f3c0c739422ae04946966991cf55895287552");
    assert.equal(verifyTxOutProof(Buffer.from(REAL_PROOF, "hex"), REAL_TXID.toUpperCase()).outcome, "verified", "bytes and upper-case txid too");
  });

  test("verify: rejects a txid that the real proof does not match", () => {
    const result = verifyTxOutProof(REAL_PROOF, "00".repeat(32));
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /not among the proof's matched transactions/);
  });

  test("verify: rejects every single-byte alteration of the real proof", () => {
    const bytes = Buffer.from(REAL_PROOF, "hex");
    const accepted: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      const altered = Buffer.from(bytes);
      altered[i]! ^= 0xff;
      if (verifyTxOutProof(altered, REAL_TXID).outcome !== "rejected") accepted.push(i);
    }
    // No exception is needed: every header byte moves the hash off its target (or breaks
    // the bits/merkle root), every tree byte changes a count, hash or used flag bit.
    assert.deepEqual(accepted, []);
  });

  test("verify: rejects a truncated proof and trailing bytes", () => {
    const bytes = Buffer.from(REAL_PROOF, "hex");
    for (const cut of [0, 79, 80, 84, bytes.length - 1]) assert.equal(verifyTxOutProof(bytes.subarray(0, cut), REAL_TXID).outcome, "rejected", `cut at ${cut}`);
    const longer = verifyTxOutProof(Buffer.concat([bytes, Buffer.of(0)]), REAL_TXID);
    assert.equal(longer.outcome, "rejected");
    assert.match(longer.reason!, /trailing bytes/);
    assert.equal(verifyTxOutProof("zz", REAL_TXID).outcome, "rejected");
  });

  test("verify: a malformed txid is the caller's mistake and throws ArgumentError", () => {
    assert.throws(() => verifyTxOutProof(REAL_PROOF, "220ebc"), (e: unknown) => e instanceof ArgumentError && /^txid:/.test(e.message));
  });

  test("verify: accepts gettxoutproof for a regtest block mined by the test, for any matched tx", () => {
    const chain = createRegtestChain(4);
    chain.addAnchorTx(`sha256:${"11".repeat(32)}`);
    chain.addAnchorTx(`sha256:${"22".repeat(32)}`);
    chain.mine(1);
    const block = chain.blocks[chain.height]!;
    const ids = block.transactions!.map((t) => t.getId());
    const proof = chain.txOutProof(block, [ids[0]!, ids[2]!]);
    for (const id of [ids[0]!, ids[2]!]) assert.equal(verifyTxOutProof(proof, id).blockHash, block.getId());
    assert.equal(verifyTxOutProof(proof, ids[1]!).outcome, "rejected", "a leaf given only as a hash is not a match");
  });

  test("verify: rejects a CVE-2012-2459 tree that duplicates the last transaction (identical left/right children)", () => {
    const chain = createRegtestChain(4);
    chain.addAnchorTx(`sha256:${"33".repeat(32)}`);
    chain.addAnchorTx(`sha256:${"44".repeat(32)}`);
    chain.mine(1);
    const block = chain.blocks[chain.height]!;
    const [a, b, c] = block.transactions!.map((t) => t.getHash());
    assert.equal(block.transactions!.length, 3);
    // Claim four transactions [a, b, c, c]: the root is the same as the real three-tx tree's.
    const forgedRoot = sha256d(sha256d(a!, b!), sha256d(c!, c!));
    assert.ok(Buffer.from(forgedRoot).equals(block.merkleRoot!), "the forged tree really reaches the header's root");
    // Walk: root(1) → left subtree given as hash(0) → right(1) → leaf 2 as hash(0) → leaf 3 matched(1).
    const proof = encodeTxOutProof(block.toBuffer(true), { transactions: 4, hashes: [sha256d(a!, b!), c!, c!], bits: [true, false, true, false, true] });
    const result = verifyTxOutProof(proof, block.transactions![2]!.getId());
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /identical left and right children \(CVE-2012-2459\)/);
  });
});
