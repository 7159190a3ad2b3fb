/**
 * The governed peer set as the daemon uses it: peers.yaml turned into verification keys,
 * and federation.yaml routing turned into a lookup. Rebuilt on SIGHUP.
 */
import { publicKeyFromRaw } from "../identity/keys.js";
import type { KnownPeer, Role } from "../messages/authenticate.js";
import type { NodeConfig, PeerConfig } from "../config/types.js";

export interface PeerDirectory {
  known: ReadonlyMap<string, KnownPeer>;
  isRouted(namespace: string, did: string): boolean;
  /** Peers routed for `namespace` that are in peers.yaml, optionally only those with `role`. */
  routed(namespace: string, role?: Role): PeerConfig[];
}

/**
 * Builds the directory from a validated configuration.
 * @example const dir = peerDirectory(config); dir.routed("dao:vaultmesh", "serve")
 */
export function peerDirectory(config: NodeConfig, nextKeys?: ReadonlyMap<string, Uint8Array>): PeerDirectory {
  const known = new Map<string, KnownPeer>();
  for (const p of config.peers.values()) {
    // A roster's `keys.next` is accepted beside the key in force during a rotation (docs/FEDERATION_SEMANTICS.md §Roster revocation).
    const next = nextKeys?.get(p.did);
    known.set(p.did, { did: p.did, roles: p.roles, publicKey: publicKeyFromRaw(p.verifyKey), ...(next === undefined ? {} : { nextKey: publicKeyFromRaw(next) }) });
  }
  const routes = new Map<string, Set<string>>();
  for (const ns of config.federation.namespaces.values()) routes.set(ns.name, new Set(ns.peers));
  return {
    known,
    isRouted: (namespace, did) => routes.get(namespace)?.has(did) ?? false,
    routed: (namespace, role) =>
      [...(routes.get(namespace) ?? [])]
        .map((did) => config.peers.get(did))
        .filter((p): p is PeerConfig => p !== undefined && (role === undefined || p.roles.has(role))),
  };
}
