/**
 * The validated configuration of a node (docs/FEDERATION_OPERATIONS.md §Configuration reference), with every path resolved against
 * the configuration directory and every default filled in.
 */
import type { BtcNetwork } from "../anchors/anchor.js";
import type { Role } from "../messages/authenticate.js";
import type { ExplorerConfig } from "./explorer.js";

export interface VerifyPolicy {
  evmConfirmations: number;
  btcConfirmations: number;
}

export interface NamespaceLimits {
  maxAnnounceRatePerMin: number;
  maxRequestRatePerMin: number;
}

export interface NamespaceConfig {
  name: string;
  /** DIDs this namespace is routed to, both directions. */
  peers: string[];
  /**
   * `namespaces.<ns>.origins`: DIDs whose checkpoints are accepted for this namespace
   * (docs/FEDERATION_SEMANTICS.md §Origins). Undefined: this node and every peers.yaml entry with role `origin`.
   */
  origins?: string[];
  verify: VerifyPolicy;
  limits: NamespaceLimits;
}

export interface ListenConfig {
  host: string;
  port: number;
  tls?: { keyFile: string; certFile: string };
}

export interface MeshConfig {
  nodeId: string;
  listen: ListenConfig;
  keyFile: string;
  stateDir: string;
  clockSkewS: number;
}

export interface FederationConfig {
  mesh: MeshConfig;
  namespaces: Map<string, NamespaceConfig>;
  antiEntropy: { intervalS: number };
  /** The web explorer's access rules (docs/EXPLORER.md); absent means loopback only. */
  explorer?: ExplorerConfig;
}

export interface PeerConfig {
  did: string;
  url: string;
  roles: Set<Role>;
  /** Raw 32-byte Ed25519 verification key. */
  verifyKey: Uint8Array;
}

export type BtcEndpoint = { rpcUrl: string } | { esploraUrl: string };

export interface AnchorsConfig {
  /** By decimal chain id. */
  eip155: Map<string, { rpcUrl: string; contract?: string }>;
  btc: Map<BtcNetwork, BtcEndpoint>;
  rfc3161?: { trustBundle: string; intermediates?: string };
}

export interface NodeConfig {
  /** Absolute configuration directory. */
  dir: string;
  federation: FederationConfig;
  /** peers.yaml entries this node talks to (every entry with a role other than `origin`). */
  peers: Map<string, PeerConfig>;
  /**
   * peers.yaml entries with role `origin`: DID → raw Ed25519 key. An origin-only entry needs no
   * `url`; it is the key of a sealer whose batches arrive through relays (docs/FEDERATION_SEMANTICS.md §Origins).
   */
  origins: Map<string, Uint8Array>;
  anchors: AnchorsConfig;
}

/** Defaults applied when a key is absent; documented in config/federation.yaml. */
export const DEFAULTS = {
  listen: "127.0.0.1:8088",
  keyFile: "keys/node.key",
  stateDir: "../state",
  clockSkewS: 300,
  evmConfirmations: 12,
  btcConfirmations: 6,
  maxAnnounceRatePerMin: 60,
  maxRequestRatePerMin: 60,
  antiEntropyIntervalS: 60,
} as const;
