/**
 * The roster document (docs/FEDERATION_PROTOCOL.md §Roster): the federation's members, their keys
 * and roles, and the namespace policies, signed by a threshold of governance keys. This file
 * only says what a well-formed roster is; lib/roster/check.ts says whether one may be trusted.
 * Bytes from outside never throw out of `parseRoster`: they become `{ ok: false, reason }`.
 */
import { isDid } from "../identity/did.js";
import { parseKeyLine } from "../identity/did.js";
import { isNamespacePattern } from "./pattern.js";

export const ROSTER_LIMITS = {
  maxMembers: 1000,
  maxNamespaces: 256,
  maxSigs: 64,
  maxRoles: 8,
  maxUrlLength: 2048,
  maxFederationLength: 200,
  /** Largest roster document accepted, in bytes of its JSON text. */
  maxBytes: 512 * 1024,
} as const;

/** Roles a member may hold: the three message roles and the two key roles (docs/FEDERATION_SEMANTICS.md §Origins, §8. Quorum). */
export const MEMBER_ROLES = ["announce", "serve", "request", "origin", "witness"] as const;
export type MemberRole = (typeof MEMBER_ROLES)[number];

export const SELECT_POLICIES = ["all", "healthy", "lowest-latency", "random"] as const;
export const PULL_POLICIES = ["fastest", "any"] as const;

export interface RosterMember {
  did: string;
  url?: string;
  /** Key lines (`ed25519:…`): the key in force and, during a rotation, the one that replaces it. */
  keys: { verify: string; next?: string };
  roles: MemberRole[];
}

/** `routing` of a namespace pattern (docs/FEDERATION_OPERATIONS.md §Running a federation with a roster). */
export interface RoutingPolicy {
  /** Peers an Announce goes to directly; the rest learn by relay and anti-entropy. Default: all. */
  fanout?: number;
  select?: (typeof SELECT_POLICIES)[number];
  pull?: (typeof PULL_POLICIES)[number];
  /** Never fewer routed peers than this, healthy or not. */
  minPeers?: number;
}

export interface RosterNamespace {
  /** Who is routed for it; default every member. */
  members?: string[];
  origins?: string[];
  quorum?: { k: number; witnesses: string[] };
  routing?: RoutingPolicy;
}

/** One governance signature: the key line and a detached JWS over the canonical form without `sigs`. */
export interface RosterSig {
  key: string;
  sig: string;
}

export interface Roster {
  type: "roster";
  v: 1;
  federation: string;
  serial: number;
  issuedAt: number;
  expiresAt?: number;
  members: RosterMember[];
  namespaces: Record<string, RosterNamespace>;
  sigs: RosterSig[];
}

export type RosterParse = { ok: true; roster: Roster } | { ok: false; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isCount = (v: unknown, min: number, max: number): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= min && v <= max;

class Refusal {
  constructor(readonly reason: string) {}
}

function only(value: Record<string, unknown>, allowed: readonly string[], at: string): void {
  for (const k of Object.keys(value)) if (!allowed.includes(k)) throw new Refusal(`${at}: unknown member ${JSON.stringify(k)}`);
}

function didList(value: unknown, at: string): string[] {
  if (!Array.isArray(value) || value.length > ROSTER_LIMITS.maxMembers) throw new Refusal(`${at}: expected a list of DIDs`);
  const seen = new Set<string>();
  for (const [i, d] of value.entries()) {
    if (!isDid(d)) throw new Refusal(`${at}[${i}]: expected a DID`);
    if (seen.has(d)) throw new Refusal(`${at}[${i}]: ${d} is listed twice`);
    seen.add(d);
  }
  return value as string[];
}

function keyLine(value: unknown, at: string): string {
  const k = parseKeyLine(value);
  if (typeof k === "string") throw new Refusal(`${at}: ${k}`);
  return value as string;
}

function member(value: unknown, at: string): RosterMember {
  if (!isObject(value)) throw new Refusal(`${at}: expected an object`);
  only(value, ["did", "url", "keys", "roles"], at);
  if (!isDid(value.did)) throw new Refusal(`${at}.did: expected a DID`);
  const out: RosterMember = { did: value.did, keys: { verify: "" }, roles: [] };
  if (value.url !== undefined) {
    if (typeof value.url !== "string" || value.url.length > ROSTER_LIMITS.maxUrlLength || !/^https?:\/\/[^\s]+$/.test(value.url)) throw new Refusal(`${at}.url: expected an http(s) URL`);
    try {
      new URL(value.url);
    } catch {
      throw new Refusal(`${at}.url: expected an http(s) URL`);
    }
    out.url = value.url;
  }
  if (!isObject(value.keys)) throw new Refusal(`${at}.keys: expected { verify, next? }`);
  only(value.keys, ["verify", "next"], `${at}.keys`);
  out.keys.verify = keyLine(value.keys.verify, `${at}.keys.verify`);
  if (value.keys.next !== undefined) out.keys.next = keyLine(value.keys.next, `${at}.keys.next`);
  if (!Array.isArray(value.roles) || value.roles.length > ROSTER_LIMITS.maxRoles) throw new Refusal(`${at}.roles: expected a list of roles`);
  for (const [i, r] of value.roles.entries()) {
    if (!(MEMBER_ROLES as readonly unknown[]).includes(r)) throw new Refusal(`${at}.roles[${i}]: unknown role ${JSON.stringify(r)} (roles: ${MEMBER_ROLES.join(", ")})`);
    if (out.roles.includes(r as MemberRole)) throw new Refusal(`${at}.roles[${i}]: ${String(r)} is listed twice`);
    out.roles.push(r as MemberRole);
  }
  return out;
}

function routing(value: unknown, at: string): RoutingPolicy {
  if (!isObject(value)) throw new Refusal(`${at}: expected an object`);
  only(value, ["fanout", "select", "pull", "minPeers"], at);
  const out: RoutingPolicy = {};
  if (value.fanout !== undefined) {
    if (!isCount(value.fanout, 1, ROSTER_LIMITS.maxMembers)) throw new Refusal(`${at}.fanout: expected a positive integer`);
    out.fanout = value.fanout;
  }
  if (value.select !== undefined) {
    if (!(SELECT_POLICIES as readonly unknown[]).includes(value.select)) throw new Refusal(`${at}.select: expected one of ${SELECT_POLICIES.join(", ")}`);
    out.select = value.select as RoutingPolicy["select"];
  }
  if (value.pull !== undefined) {
    if (!(PULL_POLICIES as readonly unknown[]).includes(value.pull)) throw new Refusal(`${at}.pull: expected one of ${PULL_POLICIES.join(", ")}`);
    out.pull = value.pull as RoutingPolicy["pull"];
  }
  if (value.minPeers !== undefined) {
    if (!isCount(value.minPeers, 0, ROSTER_LIMITS.maxMembers)) throw new Refusal(`${at}.minPeers: expected a non-negative integer`);
    out.minPeers = value.minPeers;
  }
  return out;
}

function namespacePolicy(value: unknown, at: string): RosterNamespace {
  if (!isObject(value)) throw new Refusal(`${at}: expected an object`);
  only(value, ["members", "origins", "quorum", "routing"], at);
  const out: RosterNamespace = {};
  if (value.members !== undefined) out.members = didList(value.members, `${at}.members`);
  if (value.origins !== undefined) out.origins = didList(value.origins, `${at}.origins`);
  if (value.quorum !== undefined) {
    const q = value.quorum;
    if (!isObject(q)) throw new Refusal(`${at}.quorum: expected { k, witnesses }`);
    only(q, ["k", "witnesses"], `${at}.quorum`);
    const witnesses = didList(q.witnesses, `${at}.quorum.witnesses`);
    if (!isCount(q.k, 1, Math.max(1, witnesses.length))) throw new Refusal(`${at}.quorum.k: expected an integer from 1 to the number of witnesses (${witnesses.length})`);
    out.quorum = { k: q.k, witnesses };
  }
  if (value.routing !== undefined) out.routing = routing(value.routing, `${at}.routing`);
  return out;
}

/** The fields of a roster other than `type`, `v` and `sigs`: what `roster propose` reads from YAML. */
export function rosterBody(value: unknown, at = "roster"): Omit<Roster, "type" | "v" | "sigs"> {
  if (!isObject(value)) throw new Refusal(`${at}: expected an object`);
  if (typeof value.federation !== "string" || value.federation.length === 0 || value.federation.length > ROSTER_LIMITS.maxFederationLength) throw new Refusal(`${at}.federation: expected a non-empty name`);
  if (!isCount(value.serial, 1, Number.MAX_SAFE_INTEGER)) throw new Refusal(`${at}.serial: expected a positive integer`);
  if (!isCount(value.issuedAt, 0, 2 ** 40)) throw new Refusal(`${at}.issuedAt: expected unix seconds`);
  if (value.expiresAt !== undefined && (!isCount(value.expiresAt, 0, 2 ** 40) || value.expiresAt <= value.issuedAt)) throw new Refusal(`${at}.expiresAt: expected unix seconds after issuedAt`);
  if (!Array.isArray(value.members) || value.members.length === 0 || value.members.length > ROSTER_LIMITS.maxMembers) throw new Refusal(`${at}.members: expected a non-empty list of at most ${ROSTER_LIMITS.maxMembers}`);
  const members = value.members.map((m, i) => member(m, `${at}.members[${i}]`));
  const dids = new Set<string>();
  for (const [i, m] of members.entries()) {
    if (dids.has(m.did)) throw new Refusal(`${at}.members[${i}].did: ${m.did} is listed twice`);
    dids.add(m.did);
  }
  const namespaces: Record<string, RosterNamespace> = {};
  const ns = value.namespaces ?? {};
  if (!isObject(ns) || Object.keys(ns).length > ROSTER_LIMITS.maxNamespaces) throw new Refusal(`${at}.namespaces: expected a mapping of at most ${ROSTER_LIMITS.maxNamespaces} patterns`);
  for (const [pattern, policy] of Object.entries(ns)) {
    if (!isNamespacePattern(pattern)) throw new Refusal(`${at}.namespaces: ${JSON.stringify(pattern)} is not a namespace or a pattern such as "dao:*"`);
    const p = namespacePolicy(policy, `${at}.namespaces.${pattern}`);
    for (const did of [...(p.members ?? []), ...(p.origins ?? []), ...(p.quorum?.witnesses ?? [])]) if (!dids.has(did)) throw new Refusal(`${at}.namespaces.${pattern}: ${did} is not a member`);
    namespaces[pattern] = p;
  }
  return { federation: value.federation, serial: value.serial, issuedAt: value.issuedAt, ...(value.expiresAt === undefined ? {} : { expiresAt: value.expiresAt }), members, namespaces };
}

/**
 * Checks the shape of a roster document (not its signatures).
 * @example const r = parseRoster(JSON.parse(text)); if (!r.ok) console.error(r.reason)
 */
export function parseRoster(value: unknown): RosterParse {
  try {
    if (!isObject(value)) throw new Refusal("roster: expected a JSON object");
    only(value, ["type", "v", "federation", "serial", "issuedAt", "expiresAt", "members", "namespaces", "sigs"], "roster");
    if (value.type !== "roster") throw new Refusal(`roster.type: expected "roster"`);
    if (value.v !== 1) throw new Refusal(`roster.v: version ${JSON.stringify(value.v)} is not supported (this node reads 1)`);
    const body = rosterBody(value);
    if (!Array.isArray(value.sigs) || value.sigs.length > ROSTER_LIMITS.maxSigs) throw new Refusal(`roster.sigs: expected a list of at most ${ROSTER_LIMITS.maxSigs}`);
    const sigs = value.sigs.map((s, i) => {
      if (!isObject(s)) throw new Refusal(`roster.sigs[${i}]: expected { key, sig }`);
      only(s, ["key", "sig"], `roster.sigs[${i}]`);
      if (typeof s.sig !== "string" || s.sig.length > 1024) throw new Refusal(`roster.sigs[${i}].sig: expected a compact JWS`);
      return { key: keyLine(s.key, `roster.sigs[${i}].key`), sig: s.sig };
    });
    return { ok: true, roster: { type: "roster", v: 1, ...body, sigs } };
  } catch (e) {
    if (e instanceof Refusal) return { ok: false, reason: e.reason };
    throw e;
  }
}

/**
 * The unsigned roster for a body read from YAML (`roster propose`); throws ArgumentError-like
 * refusals as `{ ok: false }`.
 * @example proposeRoster({ federation: "vm", serial: 1, issuedAt: 0, members: [...] })
 */
export function proposeRoster(value: unknown): RosterParse {
  try {
    if (isObject(value)) for (const k of ["type", "v", "sigs"]) if (k in value) throw new Refusal(`${k}: leave it out; roster propose adds type and v, and roster sign adds sigs`);
    return { ok: true, roster: { type: "roster", v: 1, ...rosterBody(value), sigs: [] } };
  } catch (e) {
    if (e instanceof Refusal) return { ok: false, reason: e.reason };
    throw e;
  }
}
