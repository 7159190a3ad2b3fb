/**
 * `verifyBtcAnchor` (docs/ANCHORS.md §Bitcoin anchors): re-verifies a Bitcoin anchor
 * against the node's own Bitcoin Core or Esplora endpoints. Every check runs, in the order
 * docs/ANCHORS.md lists; the first one that fails decides the outcome. Answers from an
 * endpoint never throw: they become `pending` (endpoint unusable, or too few confirmations)
 * or `rejected` (the anchor is not what it claims). With several endpoints, each is asked
 * on its own and `agree` of them must verify the same block (docs/ANCHORS.md §Several endpoints).
 */
import { ArgumentError } from "../../errors.js";
import { digestBytes, isDigest } from "../../digest.js";
import { parseChainId, type Anchor, type BtcNetwork } from "../anchor.js";
import { pending, rejected, unreachable, verified, type Evidence, type VerificationResult } from "../result.js";
import { findRootCommitment, parseTransaction } from "./anchor-output.js";
import { coreSource } from "./core-source.js";
import { esploraSource } from "./esplora-source.js";
import { isHashHex, toDisplayHex } from "./hash-order.js";
import { difficultyFloorProblem, type DifficultyCheckpoint } from "./difficulty-floor.js";
import { blockHashHex } from "./header.js";
import type { BtcSource } from "./source.js";
import { powLimitProblem, proofOfWorkProblem } from "./target.js";
import { endpointTarget } from "./transport.js";

type Endpoint = { rpcUrl: string } | { esploraUrl: string };

export interface BtcVerifyContext {
  /** Bitcoin Core JSON-RPC (credentials as `http://user:pass@host:port`) or Esplora REST base URL. */
  endpoint?: Endpoint;
  /** Several endpoints instead of one, each asked on its own. */
  endpoints?: Endpoint[];
  /** How many of `endpoints` must verify the same block; default all of them. */
  agree?: number;
  /** The difficulty checkpoints to hold headers to; default the network's table (difficulty-floor.ts). */
  difficultyCheckpoints?: readonly DifficultyCheckpoint[];
  /** Confirmations required (`btc_confirmations`, docs/FEDERATION_OPERATIONS.md §federation.yaml), at least 1. */
  confirmations: number;
  /** Per-request timeout; default 10 000 ms. */
  timeoutMs?: number;
  /** Evidence from an earlier verification of this anchor: a different block hash now means a reorg. */
  previous?: Evidence;
  /** Clock in milliseconds since the epoch (like `Date.now`); `checkedAt` is recorded in seconds. */
  now?: () => number;
}

const DEFAULT_TIMEOUT_MS = 10_000;

function sourceFor(value: unknown, name: string, timeoutMs: number): BtcSource {
  const endpoint = value as { rpcUrl?: unknown; esploraUrl?: unknown } | undefined;
  if (typeof endpoint !== "object" || endpoint === null) throw new ArgumentError(name, "expected { rpcUrl } or { esploraUrl }");
  if (typeof endpoint.rpcUrl === "string") {
    const target = endpointTarget(endpoint.rpcUrl);
    if (target === undefined) throw new ArgumentError(`${name}.rpcUrl`, "expected an http(s) URL");
    return coreSource(target, timeoutMs);
  }
  if (typeof endpoint.esploraUrl === "string") {
    const target = endpointTarget(endpoint.esploraUrl);
    if (target === undefined) throw new ArgumentError(`${name}.esploraUrl`, "expected an http(s) URL");
    return esploraSource(target, timeoutMs);
  }
  throw new ArgumentError(name, "expected { rpcUrl } or { esploraUrl }");
}

function sourcesFor(ctx: BtcVerifyContext, timeoutMs: number): BtcSource[] {
  if (ctx.endpoint !== undefined && ctx.endpoints !== undefined) throw new ArgumentError("ctx", "give endpoint or endpoints, not both");
  if (ctx.endpoints === undefined) return [sourceFor(ctx.endpoint, "ctx.endpoint", timeoutMs)];
  if (!Array.isArray(ctx.endpoints) || ctx.endpoints.length === 0) throw new ArgumentError("ctx.endpoints", "expected a non-empty list of { rpcUrl } or { esploraUrl }");
  return ctx.endpoints.map((e, i) => sourceFor(e, `ctx.endpoints[${i}]`, timeoutMs));
}

function anchorProblem(anchor: Anchor): { network: BtcNetwork } | { reason: string } {
  const chain = parseChainId(String(anchor.chain));
  if (chain?.rail !== "btc") return { reason: `anchor chain ${JSON.stringify(String(anchor.chain).slice(0, 80))} is not btc:mainnet, btc:testnet, btc:signet or btc:regtest` };
  if (!isHashHex(anchor.tx)) return { reason: `anchor tx ${JSON.stringify(String(anchor.tx).slice(0, 80))} is not a 64-hex-digit txid` };
  if (!Number.isSafeInteger(anchor.block) || anchor.block < 0) return { reason: `anchor block ${JSON.stringify(anchor.block)} is not a block height` };
  return { network: chain.network as BtcNetwork };
}

/**
 * Re-verifies `anchor` for the batch whose root is `batchRoot` (`sha256:<hex>`).
 * @example
 * const result = await verifyBtcAnchor(anchor, batch.root, {
 *   endpoint: { rpcUrl: "http://user:pass@127.0.0.1:8332" }, confirmations: 6,
 * });
 * // { outcome: "pending", reason: "2 of 6 confirmations", evidence: { blockHash, height, … } }
 */
export async function verifyBtcAnchor(anchor: Anchor, batchRoot: string, ctx: BtcVerifyContext): Promise<VerificationResult> {
  if (typeof anchor !== "object" || anchor === null) throw new ArgumentError("anchor", "expected an anchor object");
  if (!isDigest(batchRoot)) throw new ArgumentError("batchRoot", "expected sha256:<64 lower-case hex>");
  if (typeof ctx !== "object" || ctx === null) throw new ArgumentError("ctx", "expected a BtcVerifyContext");
  if (!Number.isSafeInteger(ctx.confirmations) || ctx.confirmations < 1) throw new ArgumentError("ctx.confirmations", "expected an integer ≥ 1");
  const timeoutMs = ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs < 1) throw new ArgumentError("ctx.timeoutMs", "expected a positive integer of milliseconds");
  const sources = sourcesFor(ctx, timeoutMs);
  const agree = ctx.agree ?? sources.length;
  if (!Number.isSafeInteger(agree) || agree < 1 || agree > sources.length) throw new ArgumentError("ctx.agree", `expected an integer from 1 to ${sources.length}`);
  const checkedAt = Math.floor((ctx.now ?? Date.now)() / 1000);
  const one = async (source: BtcSource): Promise<VerificationResult> => {
    const evidence: Evidence = { checkedAt };
    try {
      return await check(anchor, batchRoot, ctx, source, evidence);
    } catch (error) {
      // Only a defect of this code gets here; pending keeps the anchor for a later re-check.
      return unreachable(`btc verification stopped unexpectedly: ${error instanceof Error ? error.message : String(error)}`, evidence);
    }
  };
  if (sources.length === 1) return one(sources[0]!);
  const results = await Promise.all(sources.map(one));
  return combineEndpoints(results, sources.map((s) => s.label), agree);
}

const describe = (r: VerificationResult): string => (r.outcome === "verified" ? `verified in block ${String(r.evidence?.blockHash)}` : `${r.outcome}: ${r.reason}`);

/**
 * One answer from several endpoints' answers (docs/ANCHORS.md §Several endpoints): verified
 * when `agree` of them verified the same block, with the smallest confirmation count among
 * them; rejected when `agree` of them rejected and none verified; otherwise pending, so that
 * neither a lagging nor a lying endpoint decides alone, and the anchor is checked again.
 */
function combineEndpoints(results: VerificationResult[], labels: string[], agree: number): VerificationResult {
  const verifiedByBlock = new Map<string, VerificationResult[]>();
  for (const r of results) {
    if (r.outcome !== "verified") continue;
    const key = String(r.evidence?.blockHash);
    verifiedByBlock.set(key, [...(verifiedByBlock.get(key) ?? []), r]);
  }
  const best = [...verifiedByBlock.values()].sort((a, b) => b.length - a.length)[0] ?? [];
  if (best.length >= agree) {
    const min = (field: string): number => Math.min(...best.map((r) => Number(r.evidence?.[field])));
    return verified({ ...best[0]!.evidence, confirmations: min("confirmations"), head: min("head"), endpointsAgreeing: best.length });
  }
  const evidence = results.find((r) => typeof r.evidence?.blockHash === "string")?.evidence ?? results[0]!.evidence;
  const summary = results.map((r, i) => `${labels[i]}: ${describe(r)}`).join("; ");
  const rejectedCount = results.filter((r) => r.outcome === "rejected").length;
  const blocks = new Set(results.map((r) => r.evidence?.blockHash).filter((h): h is string => typeof h === "string"));
  if (blocks.size > 1 || (verifiedByBlock.size > 0 && rejectedCount > 0)) return pending(`btc endpoints disagree (${agree} of ${results.length} must agree): ${summary}`, evidence);
  if (rejectedCount >= agree) {
    const reasons = new Set(results.filter((r) => r.outcome === "rejected").map((r) => r.reason));
    return rejected(reasons.size === 1 ? [...reasons][0]! : `${rejectedCount} of ${results.length} endpoints reject: ${summary}`, evidence);
  }
  const pendings = results.filter((r) => r.outcome === "pending");
  // Every endpoint out of reach: nothing was learned, and a stored verdict stands (docs/FEDERATION_SEMANTICS.md §9. Endpoint outages).
  if (results.every((r) => r.unreachable === true)) return unreachable(`no btc endpoint could be asked: ${summary}`, evidence);
  if (pendings.length === results.length && new Set(pendings.map((r) => r.reason)).size === 1) return pending(pendings[0]!.reason!, evidence);
  return pending(`${best.length} of ${results.length} endpoints verified, ${agree} must: ${summary}`, evidence);
}

async function check(anchor: Anchor, batchRoot: string, ctx: BtcVerifyContext, source: BtcSource, evidence: Evidence): Promise<VerificationResult> {
  const withEvidence = (r: VerificationResult): VerificationResult => ({ ...r, evidence: { ...(r.evidence ?? {}), ...evidence } });
  const shape = anchorProblem(anchor);
  if ("reason" in shape) return rejected(shape.reason, evidence);
  const { network } = shape;
  const txid = anchor.tx.toLowerCase();
  if (anchor.batchRoot !== batchRoot) return rejected(`anchor batchRoot ${JSON.stringify(String(anchor.batchRoot).slice(0, 80))} differs from batch root ${batchRoot}`, evidence);

  const served = await source.network();
  if (!served.ok) return withEvidence(served.result);
  if (served.value.network !== network) return rejected(`wrong network: endpoint ${source.label} serves ${served.value.seen}, anchor is btc:${network}`, evidence);

  const located = await source.transaction(txid, anchor.block);
  if (!located.ok) return withEvidence(located.result);
  const tx = parseTransaction(located.value.raw);
  if (!tx.ok) return rejected(tx.reason, evidence);
  if (tx.txid !== txid) return rejected(`raw transaction from the endpoint hashes to ${tx.txid}, not anchor tx ${txid}`, evidence);

  const commitment = findRootCommitment(tx.outputScripts, digestBytes(batchRoot, "batchRoot"));
  if (!commitment.found) {
    const others = commitment.otherRoots.map((r) => `sha256:${Buffer.from(r).toString("hex")}`);
    return rejected(others.length > 0 ? `OP_RETURN RV output commits to ${others.join(", ")}, not batch root ${batchRoot}` : "no OP_RETURN output carries RV followed by the 32 root bytes", evidence);
  }

  const blockHash = located.value.blockHash;
  const previousHash = typeof ctx.previous?.blockHash === "string" ? ctx.previous.blockHash.toLowerCase() : undefined;
  if (blockHash === undefined) {
    evidence.confirmations = 0;
    const short = `0 of ${ctx.confirmations} confirmations: transaction unconfirmed`;
    return pending(previousHash === undefined ? short : `reorg: block ${previousHash} no longer holds the transaction; ${short}`, evidence);
  }

  const header = await source.inclusion(txid, blockHash);
  if (!header.ok) return withEvidence(header.result);
  evidence.merkleRoot = toDisplayHex(header.value.merkleRoot);
  const powProblem = proofOfWorkProblem(header.value) ?? powLimitProblem(header.value, network);
  if (powProblem !== undefined) return rejected(powProblem, evidence);
  if (blockHashHex(header.value) !== blockHash) return rejected(`header hashes to ${blockHashHex(header.value)}, endpoint named block ${blockHash}`, evidence);
  evidence.blockHash = blockHash;

  const height = await source.blockHeight(blockHash);
  if (!height.ok) return withEvidence(height.result);
  evidence.height = height.value;
  const floorProblem = difficultyFloorProblem(header.value, height.value, network, ctx.difficultyCheckpoints);
  if (floorProblem !== undefined) return rejected(floorProblem, evidence);
  const active = await source.hashAtHeight(height.value);
  if (!active.ok) return withEvidence(active.result);
  if (active.value !== blockHash) return rejected(`reorg: block ${blockHash} at height ${height.value} is not on the endpoint's active chain (${active.value} is)`, evidence);

  const tip = await source.tipHeight();
  if (!tip.ok) return withEvidence(tip.result);
  evidence.head = tip.value;
  const confirmations = Math.max(0, tip.value - height.value + 1);
  evidence.confirmations = confirmations;
  const short = confirmations < ctx.confirmations ? `${confirmations} of ${ctx.confirmations} confirmations` : undefined;

  if (previousHash !== undefined && previousHash !== blockHash) {
    const reorg = `reorg: transaction moved from block ${previousHash} to ${blockHash} at height ${height.value}`;
    return short === undefined ? rejected(reorg, evidence) : pending(`${reorg}; ${short}`, evidence);
  }
  if (height.value !== anchor.block) return rejected(`transaction is in block height ${height.value}, anchor says ${anchor.block}`, evidence);
  if (short !== undefined) return pending(short, evidence);
  return verified(evidence);
}
