/**
 * The trust policy a proof file is checked against (docs/EXPLORER.md §Trust files): per
 * namespace the origins whose checkpoints count and the witnesses and k of its quorum, and the
 * roots RFC 3161 tokens must chain to. `vmsh-federation trust export` writes it from a node's
 * configuration as a small standalone file, `{ type: "vmsh-trust", v: 1, … }`, so that a third
 * party needs that file and the proof file and nothing else. Pure: no file, no clock.
 */
import { X509Certificate, type KeyObject } from "node:crypto";
import type { TsaTrust } from "../anchors/endpoint-config.js";
import type { NamedTsa } from "../anchors/tsa/verify-anchor.js";
import { ProtocolError } from "../errors.js";
import { decodeKeyLine, DID_MAX_LENGTH, DID_PATTERN, formatKeyLine } from "../identity/did.js";
import { weakKeyProblem } from "../identity/weak-key.js";
import { parseStrictJson } from "./read.js";
import { publicKeyFromRaw, rawPublicKey } from "../identity/keys.js";
import { array, integer, object, optionalString, string, type Json } from "../messages/fields.js";
import { LIMITS, NAMESPACE_PATTERN } from "../messages/limits.js";

/** What a checker trusts for one namespace. */
export interface NamespaceTrust {
  /** DID → key of every origin whose checkpoints of this namespace count. */
  origins: ReadonlyMap<string, KeyObject>;
  /** k-of-n finality (docs/FEDERATION_SEMANTICS.md §8. Quorum); absent: final once an anchor verifies. */
  quorum?: { k: number; witnesses: ReadonlyMap<string, KeyObject> };
}

export interface TrustPolicy {
  namespaces: ReadonlyMap<string, NamespaceTrust>;
  /** Roots of the time-stamp authorities, as PEM text; absent: no RFC 3161 token can be checked. */
  tsa?: TsaTrust;
}

interface KeyEntry {
  did: string;
  key: string;
}

/** The standalone trust file (docs/EXPLORER.md §Trust files). */
export interface TrustFile {
  type: "vmsh-trust";
  v: 1;
  /** The node whose configuration the file was written from, and when (unix seconds). */
  exportedBy: string;
  exportedAt: number;
  namespaces: Array<{ name: string; origins: KeyEntry[]; quorum?: { k: number; witnesses: KeyEntry[] } }>;
  tsa?: { trustBundle?: string; intermediates?: string; tsas: Array<{ name: string; trustBundle?: string; subject?: string }> };
}

/** A trust file larger than this is refused before parsing. */
export const MAX_TRUST_FILE_BYTES = 8 * 1024 * 1024;
const MAX_NAMESPACES = 1024;
const MAX_KEYS = 256;
const MAX_TSAS = 64;
const MAX_PEM_CHARS = 1024 * 1024;
const TSA_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const PEM_BLOCK = /-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]*?-----END CERTIFICATE-----/g;

const keyEntries = (keys: ReadonlyMap<string, KeyObject>): KeyEntry[] => [...keys].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([did, key]) => ({ did, key: formatKeyLine(rawPublicKey(key)) }));

/**
 * The trust file of `policy`, written by `exportedBy` at `exportedAt`.
 * @example JSON.stringify(trustFile(policy, "did:vm:node:a", now), null, 2)
 */
export function trustFile(policy: TrustPolicy, exportedBy: string, exportedAt: number): TrustFile {
  const out: TrustFile = {
    type: "vmsh-trust",
    v: 1,
    exportedBy,
    exportedAt,
    namespaces: [...policy.namespaces]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, t]) => ({ name, origins: keyEntries(t.origins), ...(t.quorum === undefined ? {} : { quorum: { k: t.quorum.k, witnesses: keyEntries(t.quorum.witnesses) } }) })),
  };
  if (policy.tsa !== undefined) {
    const { trustPem, intermediatesPem, tsas } = policy.tsa;
    out.tsa = {
      ...(trustPem === undefined ? {} : { trustBundle: trustPem }),
      ...(intermediatesPem === undefined ? {} : { intermediates: intermediatesPem }),
      tsas: [...tsas].map(([name, t]) => ({ name, ...(t.trustPem === undefined ? {} : { trustBundle: t.trustPem }), ...(t.subject === undefined ? {} : { subject: t.subject }) })),
    };
  }
  return out;
}

const refuse = (message: string): never => {
  throw new ProtocolError("MALFORMED", 400, message);
};

/** Why `raw` cannot be a key that binds its holder (lib/identity/weak-key.ts), or undefined. */
export { weakKeyProblem };

/**
 * One list of `{ did, key }`. `owners` maps each key (hex) to the DID that first listed it,
 * across the whole file: one key under two DIDs would let one signer speak for both, as two
 * origins or as two witnesses toward k (docs/EXPLORER.md §Trust files).
 */
function keys(value: unknown, path: string, owners: Map<string, string>): Map<string, KeyObject> {
  if (!Array.isArray(value) || value.length > MAX_KEYS) refuse(`${path}: expected a list of at most ${MAX_KEYS} { did, key }`);
  const out = new Map<string, KeyObject>();
  for (const [i, e] of (value as unknown[]).entries()) {
    const p = `${path}[${i}]`;
    const o = object(e, p, ["did", "key"]);
    const did = string(o, "did", p, DID_MAX_LENGTH, DID_PATTERN);
    const raw = decodeKeyLine(o.key);
    if (typeof raw === "string") refuse(`${p}.key: ${raw}`);
    const weak = weakKeyProblem(raw as Uint8Array);
    if (weak !== undefined) refuse(`${p}.key: the key of ${did} ${weak}`);
    if (out.has(did)) refuse(`${p}.did: ${did} is listed twice`);
    const hex = Buffer.from(raw as Uint8Array).toString("hex");
    const owner = owners.get(hex);
    if (owner !== undefined && owner !== did) refuse(`${p}.key: ${did} has the same key as ${owner}: one key speaks for one DID`);
    owners.set(hex, did);
    out.set(did, publicKeyFromRaw(raw as Uint8Array));
  }
  return out;
}

function pem(o: Json, key: string, path: string): string | undefined {
  const text = optionalString(o, key, path, MAX_PEM_CHARS);
  if (text === undefined) return undefined;
  const blocks = text.match(PEM_BLOCK) ?? [];
  if (blocks.length === 0) refuse(`${path}.${key}: holds no PEM certificate`);
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (cause) {
      refuse(`${path}.${key}: certificate #${i + 1} does not parse: ${(cause as Error).message}`);
    }
  }
  return text;
}

/**
 * Reads a trust file into the policy it states; throws ProtocolError MALFORMED naming the member
 * for anything else (an unknown version included). Given the file's text, it is parsed as the
 * CLI parses it (lib/proof/read.ts parseStrictJson: a member named twice refused with
 * MALFORMED_JSON); given a value already parsed, duplicates are gone and cannot be seen.
 * @example trustPolicy(await readFile("trust.json", "utf8")).namespaces.get("dao:vaultmesh")?.origins
 */
export function trustPolicy(input: unknown): TrustPolicy {
  const json = typeof input === "string" ? parseStrictJson(input, "trust") : input;
  const o = object(json, "trust", ["type", "v", "exportedBy", "exportedAt", "namespaces", "tsa"]);
  if (o.type !== "vmsh-trust") refuse('trust.type: expected "vmsh-trust" (a file written by `vmsh-federation trust export`)');
  if (o.v !== 1) refuse(`trust.v: expected 1, got ${JSON.stringify(o.v)?.slice(0, 20)}`);
  string(o, "exportedBy", "trust", DID_MAX_LENGTH, DID_PATTERN);
  integer(o, "exportedAt", "trust", 0, LIMITS.maxTimestamp);
  const namespaces = new Map<string, NamespaceTrust>();
  const owners = new Map<string, string>();
  for (const [i, n] of array(o, "namespaces", "trust", MAX_NAMESPACES).entries()) {
    const p = `trust.namespaces[${i}]`;
    const e = object(n, p, ["name", "origins", "quorum"]);
    const name = string(e, "name", p, LIMITS.maxNamespaceLength, NAMESPACE_PATTERN);
    if (namespaces.has(name)) refuse(`${p}.name: ${name} is listed twice`);
    const t: NamespaceTrust = { origins: keys(e.origins, `${p}.origins`, owners) };
    if (e.quorum !== undefined) {
      const q = object(e.quorum, `${p}.quorum`, ["k", "witnesses"]);
      const witnesses = keys(q.witnesses, `${p}.quorum.witnesses`, owners);
      const k = integer(q, "k", `${p}.quorum`, 1, MAX_KEYS);
      if (k > witnesses.size) refuse(`${p}.quorum.k: ${k} is more than the ${witnesses.size} witnesses listed`);
      t.quorum = { k, witnesses };
    }
    namespaces.set(name, t);
  }
  const policy: TrustPolicy = { namespaces };
  if (o.tsa !== undefined) {
    const t = object(o.tsa, "trust.tsa", ["trustBundle", "intermediates", "tsas"]);
    const tsas = new Map<string, NamedTsa>();
    for (const [i, x] of array(t, "tsas", "trust.tsa", MAX_TSAS).entries()) {
      const p = `trust.tsa.tsas[${i}]`;
      const e = object(x, p, ["name", "trustBundle", "subject"]);
      const name = string(e, "name", p, 64, TSA_NAME);
      const named: NamedTsa = {};
      const roots = pem(e, "trustBundle", p);
      if (roots !== undefined) named.trustPem = roots;
      const subject = optionalString(e, "subject", p, 1024);
      if (subject !== undefined) named.subject = subject;
      tsas.set(name, named);
    }
    const tsa: TsaTrust = { tsas };
    const roots = pem(t, "trustBundle", "trust.tsa");
    if (roots !== undefined) tsa.trustPem = roots;
    const intermediates = pem(t, "intermediates", "trust.tsa");
    if (intermediates !== undefined) tsa.intermediatesPem = intermediates;
    policy.tsa = tsa;
  }
  return policy;
}

/**
 * `policy` (a node's own, from its configuration) held to the rules of a trust file: written as
 * one and read back, so that `verify-proof` without `--trust` trusts nothing a trust file could
 * not state, and `trust export` never writes a file that no reader accepts. Throws ProtocolError
 * MALFORMED naming the member, as trustPolicy does.
 * @example const policy = statedPolicy(nodeTrustPolicy(config, self))
 */
export function statedPolicy(policy: TrustPolicy, exportedBy: string): TrustPolicy {
  return trustPolicy(JSON.parse(JSON.stringify(trustFile(policy, exportedBy, 0))));
}
