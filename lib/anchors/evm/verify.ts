/**
 * Re-verifies an EVM anchor against the node's own JSON-RPC endpoint (docs/ANCHORS.md §EVM anchors).
 * Order of checks, each reason's wording and meaning: docs/ANCHORS.md (EVM).
 * Peer data never throws out of here: it is `rejected`; an endpoint that cannot
 * answer makes the anchor `pending`, re-checked later.
 */
import {
  createPublicClient,
  http,
  TransactionNotFoundError,
  TransactionReceiptNotFoundError,
  type Hex,
  type PublicClient,
  type TransactionReceipt,
} from "viem";
import type { Anchor } from "../anchor.js";
import { ArgumentError } from "../../errors.js";
import { pending, rejected, unreachable, verified, type Evidence, type VerificationResult } from "../result.js";
import { isClaim, readEvmClaim, type EvmClaim } from "./claim.js";
import { describeRpcFailure, endpointName } from "./endpoint.js";
import { matchAnchorLog } from "./log.js";
import { canonicalBlockNote, movedReceiptNote, recordedBlock } from "./reorg.js";
import { cappedFetch } from "../capped-fetch.js";

export interface EvmVerifyContext {
  /** JSON-RPC endpoint of the chain the anchor names (anchors.yaml). */
  rpcUrl: string;
  /** Contract configured in anchors.yaml for this chain; wins over `anchor.contract`. */
  contract?: string;
  /** Required confirmations, `head − block + 1` (federation.yaml `evm_confirmations`). */
  confirmations: number;
  /** Per-request timeout; default 10 000 ms. */
  timeoutMs?: number;
  /** Evidence of an earlier check of the same anchor, to detect a reorg. */
  previous?: Evidence;
  /** Clock in unix milliseconds (like `Date.now`); `checkedAt` is its value in seconds. */
  now?: () => number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Verifies that `anchor` proves `batchRoot` on an EVM chain, with the caller's endpoint and policy.
 * @example
 * const result = await verifyEvmAnchor(anchor, batch.root, { rpcUrl: "http://127.0.0.1:8545", confirmations: 3 });
 * if (result.outcome === "verified") store(result.evidence);
 */
export async function verifyEvmAnchor(anchor: Anchor, batchRoot: string, ctx: EvmVerifyContext): Promise<VerificationResult> {
  if (ctx === null || typeof ctx !== "object") throw new ArgumentError("ctx", "expected an EvmVerifyContext object");
  const endpoint = endpointName(ctx.rpcUrl);
  if (!Number.isSafeInteger(ctx.confirmations) || ctx.confirmations < 0) throw new ArgumentError("ctx.confirmations", "expected a non-negative integer");
  const timeoutMs = ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new ArgumentError("ctx.timeoutMs", "expected a positive number of milliseconds");

  const claim = readEvmClaim(anchor, batchRoot, ctx.contract);
  if (!isClaim(claim)) return claim;

  const client = createPublicClient({ transport: http(ctx.rpcUrl, { timeout: timeoutMs, retryCount: 0, fetchFn: cappedFetch() }), cacheTime: 0 });
  const checkedAt = Math.floor((ctx.now ?? Date.now)() / 1000);
  try {
    return await checkOnChain(client as PublicClient, claim, anchor.chain, ctx, endpoint, checkedAt);
  } catch (error) {
    return unreachable(`EVM endpoint ${endpoint} failed: ${describeRpcFailure(error, timeoutMs)}`);
  }
}

async function checkOnChain(
  client: PublicClient,
  claim: EvmClaim,
  chain: string,
  ctx: EvmVerifyContext,
  endpoint: string,
  checkedAt: number,
): Promise<VerificationResult> {
  const served = await client.getChainId();
  if (served !== claim.chainId) return rejected(`chain id mismatch: ${endpoint} serves chain ${served}, the anchor names ${chain}`);

  const recorded = recordedBlock(ctx.previous, claim.block);
  let note = recorded ? await canonicalBlockNote(client, recorded) : undefined;
  const explain = (reason: string): string => (note ? `${note}; ${reason}` : reason);

  const receipt = await findReceipt(client, claim.tx);
  if (!receipt) {
    if (await inMempool(client, claim.tx)) return pending(explain(`transaction ${claim.tx} is in the mempool, not yet in a block`));
    return rejected(explain(`transaction not found: ${claim.tx}`));
  }

  const blockNumber = Number(receipt.blockNumber);
  if (recorded && !note) note = movedReceiptNote(recorded, receipt.blockHash, blockNumber);
  const evidence: Evidence = { blockHash: receipt.blockHash, blockNumber };

  if (receipt.status !== "success") return rejected(explain(`transaction ${claim.tx} reverted in block ${blockNumber}`), { ...evidence, checkedAt });
  if (blockNumber !== claim.block) {
    return rejected(explain(`block mismatch: the anchor says block ${claim.block}, the receipt says block ${blockNumber}`), { ...evidence, checkedAt });
  }

  const log = matchAnchorLog(receipt.logs, claim);
  if ("reason" in log) return rejected(explain(log.reason), { ...evidence, checkedAt });

  const head = Number(await client.getBlockNumber({ cacheTime: 0 }));
  const confirmations = Math.max(0, head - blockNumber + 1);
  Object.assign(evidence, { confirmations, head, logIndex: log.logIndex, checkedAt });
  if (note) evidence.reorg = note;
  if (confirmations < ctx.confirmations) return pending(explain(`${confirmations} of ${ctx.confirmations} confirmations`), evidence);
  return verified(evidence);
}

/** The receipt, or `undefined` when the node knows no mined transaction with this hash. */
async function findReceipt(client: PublicClient, hash: Hex): Promise<TransactionReceipt | undefined> {
  try {
    return await client.getTransactionReceipt({ hash });
  } catch (error) {
    if (error instanceof TransactionReceiptNotFoundError) return undefined;
    throw error;
  }
}

/** A transaction without a receipt that the node still knows is waiting to be mined. */
async function inMempool(client: PublicClient, hash: Hex): Promise<boolean> {
  try {
    await client.getTransaction({ hash });
    return true;
  } catch (error) {
    if (error instanceof TransactionNotFoundError) return false;
    throw error;
  }
}
