/**
 * Which keys may sign checkpoints of a namespace (docs/FEDERATION_SEMANTICS.md §Origins):
 * `namespaces.<ns>.origins` when given, else this node and every peers.yaml entry with role
 * `origin`. Being routed or holding `announce` does not make a peer an origin.
 */
import type { KeyObject } from "node:crypto";
import type { NodeConfig } from "../config/types.js";
import { publicKeyFromRaw } from "../identity/keys.js";
import { verifyCheckpoint, type CheckpointCheck, type Checkpoint, type OriginKeys } from "../messages/checkpoint.js";

/** This node as an origin: its DID and public key (undefined when its key file cannot be read). */
export interface SelfOrigin {
  did: string;
  publicKey: KeyObject;
}

/**
 * The origin keys of `namespace`.
 * @example importContext.origins = originKeysFor(config, "dao:vaultmesh", { did, publicKey: key.publicKey })
 */
export function originKeysFor(config: NodeConfig, namespace: string, self: SelfOrigin | undefined): OriginKeys {
  const keys = new Map<string, KeyObject>();
  const listed = config.federation.namespaces.get(namespace)?.origins;
  const allowed = (did: string) => listed === undefined || listed.includes(did);
  if (self !== undefined && allowed(self.did)) keys.set(self.did, self.publicKey);
  for (const [did, raw] of config.origins ?? new Map<string, Uint8Array>()) if (allowed(did) && !keys.has(did)) keys.set(did, publicKeyFromRaw(raw));
  return keys;
}

/**
 * Checks an Announce's checkpoint before anything is pulled for it: a batch that no origin of the
 * namespace vouches for costs this node no Request and no anchor verification.
 * @example if (!checkpointHolds(announce, origins).ok) return
 */
export function checkpointHolds(announce: { checkpoint: Checkpoint }, origins: OriginKeys): CheckpointCheck {
  return verifyCheckpoint(announce.checkpoint, origins);
}
