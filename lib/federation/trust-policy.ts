/**
 * A node's own trust policy for proof files (docs/EXPLORER.md §Trust files): per namespace the
 * origins it accepts checkpoints from (lib/federation/checkpoint-trust.ts), the witnesses and k
 * of its quorum with their keys (lib/federation/witness.ts), and its TSA roots. `verify-proof`
 * checks against it when no `--trust FILE` is given; `trust export` writes it as a trust file.
 */
import type { KeyObject } from "node:crypto";
import type { NodeConfig } from "../config/types.js";
import type { NamespaceTrust, TrustPolicy } from "../proof/trust.js";
import { originKeysFor } from "./checkpoint-trust.js";
import { witnessKeysFor, type SelfKey } from "./witness.js";

/**
 * The trust policy of this node's configuration, for every namespace or only `namespace`.
 * @example trustFile(nodeTrustPolicy(config, { did, publicKey }), did, now)
 */
export function nodeTrustPolicy(config: NodeConfig, self: SelfKey, namespace?: string): TrustPolicy {
  const witnessKeys = witnessKeysFor(config, self);
  const namespaces = new Map<string, NamespaceTrust>();
  for (const ns of config.federation.namespaces.values()) {
    if (namespace !== undefined && ns.name !== namespace) continue;
    const t: NamespaceTrust = { origins: originKeysFor(config, ns.name, self) };
    if (ns.quorum !== undefined) {
      const witnesses = new Map<string, KeyObject>();
      for (const did of ns.quorum.witnesses) {
        const key = witnessKeys.get(did);
        if (key !== undefined) witnesses.set(did, key);
      }
      t.quorum = { k: ns.quorum.k, witnesses };
    }
    namespaces.set(ns.name, t);
  }
  return config.tsaTrust === undefined ? { namespaces } : { namespaces, tsa: config.tsaTrust };
}
