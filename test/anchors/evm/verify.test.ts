/**
 * verifyEvmAnchor against a real anvil (docs/ANCHORS.md §EVM anchors, docs/RELIABILITY.md §How the tests are built): one node for the whole
 * file, two deployed BatchAnchor contracts, each test sending its own anchors.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Address } from "viem";
import type { Anchor } from "../../../lib/anchors/anchor.js";
import { verifyEvmAnchor, type EvmVerifyContext } from "../../../lib/anchors/evm/index.js";
import { formatDigest, sha256 } from "../../../lib/digest.js";
import { ArgumentError } from "../../../lib/errors.js";
import { deployBatchAnchor, mine, sendAnchor, startAnvil, type AnvilNode, type SendAnchorParams } from "../../support/anvil.js";

const rootOf = (label: string): string => formatDigest(sha256(Buffer.from(label)));

let node: AnvilNode;
let contractA: Address;
let contractB: Address;

before(async () => {
  node = await startAnvil({ chainId: 31337 });
  contractA = await deployBatchAnchor(node);
  contractB = await deployBatchAnchor(node);
});
after(() => node?.stop());

function ctx(extra: Partial<EvmVerifyContext> = {}): EvmVerifyContext {
  return { rpcUrl: node.rpcUrl, confirmations: 1, ...extra };
}

/** Sends `anchor(...)` and returns the Anchor record a sealer would have written for it. */
async function anchored(label: string, params: Partial<SendAnchorParams> = {}): Promise<Anchor> {
  const root = params.root ?? rootOf(label);
  const sent = await sendAnchor(node, { contract: params.contract ?? contractA, root, batchId: label, ...params });
  assert.ok(sent.block !== undefined, "automine should have mined the anchor");
  return { batchId: label, batchRoot: root, chain: "eip155:31337", contract: params.contract ?? contractA, tx: sent.tx, block: sent.block, ts: 1_795_000_000 };
}

describe("verifyEvmAnchor", () => {
  test("verify: accepts an anchor emitted by the contract with enough confirmations, recording evidence", async () => {
    const anchor = await anchored("batch-ok", { memo: "ok" });
    await mine(node, 2);
    const result = await verifyEvmAnchor(anchor, anchor.batchRoot, ctx({ confirmations: 3, now: () => 1_795_000_123_456 }));
    assert.equal(result.outcome, "verified", result.reason);
    assert.equal(result.reason, undefined);
    const evidence = result.evidence!;
    assert.match(String(evidence.blockHash), /^0x[0-9a-f]{64}$/);
    assert.equal(evidence.blockNumber, anchor.block);
    assert.equal(evidence.confirmations, 3);
    assert.equal(evidence.head, anchor.block + 2);
    assert.equal(evidence.logIndex, 0);
    assert.equal(evidence.checkedAt, 1_795_000_123);
  });

  test("verify: is pending while short of confirmations, then verified once more blocks are mined", async () => {
    const anchor = await anchored("batch-young");
    const young = await verifyEvmAnchor(anchor, anchor.batchRoot, ctx({ confirmations: 3 }));
    assert.equal(young.outcome, "pending");
    assert.equal(young.reason, "1 of 3 confirmations");
    assert.equal(young.evidence?.confirmations, 1);
    await mine(node, 2);
    const settled = await verifyEvmAnchor(anchor, anchor.batchRoot, ctx({ confirmations: 3, previous: young.evidence }));
    assert.equal(settled.outcome, "verified", settled.reason);
    assert.equal(settled.evidence?.blockHash, young.evidence?.blockHash);
  });

  test("verify: the configured contract is used when the anchor names none, and matches case-insensitively", async () => {
    const { contract, ...bare } = await anchored("batch-configured");
    assert.equal((await verifyEvmAnchor(bare, bare.batchRoot, ctx({ contract: contractA.toUpperCase().replace("0X", "0x") }))).outcome, "verified");
    assert.equal((await verifyEvmAnchor({ ...bare, contract }, bare.batchRoot, ctx({ contract: contractA }))).outcome, "verified");
  });

  test("verify: rejects an anchor whose root is not the batch's", async () => {
    const anchor = await anchored("batch-root");
    const result = await verifyEvmAnchor(anchor, rootOf("another batch"), ctx());
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /^root mismatch: the anchor commits to sha256:/);
  });

  test("verify: rejects a transaction that anchored another root than the one the anchor claims", async () => {
    const sent = await anchored("batch-onchain-root", { root: rootOf("what was really anchored") });
    const claimed = { ...sent, batchRoot: rootOf("batch-onchain-root") };
    const result = await verifyEvmAnchor(claimed, claimed.batchRoot, ctx());
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /^root mismatch: the BatchAnchored log from 0x[0-9a-f]{40} carries root 0x[0-9a-f]{64}, expected 0x/);
  });

  test("verify: rejects when the configured contract differs from the anchor's, naming both", async () => {
    const anchor = await anchored("batch-contract");
    const result = await verifyEvmAnchor(anchor, anchor.batchRoot, ctx({ contract: contractB }));
    assert.equal(result.outcome, "rejected");
    assert.ok(result.reason!.includes(contractA) && result.reason!.includes(contractB), result.reason);
    assert.match(result.reason!, /^contract mismatch/);
  });

  test("verify: rejects when neither the configuration nor the anchor names a contract", async () => {
    const { contract: _dropped, ...bare } = await anchored("batch-no-contract");
    const result = await verifyEvmAnchor(bare, bare.batchRoot, ctx());
    assert.deepEqual(result, { outcome: "rejected", reason: "no contract to check the anchor against" });
  });

  test("verify: rejects an anchor for another chain id than the endpoint serves", async () => {
    const anchor = await anchored("batch-chain");
    const result = await verifyEvmAnchor({ ...anchor, chain: "eip155:1" }, anchor.batchRoot, ctx());
    assert.equal(result.outcome, "rejected");
    assert.equal(result.reason, `chain id mismatch: ${node.rpcUrl} serves chain 31337, the anchor names eip155:1`);
  });

  test("verify: rejects a reverted transaction (zero root)", async () => {
    const anchor = await anchored("batch-zero", { root: formatDigest(new Uint8Array(32)), gas: 200_000n });
    const result = await verifyEvmAnchor(anchor, anchor.batchRoot, ctx());
    assert.equal(result.outcome, "rejected");
    assert.equal(result.reason, `transaction ${anchor.tx} reverted in block ${anchor.block}`);
  });

  test("verify: rejects a reverted transaction (root already persisted)", async () => {
    const first = await anchored("batch-persist", { persist: true });
    assert.equal((await verifyEvmAnchor(first, first.batchRoot, ctx())).outcome, "verified");
    const again = await anchored("batch-persist", { persist: true, gas: 200_000n });
    const result = await verifyEvmAnchor(again, again.batchRoot, ctx());
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /reverted in block/);
  });

  test("verify: rejects an unknown transaction hash", async () => {
    const anchor = await anchored("batch-unknown");
    const tx = `0x${"5a".repeat(32)}`;
    const result = await verifyEvmAnchor({ ...anchor, tx }, anchor.batchRoot, ctx());
    assert.deepEqual(result, { outcome: "rejected", reason: `transaction not found: ${tx}` });
  });

  test("verify: a matching log emitted by another contract does not count", async () => {
    const forged = await anchored("batch-elsewhere", { contract: contractB });
    const result = await verifyEvmAnchor({ ...forged, contract: contractA }, forged.batchRoot, ctx());
    assert.equal(result.outcome, "rejected");
    assert.equal(result.reason, `the BatchAnchored log for this root was emitted by ${contractB.toLowerCase()}, not by the contract ${contractA.toLowerCase()}`);
  });

  test("verify: rejects an anchor whose block number is not the receipt's", async () => {
    const anchor = await anchored("batch-block");
    const result = await verifyEvmAnchor({ ...anchor, block: anchor.block - 1 }, anchor.batchRoot, ctx());
    assert.equal(result.outcome, "rejected");
    assert.equal(result.reason, `block mismatch: the anchor says block ${anchor.block - 1}, the receipt says block ${anchor.block}`);
  });

  test("verify: rejects a log whose batchId topic is not keccak256 of the anchor's batchId", async () => {
    const anchor = await anchored("batch-id-onchain");
    const result = await verifyEvmAnchor({ ...anchor, batchId: "batch-id-claimed" }, anchor.batchRoot, ctx());
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /^batchId mismatch: the BatchAnchored log from 0x[0-9a-f]{40} carries batchId topic 0x[0-9a-f]{64}, expected 0x[0-9a-f]{64}$/);
  });

  test("verify: rejects a transaction with no BatchAnchored log from the contract for any root", async () => {
    const claimed = await anchored("batch-nolog");
    const unrelated = await anchored("unrelated", { contract: contractB });
    const result = await verifyEvmAnchor({ ...claimed, tx: unrelated.tx, block: unrelated.block }, claimed.batchRoot, ctx());
    assert.equal(result.outcome, "rejected");
    assert.equal(result.reason, `no BatchAnchored log from the contract ${contractA.toLowerCase()} in transaction ${unrelated.tx}`);
  });

  test("verify: altering any one anchor field makes a verified anchor rejected", async () => {
    const good = await anchored("batch-fields");
    assert.equal((await verifyEvmAnchor(good, good.batchRoot, ctx())).outcome, "verified");
    const alterations: Array<[keyof Anchor, unknown, RegExp]> = [
      ["batchRoot", rootOf("tampered"), /^root mismatch: the anchor commits/],
      ["chain", "eip155:8453", /^chain id mismatch/],
      ["contract", contractB, /^the BatchAnchored log for this root was emitted by/],
      ["tx", `0x${"00".repeat(31)}01`, /^transaction not found/],
      ["block", good.block + 1, /^block mismatch/],
      ["batchId", "batch-fields-2", /^batchId mismatch/],
    ];
    for (const [field, value, reason] of alterations) {
      const result = await verifyEvmAnchor({ ...good, [field]: value }, good.batchRoot, ctx());
      assert.equal(result.outcome, "rejected", `altered ${field}`);
      assert.match(result.reason!, reason, `altered ${field}`);
    }
  });

  test("verify: malformed peer fields are rejected, not thrown", async () => {
    const good = await anchored("batch-malformed");
    const cases: Array<Partial<Record<keyof Anchor, unknown>>> = [
      { tx: "0x1234" },
      { block: -1 },
      { block: 1.5 },
      { chain: "btc:mainnet" },
      { chain: "eip155:0x1" },
      { contract: "0x1234" },
      { batchId: "" },
      { batchRoot: "sha256:XYZ" },
    ];
    for (const change of cases) {
      const result = await verifyEvmAnchor({ ...good, ...change } as Anchor, good.batchRoot, ctx());
      assert.equal(result.outcome, "rejected", JSON.stringify(change));
    }
  });

  test("verify: a caller's malformed argument throws ArgumentError naming it", async () => {
    const good = await anchored("batch-arguments");
    const cases: Array<[string, () => Promise<unknown>]> = [
      ["batchRoot", () => verifyEvmAnchor(good, "sha256:nope", ctx())],
      ["ctx.rpcUrl", () => verifyEvmAnchor(good, good.batchRoot, ctx({ rpcUrl: "ftp://127.0.0.1/" }))],
      ["ctx.confirmations", () => verifyEvmAnchor(good, good.batchRoot, ctx({ confirmations: -1 }))],
      ["ctx.contract", () => verifyEvmAnchor(good, good.batchRoot, ctx({ contract: "0xnope" }))],
      ["ctx.timeoutMs", () => verifyEvmAnchor(good, good.batchRoot, ctx({ timeoutMs: 0 }))],
    ];
    for (const [parameter, call] of cases) {
      await assert.rejects(call, (e: unknown) => e instanceof ArgumentError && e.message.startsWith(`${parameter}:`), parameter);
    }
  });
});
