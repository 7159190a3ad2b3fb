/**
 * Acting on a roster that passed lib/roster/check.ts: the node's configuration as the roster
 * makes it (docs/FEDERATION_OPERATIONS.md §Running a federation with a roster). The roster
 * decides admission, roles, origins, witnesses, quorum and routes; the local files only narrow
 * it: peers.yaml `deny`, a peers.yaml entry for a member limits its roles, and a peers.yaml key
 * that differs from the roster's denies that member (the local pin wins). Pure.
 */
import type { NamespaceConfig, NodeConfig, PeerConfig } from "../config/types.js";
import { parseKeyLine } from "../identity/did.js";
import type { Role } from "../messages/authenticate.js";
import type { Roster, RosterMember, RoutingPolicy } from "./document.js";
import { mostSpecific } from "./pattern.js";

const MESSAGE_ROLES: readonly Role[] = ["announce", "serve", "request"];

export interface AppliedRoster {
  /** The configuration to run with. */
  config: NodeConfig;
  /** Per carried namespace: the routing policy in force and the pattern it came from. */
  routes: Map<string, { pattern?: string; routing: RoutingPolicy; peers: string[] }>;
  /** Members this node refuses by its own files, with why. */
  denied: Array<{ did: string; reason: string }>;
  /** Members' `keys.next`, accepted beside `keys.verify` while a rotation is under way. */
  nextKeys: Map<string, Uint8Array>;
}

const raw = (line: string): Uint8Array => parseKeyLine(line) as Uint8Array;
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

/**
 * `base` (the node's own files) with `roster` in force.
 * @example const { config, routes } = applyRoster(loaded, roster); runtime.reload(config)
 */
export function applyRoster(base: NodeConfig, roster: Roster): AppliedRoster {
  const self = base.federation.mesh.nodeId;
  const denied: AppliedRoster["denied"] = [];
  const admitted = new Map<string, RosterMember>();
  for (const m of roster.members) {
    if (m.did === self) continue;
    if (base.deny?.has(m.did)) {
      denied.push({ did: m.did, reason: "peers.yaml deny" });
      continue;
    }
    const pinned = base.peers.get(m.did)?.verifyKey ?? base.origins.get(m.did) ?? base.witnesses.get(m.did);
    if (pinned !== undefined && !same(pinned, raw(m.keys.verify)) && (m.keys.next === undefined || !same(pinned, raw(m.keys.next)))) {
      denied.push({ did: m.did, reason: "peers.yaml pins another key" });
      continue;
    }
    admitted.set(m.did, m);
  }
  const peers = new Map<string, PeerConfig>();
  const origins = new Map<string, Uint8Array>();
  const witnesses = new Map<string, Uint8Array>();
  const nextKeys = new Map<string, Uint8Array>();
  for (const m of admitted.values()) {
    const verifyKey = raw(m.keys.verify);
    if (m.keys.next !== undefined) nextKeys.set(m.did, raw(m.keys.next));
    if (m.roles.includes("origin")) origins.set(m.did, verifyKey);
    if (m.roles.includes("witness")) witnesses.set(m.did, verifyKey);
    const local = base.peers.get(m.did)?.roles;
    const roles = new Set<Role>(MESSAGE_ROLES.filter((r) => m.roles.includes(r) && (local === undefined || local.has(r))));
    if (m.url !== undefined && roles.size > 0) peers.set(m.did, { did: m.did, url: m.url, roles, verifyKey });
  }
  const namespaces = new Map<string, NamespaceConfig>();
  const routes: AppliedRoster["routes"] = new Map();
  const patterns = Object.keys(roster.namespaces);
  for (const [name, ns] of base.federation.namespaces) {
    const pattern = mostSpecific(patterns, name);
    const policy = pattern === undefined ? {} : roster.namespaces[pattern]!;
    const routed = (policy.members ?? roster.members.map((m) => m.did)).filter((did) => peers.has(did));
    const next: NamespaceConfig = { ...ns, peers: routed };
    if (policy.origins !== undefined) next.origins = policy.origins.filter((did) => did === self || origins.has(did));
    else delete next.origins;
    if (policy.quorum !== undefined) next.quorum = { k: policy.quorum.k, witnesses: policy.quorum.witnesses.filter((did) => did === self || witnesses.has(did)) };
    namespaces.set(name, next);
    routes.set(name, { ...(pattern === undefined ? {} : { pattern }), routing: policy.routing ?? {}, peers: routed });
  }
  const config: NodeConfig = { ...base, peers, origins, witnesses, federation: { ...base.federation, namespaces } };
  return { config, routes, denied, nextKeys };
}

/** What changed between two rosters in force, for the log line of an application. */
export interface RosterChange {
  added: string[];
  removed: string[];
  rekeyed: string[];
  rolesChanged: string[];
}

/**
 * The members added, removed, given a new key or new roles.
 * @example rosterChange(previous, next).removed // ["did:vm:node:e"]
 */
export function rosterChange(previous: Roster | undefined, next: Roster): RosterChange {
  const before = new Map((previous?.members ?? []).map((m) => [m.did, m]));
  const after = new Map(next.members.map((m) => [m.did, m]));
  const out: RosterChange = { added: [], removed: [], rekeyed: [], rolesChanged: [] };
  for (const [did, m] of after) {
    const b = before.get(did);
    if (b === undefined) out.added.push(did);
    else {
      if (!same(raw(b.keys.verify), raw(m.keys.verify))) out.rekeyed.push(did);
      if ([...b.roles].sort().join() !== [...m.roles].sort().join()) out.rolesChanged.push(did);
    }
  }
  for (const did of before.keys()) if (!after.has(did)) out.removed.push(did);
  return out;
}
