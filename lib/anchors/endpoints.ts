/**
 * What the anchor verifiers need from a node's configuration, as the verifiers define it:
 * endpoints per chain, the TSA trust material as PEM text, and a namespace's confirmation
 * policy. lib/config builds these from anchors.yaml and federation.yaml (and reads the
 * certificate files); this folder never imports lib/config and never reads a file.
 */
import { ArgumentError } from "../errors.js";
import type { Anchor, BtcNetwork } from "./anchor.js";
import type { Evidence, VerificationResult } from "./result.js";
import type { NamedTsa } from "./tsa/verify-anchor.js";
import { verifyAnchor, type VerifyAnchorContext } from "./verify.js";

export interface VerifyPolicy {
  evmConfirmations: number;
  btcConfirmations: number;
}

/** Confirmations required when federation.yaml does not say (docs/FEDERATION_OPERATIONS.md). */
export const DEFAULT_VERIFY_POLICY: Readonly<VerifyPolicy> = Object.freeze({ evmConfirmations: 12, btcConfirmations: 6 });

export interface EvmEndpoint {
  rpcUrl: string;
  /** When set, the only contract whose events count. */
  contract?: string;
}

export type BtcEndpoint = { rpcUrl: string } | { esploraUrl: string };

/** A Bitcoin network's endpoints (anchors.yaml `btc.<net>`, docs/ANCHORS.md §Several endpoints). */
export interface BtcEndpoints {
  endpoints: BtcEndpoint[];
  /** How many endpoints must agree on the block hash and hold enough confirmations. */
  agree: number;
}

/** TSA trust as PEM text (anchors.yaml `rfc3161`, its files read by the configuration loader). */
export interface TsaTrust {
  /** Roots any TSA may chain to (`rfc3161.trustBundle`). */
  trustPem?: string;
  intermediatesPem?: string;
  /** Named TSAs (`rfc3161.tsas.<name>`), each with its own roots or its signer's subject. */
  tsas: ReadonlyMap<string, NamedTsa>;
}

export interface AnchorEndpoints {
  /** By decimal chain id. */
  eip155: ReadonlyMap<string, EvmEndpoint>;
  btc: ReadonlyMap<BtcNetwork, BtcEndpoints>;
  /** Present when anchors.yaml configures TSAs; the trust material itself comes as `tsaTrust`. */
  rfc3161?: object;
}

/** The parts of a node's configuration the verifiers read (a NodeConfig is one). */
export interface VerifierConfig {
  anchors: AnchorEndpoints;
  tsaTrust?: TsaTrust;
  federation: { namespaces: ReadonlyMap<string, { verify: VerifyPolicy }> };
}

export type AnchorVerifier = (anchor: Anchor, batchRoot: string, previous?: Evidence) => Promise<VerificationResult>;

/**
 * A verifier for one namespace: this node's endpoints with that namespace's policy. An
 * unknown namespace gets the default policy (it is not routed anyway).
 * @example const verify = await verifierFor(config); await verify("dao:vaultmesh")(anchor, root)
 */
export async function verifierFor(config: VerifierConfig, options: { timeoutMs?: number } = {}): Promise<(namespace: string) => AnchorVerifier> {
  if (config.anchors.rfc3161 !== undefined && config.tsaTrust === undefined) {
    throw new ArgumentError("config.tsaTrust", "anchors.yaml configures rfc3161 but its certificate files were not read (load the configuration with loadConfig)");
  }
  const tsaTrust = config.tsaTrust;
  return (namespace) => {
    const policy = config.federation.namespaces.get(namespace)?.verify ?? DEFAULT_VERIFY_POLICY;
    return (anchor, batchRoot, previous) => {
      const ctx: VerifyAnchorContext = { endpoints: config.anchors, policy };
      if (tsaTrust !== undefined) ctx.tsaTrust = tsaTrust;
      if (options.timeoutMs !== undefined) ctx.timeoutMs = options.timeoutMs;
      if (previous !== undefined) ctx.previous = previous;
      return verifyAnchor(anchor, batchRoot, ctx);
    };
  };
}
