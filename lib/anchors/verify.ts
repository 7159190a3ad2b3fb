/**
 * One entry point for every rail (docs/ANCHORS.md): picks the node's own endpoint and policy for the
 * anchor's chain and runs that rail's verifier. No endpoint configured means `pending`, never
 * `verified`; an exception inside a verifier (a bug, not a peer's fault) also means `pending`,
 * so the anchor is re-checked later instead of being trusted or dropped.
 */
import type { AnchorEndpoints, TsaTrust, VerifyPolicy } from "./endpoints.js";
import { parseChainId, type Anchor, type BtcNetwork } from "./anchor.js";
import { pending, rejected, unreachable, type Evidence, type VerificationResult } from "./result.js";

// Each rail's verifier (and its library: viem, bitcoinjs-lib, node-forge) loads with the first
// anchor of that rail, so a node or command that never sees one never pays for it
// (docs/BENCHMARKS.md, command line start).

export interface VerifyAnchorContext {
  /** This node's endpoints (anchors.yaml). */
  endpoints: AnchorEndpoints;
  /** The namespace's confirmation policy (federation.yaml `verify`). */
  policy: VerifyPolicy;
  /** TSA trust anchors, intermediates and named TSAs as PEM text, read by the caller from anchors.yaml's files. */
  tsaTrust?: TsaTrust;
  /** Per-call timeout for endpoint requests; default 10 s. */
  timeoutMs?: number;
  /** What the last verification of this anchor saw, to detect a reorg. */
  previous?: Evidence;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * Verifies `anchor` against `batchRoot` with this node's endpoints and policy.
 * @example
 * const r = await verifyAnchor(anchor, "sha256:…", { endpoints: config.anchors, policy: ns.verify });
 * if (r.outcome === "verified") …
 */
export async function verifyAnchor(anchor: Anchor, batchRoot: string, ctx: VerifyAnchorContext): Promise<VerificationResult> {
  const id = parseChainId(anchor.chain);
  if (id === undefined) return rejected(`unknown chain ${JSON.stringify(anchor.chain)}`);
  const timeoutMs = ctx.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const previous = ctx.previous !== undefined ? { previous: ctx.previous } : {};
  try {
    switch (id.rail) {
      case "eip155": {
        const endpoint = ctx.endpoints.eip155.get(id.network);
        if (endpoint === undefined) return pending(`no verifier configured for ${anchor.chain}`);
        const contract = endpoint.contract !== undefined ? { contract: endpoint.contract } : {};
        const { verifyEvmAnchor } = await import("./evm/index.js");
        return await verifyEvmAnchor(anchor, batchRoot, { rpcUrl: endpoint.rpcUrl, ...contract, confirmations: ctx.policy.evmConfirmations, timeoutMs, ...previous });
      }
      case "btc": {
        const network = ctx.endpoints.btc.get(id.network as BtcNetwork);
        if (network === undefined || network.endpoints.length === 0) return pending(`no verifier configured for ${anchor.chain}`);
        const { verifyBtcAnchor } = await import("./btc/index.js");
        return await verifyBtcAnchor(anchor, batchRoot, { endpoints: network.endpoints, agree: network.agree, confirmations: ctx.policy.btcConfirmations, timeoutMs, ...previous });
      }
      case "rfc3161": {
        const trust = ctx.tsaTrust;
        if (trust === undefined || (trust.trustPem === undefined && !trust.tsas.has(id.network))) {
          return pending(`no verifier configured for ${anchor.chain} (anchors.yaml has neither rfc3161.tsas.${id.network} nor rfc3161.trustBundle)`);
        }
        const { verifyTsaAnchor } = await import("./tsa/verify-anchor.js");
        return await verifyTsaAnchor(anchor, batchRoot, trust);
      }
    }
  } catch (cause) {
    return unreachable(`verifier error for ${anchor.chain}: ${(cause as Error).message ?? String(cause)}`);
  }
}
