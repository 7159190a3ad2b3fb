/**
 * The pieces of the BTC verifier on main-chain data nobody on this project made
 * (test/fixtures/real/SOURCES.md): block 592920's header, an OP_RETURN tx in it and
 * its merkle branch, from summa-tx/bitcoin-spv; and every single-byte alteration.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import {
  findRootCommitment,
  foldMerkleBranch,
  fromDisplayHex,
  opReturnData,
  parseBlockHeader,
  parseTransaction,
  powLimitProblem,
  proofOfWorkProblem,
  blockHashHex,
} from "../../../lib/anchors/btc/index.js";
import { fixturePath } from "../../support/repo-root.js";

interface SpvFixture {
  txid: string;
  rawTx: string;
  blockHash: string;
  blockHeight: number;
  header: string;
  index: number;
  branchInternalOrder: string[];
  opReturnScript: string;
}

const fixture = JSON.parse(readFileSync(fixturePath("real", "btc", "mainnet-592920-opreturn.json"), "utf8")) as SpvFixture;
const header = Buffer.from(fixture.header, "hex");
const branch = fixture.branchInternalOrder.map((h) => Buffer.from(h, "hex"));
const raw = Buffer.from(fixture.rawTx, "hex");

/** True when `headerBytes` meets its target and the branch from `txid` folds to its merkle root. */
function included(headerBytes: Uint8Array, txid: string, path: Uint8Array[]): boolean {
  const h = parseBlockHeader(headerBytes);
  if (h === undefined || proofOfWorkProblem(h) !== undefined) return false;
  const root = foldMerkleBranch(fromDisplayHex(txid), path, fixture.index);
  return root !== undefined && Buffer.from(root).equals(h.merkleRoot);
}

describe("BTC verification pieces on main-chain block 592920", () => {
  test("verify: the raw tx hashes to its txid and carries the Omni OP_RETURN, not an RV commitment", () => {
    const tx = parseTransaction(raw);
    assert.ok(tx.ok);
    assert.equal(tx.txid, fixture.txid);
    const scripts = tx.outputScripts.map((s) => Buffer.from(s).toString("hex"));
    assert.ok(scripts.includes(fixture.opReturnScript));
    assert.equal(Buffer.from(opReturnData(Buffer.from(fixture.opReturnScript, "hex"))!).toString("hex"), fixture.opReturnScript.slice(4));
    assert.deepEqual(findRootCommitment(tx.outputScripts, new Uint8Array(32)), { found: false, otherRoots: [] });
  });

  test("verify: the branch folds to the header's merkle root and the header meets its target", () => {
    const h = parseBlockHeader(header)!;
    assert.equal(blockHashHex(h), fixture.blockHash);
    assert.equal(proofOfWorkProblem(h), undefined);
    assert.equal(powLimitProblem(h, "mainnet"), undefined);
    assert.ok(included(header, fixture.txid, branch));
  });

  test("verify: rejects every single-byte alteration of the header", () => {
    const accepted: number[] = [];
    for (let i = 0; i < header.length; i++) {
      const altered = Buffer.from(header);
      altered[i]! ^= 0xff;
      if (included(altered, fixture.txid, branch)) accepted.push(i);
    }
    assert.deepEqual(accepted, []);
  });

  test("verify: rejects every single-byte alteration of the merkle branch", () => {
    const accepted: string[] = [];
    branch.forEach((node, n) => {
      for (let i = 0; i < node.length; i++) {
        const altered = branch.map((b) => Buffer.from(b));
        altered[n]![i]! ^= 0xff;
        if (included(header, fixture.txid, altered)) accepted.push(`${n}:${i}`);
      }
    });
    assert.deepEqual(accepted, []);
  });

  test("verify: every single-byte alteration of the raw tx fails to parse or hashes to another txid", () => {
    const accepted: number[] = [];
    for (let i = 0; i < raw.length; i++) {
      const altered = Buffer.from(raw);
      altered[i]! ^= 0xff;
      const tx = parseTransaction(altered);
      if (tx.ok && tx.txid === fixture.txid) accepted.push(i);
    }
    assert.deepEqual(accepted, []);
  });
});
