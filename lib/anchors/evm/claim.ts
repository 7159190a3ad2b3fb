/**
 * The checks of an EVM anchor that need no network (docs/ANCHORS.md §EVM anchors):
 * the anchor's fields are well formed, its root is the batch's, its chain is an
 * `eip155:` chain, and there is exactly one contract to look for the event in.
 * A malformed peer field is a rejection; a malformed caller argument throws.
 */
import type { Address, Hex } from "viem";
import type { Anchor } from "../anchor.js";
import { parseChainId } from "../anchor.js";
import { isDigest } from "../../digest.js";
import { ArgumentError } from "../../errors.js";
import { rejected, type VerificationResult } from "../result.js";
import { batchIdTopic, rootTopic } from "./contract.js";

/** What the anchor claims, in the forms the on-chain checks compare against. */
export interface EvmClaim {
  chainId: number;
  tx: Hex;
  block: number;
  /** Lower-case address the `BatchAnchored` log must come from. */
  contract: Address;
  rootTopic: Hex;
  batchIdTopic: Hex;
}

const TX_HASH = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;

function show(value: unknown): string {
  return JSON.stringify(value)?.slice(0, 80) ?? String(value);
}

/**
 * Reads an anchor's claim against the batch root and the configured contract.
 * Returns the claim, or a `rejected` result naming the first field that fails.
 * @example readEvmClaim(anchor, batch.root, "0x5FbDB2315678afecb367f032d93F642f64180aa3")
 */
export function readEvmClaim(anchor: Anchor, batchRoot: string, configuredContract?: string): EvmClaim | VerificationResult {
  if (anchor === null || typeof anchor !== "object") throw new ArgumentError("anchor", "expected an anchor object");
  if (!isDigest(batchRoot)) throw new ArgumentError("batchRoot", `expected "sha256:" followed by 64 lower-case hex digits, got ${show(batchRoot)}`);
  if (configuredContract !== undefined && (typeof configuredContract !== "string" || !ADDRESS.test(configuredContract))) {
    throw new ArgumentError("ctx.contract", `expected a 0x-prefixed 20-byte hex address, got ${show(configuredContract)}`);
  }

  if (!isDigest(anchor.batchRoot)) return rejected(`anchor batchRoot ${show(anchor.batchRoot)} is not a sha256:<64 hex> digest`);
  if (anchor.batchRoot !== batchRoot) return rejected(`root mismatch: the anchor commits to ${anchor.batchRoot}, the batch root is ${batchRoot}`);
  if (typeof anchor.batchId !== "string" || anchor.batchId.length === 0) return rejected(`anchor batchId ${show(anchor.batchId)} is not a non-empty string`);

  const chain = typeof anchor.chain === "string" ? parseChainId(anchor.chain) : undefined;
  if (chain?.rail !== "eip155") return rejected(`anchor chain ${show(anchor.chain)} is not an eip155:<chainId> chain`);
  const chainId = Number(chain.network);
  if (!Number.isSafeInteger(chainId)) return rejected(`anchor chain ${anchor.chain} has a chain id beyond 2^53`);

  if (typeof anchor.tx !== "string" || !TX_HASH.test(anchor.tx)) return rejected(`anchor tx ${show(anchor.tx)} is not a 0x-prefixed 32-byte transaction hash`);
  if (!Number.isSafeInteger(anchor.block) || anchor.block < 0) return rejected(`anchor block ${show(anchor.block)} is not a block number`);
  if (anchor.contract !== undefined && (typeof anchor.contract !== "string" || !ADDRESS.test(anchor.contract))) {
    return rejected(`anchor contract ${show(anchor.contract)} is not a 0x-prefixed 20-byte address`);
  }

  // docs/ANCHORS.md §EVM anchors: the configured contract wins; an anchor naming another one is not silently re-targeted.
  const configured = configuredContract?.toLowerCase();
  const claimed = anchor.contract?.toLowerCase();
  if (configured !== undefined && claimed !== undefined && configured !== claimed) {
    return rejected(`contract mismatch: the anchor names ${anchor.contract}, the configured contract for ${anchor.chain} is ${configuredContract}`);
  }
  const contract = configured ?? claimed;
  if (contract === undefined) return rejected("no contract to check the anchor against");

  return {
    chainId,
    tx: anchor.tx.toLowerCase() as Hex,
    block: anchor.block,
    contract: contract as Address,
    rootTopic: rootTopic(batchRoot),
    batchIdTopic: batchIdTopic(anchor.batchId),
  };
}

/**
 * Tells a claim from a rejection returned by `readEvmClaim`.
 * @example const claim = readEvmClaim(anchor, root); if (!isClaim(claim)) return claim;
 */
export function isClaim(value: EvmClaim | VerificationResult): value is EvmClaim {
  return !("outcome" in value);
}
