/**
 * What the anchor verifiers need from a node's configuration, as the verifiers define it:
 * endpoints per chain, the TSA trust material as PEM text, and a namespace's confirmation
 * policy. Types and one constant only, so that lib/config can build them without loading a
 * verifier (and viem, bitcoinjs-lib, node-forge with it); lib/anchors/endpoints.ts turns them
 * into verifiers.
 */
import type { BtcNetwork } from "./anchor.js";
import type { NamedTsa } from "./tsa/verify-anchor.js";
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
