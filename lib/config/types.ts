/**
 * The validated configuration of a node (docs/FEDERATION_OPERATIONS.md), with every path
 * resolved against the configuration directory and every default filled in. The anchor
 * parts use the verifiers' own types (lib/anchors/endpoints.ts): types flow from the
 * verifiers to the configuration, never back.
 */
import type { BtcNetwork } from "../anchors/anchor.js";
import { DEFAULT_VERIFY_POLICY, type AnchorEndpoints, type BtcEndpoints, type EvmEndpoint, type TsaTrust, type VerifyPolicy } from "../anchors/endpoint-config.js";
import type { Role } from "../messages/authenticate.js";
import type { ExplorerConfig } from "./explorer.js";

export type { BtcEndpoint, BtcEndpoints, TsaTrust, VerifyPolicy } from "../anchors/endpoint-config.js";

export interface NamespaceLimits {
  maxAnnounceRatePerMin: number;
  maxRequestRatePerMin: number;
  /** Bytes of Request answers per peer a minute (docs/FEDERATION_PROTOCOL.md §Limits). */
  maxAnswerBytesPerMin?: number;
  /** Reconcile work units (ranges, items, cells) per peer a minute (docs/FEDERATION_PROTOCOL.md §Limits). */
  maxReconcileWorkPerMin?: number;
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
  /**
   * `namespaces.<ns>.quorum`: k-of-n witness finality (docs/FEDERATION_SEMANTICS.md §8. Quorum).
   * Undefined: a batch is final once this node verified it.
   */
  quorum?: QuorumConfig;
  /**
   * `namespaces.<ns>.require_logged`: a version whose checkpoint is not in a witnessed head of its
   * origin's log is not final (docs/FEDERATION_SEMANTICS.md §Origin logs). Absent: false.
   */
  requireLogged?: boolean;
}

/** `namespaces.<ns>.quorum`: `k` distinct witnesses of `witnesses` must cosign a batch version. */
export interface QuorumConfig {
  k: number;
  /** DIDs: this node, or peers.yaml entries with role `witness`. */
  witnesses: string[];
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
  /** POSTs to /federation/* per client address a minute, before anything is read (docs/FEDERATION_PROTOCOL.md §Limits). */
  maxPostsPerAddressPerMin?: number;
}

export interface FederationConfig {
  mesh: MeshConfig;
  namespaces: Map<string, NamespaceConfig>;
  antiEntropy: { intervalS: number };
  /** The web explorer's access rules (docs/EXPLORER.md); absent means loopback only. */
  explorer?: ExplorerConfig;
  /** `governance`: who signs the roster (docs/FEDERATION_OPERATIONS.md §Running a federation with a roster); absent: no roster. */
  governance?: Governance;
}

/** `governance: { k, keys }`: k distinct signatures of these `ed25519:` key lines make a roster valid. */
export interface Governance {
  k: number;
  keys: string[];
}

export interface PeerConfig {
  did: string;
  url: string;
  roles: Set<Role>;
  /** Raw 32-byte Ed25519 verification key. */
  verifyKey: Uint8Array;
}

/** anchors.yaml `rfc3161`: certificate files (absolute paths), read by loadConfig into `NodeConfig.tsaTrust`. */
export interface TsaFiles {
  /** Roots any TSA may chain to. */
  trustBundle?: string;
  intermediates?: string;
  /** `rfc3161.tsas.<name>`: this TSA's own roots, and/or its signer certificate's subject. */
  tsas: Map<string, { trustBundle?: string; subject?: string }>;
}

export interface AnchorsConfig extends AnchorEndpoints {
  /** By decimal chain id. */
  eip155: Map<string, EvmEndpoint>;
  btc: Map<BtcNetwork, BtcEndpoints>;
  rfc3161?: TsaFiles;
}

export interface NodeConfig {
  /** Absolute configuration directory. */
  dir: string;
  federation: FederationConfig;
  /** peers.yaml entries this node talks to (every entry with a role other than `origin` and `witness`). */
  peers: Map<string, PeerConfig>;
  /**
   * peers.yaml entries with role `origin`: DID → raw Ed25519 key. An origin-only entry needs no
   * `url`; it is the key of a sealer whose batches arrive through relays (docs/FEDERATION_SEMANTICS.md §Origins).
   */
  origins: Map<string, Uint8Array>;
  /**
   * peers.yaml entries with role `witness`: DID → raw Ed25519 key, the keys cosignatures are
   * checked with (docs/FEDERATION_SEMANTICS.md §8. Quorum). A witness-only entry needs no `url`.
   */
  witnesses: Map<string, Uint8Array>;
  anchors: AnchorsConfig;
  /** peers.yaml `deny`: DIDs this node refuses whatever the roster says (a local narrowing). */
  deny?: Set<string>;
  /** The PEM text of `anchors.rfc3161`'s files; set by loadConfig, absent when no TSA is configured. */
  tsaTrust?: TsaTrust;
}

/** Defaults applied when a key is absent; documented in config/federation.yaml. */
export const DEFAULTS = {
  listen: "127.0.0.1:8088",
  keyFile: "keys/node.key",
  stateDir: "../state",
  clockSkewS: 300,
  evmConfirmations: DEFAULT_VERIFY_POLICY.evmConfirmations,
  btcConfirmations: DEFAULT_VERIFY_POLICY.btcConfirmations,
  maxAnnounceRatePerMin: 60,
  maxRequestRatePerMin: 60,
  maxAnswerBytesPerMin: 128 * 1024 * 1024,
  maxReconcileWorkPerMin: 600_000,
  maxPostsPerAddressPerMin: 1200,
  antiEntropyIntervalS: 60,
} as const;
