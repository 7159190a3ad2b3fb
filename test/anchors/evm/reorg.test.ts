/**
 * Re-verification across a reorg and a transaction still in the mempool, against
 * a real anvil of its own (these tests rewind the chain and stop automine).
 * A reorg is made with evm_snapshot / evm_revert: the anchor's block is dropped
 * and other blocks are mined at its height.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import type { Address } from "viem";
import type { Anchor } from "../../../lib/anchors/anchor.js";
import { verifyEvmAnchor, type EvmVerifyContext } from "../../../lib/anchors/evm/index.js";
import { formatDigest, sha256 } from "../../../lib/digest.js";
import type { VerificationResult } from "../../../lib/anchors/result.js";
import {
  deployBatchAnchor,
  mine,
  publicClientFor,
  revertTo,
  sendAnchor,
  sendRaw,
  setAutomine,
  snapshot,
  startAnvil,
  testClientFor,
  type AnvilNode,
  type SentAnchor,
} from "../../support/anvil.js";

let node: AnvilNode;
let contract: Address;

before(async () => {
  node = await startAnvil({ chainId: 31337 });
  contract = await deployBatchAnchor(node);
});
after(() => node?.stop());

const ctx = (extra: Partial<EvmVerifyContext> = {}): EvmVerifyContext => ({ rpcUrl: node.rpcUrl, confirmations: 3, ...extra });

/** Anchors a batch, lets it reach 3 confirmations and verifies it: the state a node had before the reorg. */
async function settledAnchor(label: string): Promise<{ anchor: Anchor; sent: SentAnchor; first: VerificationResult }> {
  const root = formatDigest(sha256(Buffer.from(label)));
  const sent = await sendAnchor(node, { contract, root, batchId: label });
  const anchor: Anchor = { batchId: label, batchRoot: root, chain: "eip155:31337", contract, tx: sent.tx, block: sent.block!, ts: 1_795_000_000 };
  await mine(node, 2);
  const first = await verifyEvmAnchor(anchor, root, ctx());
  assert.equal(first.outcome, "verified", first.reason);
  return { anchor, sent, first };
}

/** Makes the next block's timestamp differ from anything mined so far, so a block at a reused height gets a new hash. */
async function advanceClock(): Promise<void> {
  const head = await publicClientFor(node).getBlock();
  await testClientFor(node).setNextBlockTimestamp({ timestamp: head.timestamp + 1000n });
}

describe("verifyEvmAnchor across reorgs", () => {
  test("reorg: re-verifying with unchanged evidence stays verified and notes no reorg", async () => {
    const { anchor, first } = await settledAnchor("reorg-none");
    const again = await verifyEvmAnchor(anchor, anchor.batchRoot, ctx({ previous: first.evidence }));
    assert.equal(again.outcome, "verified", again.reason);
    assert.equal(again.evidence?.reorg, undefined);
    assert.equal(again.evidence?.blockHash, first.evidence?.blockHash);
  });

  test("reorg: an anchor whose transaction was dropped by a reorg is rejected, the reason naming the reorg", async () => {
    const id = await snapshot(node);
    const { anchor, first } = await settledAnchor("reorg-dropped");
    await revertTo(node, id);
    await advanceClock();
    await mine(node, 5);
    const result = await verifyEvmAnchor(anchor, anchor.batchRoot, ctx({ previous: first.evidence }));
    assert.equal(result.outcome, "rejected");
    const now = (await publicClientFor(node).getBlock({ blockNumber: BigInt(anchor.block) })).hash;
    assert.equal(result.reason, `reorg: block ${anchor.block} was ${String(first.evidence?.blockHash)} and is now ${now}; transaction not found: ${anchor.tx}`);
  });

  test("reorg: a transaction re-included at the same height is pending until confirmed again, then verified with the new block hash", async () => {
    const id = await snapshot(node);
    const { anchor, sent, first } = await settledAnchor("reorg-reincluded");
    await revertTo(node, id);
    await advanceClock();
    await sendRaw(node, sent.raw);
    const young = await verifyEvmAnchor(anchor, anchor.batchRoot, ctx({ previous: first.evidence }));
    assert.equal(young.outcome, "pending");
    assert.match(young.reason!, new RegExp(`^reorg: block ${anchor.block} was ${String(first.evidence?.blockHash)} and is now 0x[0-9a-f]{64}; 1 of 3 confirmations$`));
    assert.notEqual(young.evidence?.blockHash, first.evidence?.blockHash);

    await mine(node, 2);
    const settled = await verifyEvmAnchor(anchor, anchor.batchRoot, ctx({ previous: first.evidence }));
    assert.equal(settled.outcome, "verified", settled.reason);
    assert.equal(settled.evidence?.blockHash, young.evidence?.blockHash);
    assert.match(String(settled.evidence?.reorg), /^reorg: block \d+ was 0x[0-9a-f]{64} and is now 0x[0-9a-f]{64}$/);
  });

  test("reorg: a transaction re-included at another height no longer matches the anchor and is rejected", async () => {
    const id = await snapshot(node);
    const { anchor, sent, first } = await settledAnchor("reorg-moved");
    await revertTo(node, id);
    await advanceClock();
    await mine(node, 1);
    await sendRaw(node, sent.raw);
    await mine(node, 3);
    const result = await verifyEvmAnchor(anchor, anchor.batchRoot, ctx({ previous: first.evidence }));
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, new RegExp(`^reorg: block ${anchor.block} was 0x[0-9a-f]{64} and is now 0x[0-9a-f]{64}; block mismatch: the anchor says block ${anchor.block}, the receipt says block ${anchor.block + 1}$`));
  });

  test("reorg: a chain rewound below the recorded block is reported as a reorg", async () => {
    const id = await snapshot(node);
    const { anchor, first } = await settledAnchor("reorg-rewound");
    await revertTo(node, id);
    const result = await verifyEvmAnchor(anchor, anchor.batchRoot, ctx({ previous: first.evidence }));
    assert.equal(result.outcome, "rejected");
    assert.equal(result.reason, `reorg: block ${anchor.block} was ${String(first.evidence?.blockHash)} and is no longer in the chain; transaction not found: ${anchor.tx}`);
  });
});

describe("verifyEvmAnchor before the transaction is mined", () => {
  test("mempool: a transaction known to the node but not yet mined is pending, and verified once mined", async () => {
    const root = formatDigest(sha256(Buffer.from("mempool")));
    await setAutomine(node, false);
    let sent: SentAnchor;
    try {
      sent = await sendAnchor(node, { contract, root, batchId: "mempool" });
      assert.equal(sent.block, undefined);
      const head = Number(await publicClientFor(node).getBlockNumber());
      const anchor: Anchor = { batchId: "mempool", batchRoot: root, chain: "eip155:31337", contract, tx: sent.tx, block: head + 1, ts: 1_795_000_000 };
      const waiting = await verifyEvmAnchor(anchor, root, ctx({ confirmations: 1 }));
      assert.deepEqual(waiting, { outcome: "pending", reason: `transaction ${sent.tx} is in the mempool, not yet in a block` });
      await mine(node, 1);
      const mined = await verifyEvmAnchor(anchor, root, ctx({ confirmations: 1 }));
      assert.equal(mined.outcome, "verified", mined.reason);
    } finally {
      await setAutomine(node, true);
    }
  });
});
