/**
 * The pure configuration validator: parsed YAML of the three files in, `{ config,
 * warnings, errors }` out, every problem naming its file and key path (docs/FEDERATION_OPERATIONS.md §Configuration reference).
 * No file access: paths are resolved against `dir` as strings; loadConfig reads files.
 */
import { resolve } from "node:path";
import { anchors } from "./anchors.js";
import { isDid } from "../identity/did.js";
import { parseKeyLine } from "../identity/did.js";
import { ROLES, type Role } from "../messages/authenticate.js";
import { isNamespace } from "../messages/limits.js";
import { interpolate } from "./env.js";
import { explorerConfig } from "./explorer.js";
import { governancePolicy } from "./governance.js";
import { path, url } from "./fields.js";
import { Problems, Section, shown } from "./problems.js";
import { stateDirProblem } from "./state-dir.js";
import { withSuggestions } from "./suggest.js";
import { DEFAULTS, type FederationConfig, type NamespaceConfig, type NodeConfig, type PeerConfig, type QuorumConfig } from "./types.js";

export interface RawConfig {
  /** Parsed YAML of each file; `undefined` when the file does not exist. */
  federation: unknown;
  peers: unknown;
  anchors: unknown;
}

export interface ValidateOptions {
  /** Absolute configuration directory: relative paths resolve against it. */
  dir: string;
  env: Readonly<Record<string, string | undefined>>;
}

export interface ValidationResult {
  config: NodeConfig | undefined;
  warnings: string[];
  errors: string[];
}

const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/;

/** Splits `host:port`; undefined when malformed or the port is outside 0–65535. */
export function parseHostPort(text: string): { host: string; port: number } | undefined {
  const m = HOST_PORT.exec(text);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[|\]$/g, ""), port };
}

function federation(root: Section, dir: string): FederationConfig | undefined {
  root.required()?.mapping(["mesh", "namespaces", "anti_entropy", "explorer", "governance"]);
  const mesh = root.at("mesh");
  mesh.required()?.mapping(["node_id", "listen", "key_file", "state_dir", "clock_skew_s", "max_posts_per_address_per_min"]);
  const nodeIdS = mesh.at("node_id");
  const nodeId = nodeIdS.required()?.string();
  if (nodeId !== undefined && !isDid(nodeId)) nodeIdS.error(`expected a DID such as "did:vm:node:vm-spawn-a", got ${shown(nodeId)}`);
  const listenS = mesh.at("listen");
  listenS.mapping(["http", "tls"]);
  const httpS = listenS.at("http");
  const hp = parseHostPort(httpS.string() ?? DEFAULTS.listen);
  if (hp === undefined) httpS.error("expected HOST:PORT such as \"127.0.0.1:8088\"");
  const tlsS = listenS.at("tls");
  let tls: { keyFile: string; certFile: string } | undefined;
  if (tlsS.present && tlsS.mapping(["key", "cert"])) {
    const keyFile = path(tlsS.at("key").required() ?? tlsS.at("key"), dir);
    const certFile = path(tlsS.at("cert").required() ?? tlsS.at("cert"), dir);
    if (keyFile && certFile) tls = { keyFile, certFile };
  }
  const keyFile = path(mesh.at("key_file"), dir) ?? resolve(dir, DEFAULTS.keyFile);
  const stateDir = path(mesh.at("state_dir"), dir) ?? resolve(dir, DEFAULTS.stateDir);
  const stateProblem = stateDirProblem(stateDir, dir);
  if (stateProblem !== undefined) mesh.at("state_dir").error(mesh.at("state_dir").present ? stateProblem : `not set, so the state goes to ${DEFAULTS.stateDir} (relative to the configuration directory): ${stateProblem}`);
  const clockSkewS = mesh.at("clock_skew_s").integer(1, 86400, "an integer number of seconds from 1 to 86400") ?? DEFAULTS.clockSkewS;
  const maxPostsPerAddressPerMin = mesh.at("max_posts_per_address_per_min").integer(1, 1_000_000, "a positive integer") ?? DEFAULTS.maxPostsPerAddressPerMin;

  const namespaces = new Map<string, NamespaceConfig>();
  const nsS = root.at("namespaces");
  for (const name of Object.keys(nsS.mapping() ?? {})) {
    const s = nsS.at(name);
    if (!isNamespace(name)) s.error("is not a valid namespace (lower-case letters, digits, '.', '_', '-', segments joined by ':')");
    s.mapping(["peers", "origins", "verify", "limits", "quorum", "require_logged"]);
    const peers: string[] = [];
    (s.at("peers").list() ?? []).forEach((_, i) => {
      const p = s.at("peers").at(i);
      const did = p.string();
      if (did !== undefined && !isDid(did)) p.error(`expected a DID, got ${shown(did)}`);
      else if (did !== undefined) peers.push(did);
    });
    let origins: string[] | undefined;
    if (s.at("origins").present) {
      origins = [];
      (s.at("origins").list() ?? []).forEach((_, i) => {
        const p = s.at("origins").at(i);
        const did = p.string();
        if (did !== undefined && !isDid(did)) p.error(`expected a DID, got ${shown(did)}`);
        else if (did !== undefined) origins!.push(did);
      });
    }
    const quorum = quorumPolicy(s.at("quorum"));
    // namespaces.<ns>.require_logged (docs/FEDERATION_SEMANTICS.md §Origin logs): an unlogged checkpoint is not final.
    const rl = s.at("require_logged");
    if (rl.present && typeof rl.value !== "boolean") rl.error("expected true or false");
    const requireLogged = rl.value === true;
    const v = s.at("verify");
    v.mapping(["evm_confirmations", "btc_confirmations"]);
    const l = s.at("limits");
    l.mapping(["max_announce_rate_per_min", "max_request_rate_per_min", "max_answer_bytes_per_min", "max_reconcile_work_per_min"]);
    const nonNeg = "a non-negative integer";
    const positive = "a positive integer";
    namespaces.set(name, {
      name,
      peers,
      ...(origins === undefined ? {} : { origins }),
      ...(quorum === undefined ? {} : { quorum }),
      ...(requireLogged ? { requireLogged } : {}),
      verify: {
        evmConfirmations: v.at("evm_confirmations").integer(0, 1_000_000, nonNeg) ?? DEFAULTS.evmConfirmations,
        btcConfirmations: v.at("btc_confirmations").integer(0, 1_000_000, nonNeg) ?? DEFAULTS.btcConfirmations,
      },
      limits: {
        maxAnnounceRatePerMin: l.at("max_announce_rate_per_min").integer(1, 1_000_000, positive) ?? DEFAULTS.maxAnnounceRatePerMin,
        maxRequestRatePerMin: l.at("max_request_rate_per_min").integer(1, 1_000_000, positive) ?? DEFAULTS.maxRequestRatePerMin,
        maxAnswerBytesPerMin: l.at("max_answer_bytes_per_min").integer(1024 * 1024, 2 ** 40, "an integer number of bytes, at least 1048576") ?? DEFAULTS.maxAnswerBytesPerMin,
        maxReconcileWorkPerMin: l.at("max_reconcile_work_per_min").integer(10_000, 1e12, "an integer of at least 10000") ?? DEFAULTS.maxReconcileWorkPerMin,
      },
    });
  }
  const ae = root.at("anti_entropy");
  ae.mapping(["interval_s"]);
  const intervalS = ae.at("interval_s").integer(1, 86400 * 7, "a positive integer number of seconds") ?? DEFAULTS.antiEntropyIntervalS;
  const explorer = explorerConfig(root.at("explorer"));
  const governance = governancePolicy(root.at("governance"));
  if (nodeId === undefined || hp === undefined) return undefined;
  return { mesh: { nodeId, listen: { ...hp, ...(tls ? { tls } : {}) }, keyFile, stateDir, clockSkewS, maxPostsPerAddressPerMin }, namespaces, antiEntropy: { intervalS }, explorer, ...(governance === undefined ? {} : { governance }) };
}

/**
 * `namespaces.<ns>.quorum: { k, witnesses }` (docs/FEDERATION_SEMANTICS.md §8. Quorum): its shape,
 * 1 ≤ k ≤ number of witnesses, no DID twice. Whether each witness has a key is checked against
 * peers.yaml in validateConfig.
 */
function quorumPolicy(s: Section): QuorumConfig | undefined {
  if (!s.present || !s.mapping(["k", "witnesses"])) return undefined;
  const kS = s.at("k");
  const k = kS.required()?.integer(1, 1000, "a positive integer: how many distinct witnesses must cosign");
  const list = s.at("witnesses");
  const witnesses: string[] = [];
  let valid = true;
  (list.required()?.list() ?? []).forEach((_, i) => {
    const w = list.at(i);
    const did = w.string();
    if (did === undefined || !isDid(did)) {
      valid = false;
      if (did !== undefined) w.error(`expected a DID, got ${shown(did)}`);
    } else if (witnesses.includes(did)) {
      valid = false;
      w.error(`${did} is listed twice: a witness counts once toward k`);
    } else witnesses.push(did);
  });
  if (list.present && Array.isArray(list.value) && list.value.length === 0) {
    list.error("is empty: name at least k witness DIDs");
    return undefined;
  }
  if (k === undefined || !valid) return undefined;
  if (k > witnesses.length) {
    kS.error(`is ${k}, but only ${witnesses.length} witness${witnesses.length === 1 ? " is" : "es are"} listed: no batch could ever be final`);
    return undefined;
  }
  return { k, witnesses };
}

/** Role of a peers.yaml entry whose checkpoints this node accepts; not a message role (docs/FEDERATION_SEMANTICS.md §Origins). */
const ORIGIN_ROLE = "origin";
/** Role of a peers.yaml entry whose cosignatures this node checks; not a message role (docs/FEDERATION_SEMANTICS.md §8. Quorum). */
const WITNESS_ROLE = "witness";

function peers(root: Section, origins: Map<string, Uint8Array>, witnesses: Map<string, Uint8Array>, deny: Set<string>): Map<string, PeerConfig> {
  const out = new Map<string, PeerConfig>();
  if (!root.present) return out;
  root.mapping(["peers", "deny"]);
  // `deny`: members a roster admits that this node refuses (docs/FEDERATION_OPERATIONS.md §Running a federation with a roster).
  (root.at("deny").list() ?? []).forEach((_, i) => {
    const did = root.at("deny").at(i).string();
    if (did !== undefined && !isDid(did)) root.at("deny").at(i).error(`expected a DID, got ${JSON.stringify(did)}`);
    else if (did !== undefined) deny.add(did);
  });
  const list = root.at("peers");
  (list.list() ?? []).forEach((_, i) => {
    const p = list.at(i);
    if (!p.mapping(["did", "url", "roles", "keys"])) return;
    const didS = p.at("did");
    const did = didS.required()?.string();
    if (did !== undefined && !isDid(did)) didS.error(`expected a DID, got ${shown(did)}`);
    if (did !== undefined && out.has(did)) didS.error(`${did} is listed twice`);
    const roles = new Set<Role>();
    let origin = false;
    let witness = false;
    const rolesS = p.at("roles");
    (rolesS.required()?.list() ?? []).forEach((_, j) => {
      const r = rolesS.at(j).string();
      if (r === ORIGIN_ROLE) origin = true;
      else if (r === WITNESS_ROLE) witness = true;
      else if (r !== undefined && !(ROLES as readonly string[]).includes(r)) rolesS.at(j).error(`unknown role ${shown(r)} (roles: ${[...ROLES, ORIGIN_ROLE, WITNESS_ROLE].join(", ")})`);
      else if (r !== undefined) roles.add(r as Role);
    });
    // An entry that is only an origin and/or a witness is a key, not a neighbour: it needs no url.
    const originOnly = (origin || witness) && roles.size === 0;
    const peerUrl = originOnly && !p.at("url").present ? undefined : url(p.at("url").required() ?? p.at("url"), ["http:", "https:"]);
    const keysS = p.at("keys");
    keysS.required()?.mapping(["verify"]);
    const keyS = keysS.at("verify");
    let verifyKey: Uint8Array | undefined;
    if (keyS.required()) {
      const k = parseKeyLine(keyS.value);
      if (typeof k === "string") keyS.error(k);
      else verifyKey = k;
    }
    if (did !== undefined && isDid(did) && verifyKey !== undefined && !out.has(did) && !origins.has(did) && !witnesses.has(did)) {
      if (origin) origins.set(did, verifyKey);
      if (witness) witnesses.set(did, verifyKey);
      if (peerUrl !== undefined && !originOnly) out.set(did, { did, url: peerUrl, roles, verifyKey });
    }
  });
  return out;
}

/**
 * Validates the three parsed configuration files.
 * @example validateConfig({ federation: yaml.load(text), peers: undefined, anchors: undefined }, { dir: "/etc/vmsh", env: process.env })
 */
export function validateConfig(raw: RawConfig, options: ValidateOptions): ValidationResult {
  const problems = new Problems();
  const files = {
    federation: interpolate(raw.federation, options.env, "federation.yaml", problems),
    peers: interpolate(raw.peers, options.env, "peers.yaml", problems),
    anchors: interpolate(raw.anchors, options.env, "anchors.yaml", problems),
  };
  // An unset variable would cascade into shape errors about the same key: report it alone.
  if (problems.errors.length > 0) return { config: undefined, warnings: [], errors: problems.errors };
  const fed = federation(new Section(problems, "federation.yaml", [], files.federation), options.dir);
  const originKeys = new Map<string, Uint8Array>();
  const witnessKeys = new Map<string, Uint8Array>();
  const deny = new Set<string>();
  const peerMap = peers(new Section(problems, "peers.yaml", [], files.peers), originKeys, witnessKeys, deny);
  const anchorsCfg = anchors(new Section(problems, "anchors.yaml", [], files.anchors), options.dir);
  if (fed !== undefined) {
    for (const ns of fed.namespaces.values()) {
      ns.peers.forEach((did, i) => {
        if (!peerMap.has(did)) problems.warn("federation.yaml", ["namespaces", ns.name, "peers", i], `${did} is not in peers.yaml, so nothing is exchanged with it`);
        if (did === fed.mesh.nodeId) problems.error("federation.yaml", ["namespaces", ns.name, "peers", i], `${did} is this node's own DID (mesh.node_id): route the other node's DID`);
        if (!peerMap.has(did) && (originKeys.has(did) || witnessKeys.has(did))) problems.error("federation.yaml", ["namespaces", ns.name, "peers", i], `${did} is only an ${originKeys.has(did) ? "origin" : "witness"} in peers.yaml (no url, no message role): route a neighbour, not a key`);
      });
      (ns.origins ?? []).forEach((did, i) => {
        if (did !== fed.mesh.nodeId && !originKeys.has(did)) problems.error("federation.yaml", ["namespaces", ns.name, "origins", i], `${did} is neither this node nor a peers.yaml entry with role origin, so its checkpoints cannot be verified`);
      });
      const keyOwner = new Map<string, string>();
      (ns.quorum?.witnesses ?? []).forEach((did, i) => {
        const at = ["namespaces", ns.name, "quorum", "witnesses", i];
        if (did === fed.mesh.nodeId) return;
        const key = witnessKeys.get(did);
        if (key === undefined) return problems.error("federation.yaml", at, `${did} is neither this node nor a peers.yaml entry with role witness, so its cosignatures cannot be verified`);
        // One key behind two DIDs would count twice toward k (docs/FEDERATION_SEMANTICS.md §8. Quorum).
        const hex = Buffer.from(key).toString("hex");
        const other = keyOwner.get(hex);
        if (other !== undefined) problems.error("federation.yaml", at, `${did} has the same key in peers.yaml as the witness ${other}: one key counts once toward k, list it once`);
        else keyOwner.set(hex, did);
      });
    }
  }
  if (fed !== undefined) ownEntry(problems, files.peers, fed.mesh.nodeId);
  const config = fed !== undefined && problems.errors.length === 0 ? { dir: options.dir, federation: fed, peers: peerMap, origins: originKeys, witnesses: witnessKeys, anchors: anchorsCfg, ...(deny.size === 0 ? {} : { deny }) } : undefined;
  return { config, warnings: withSuggestions(problems.warnings), errors: problems.errors };
}

/** A peers.yaml entry with this node's own DID: the entry `init` printed here, pasted into its own file. */
function ownEntry(problems: Problems, peersFile: unknown, nodeId: string): void {
  const list = (peersFile as { peers?: unknown } | undefined)?.peers;
  if (!Array.isArray(list)) return;
  list.forEach((p, i) => {
    if ((p as { did?: unknown } | null)?.did === nodeId) problems.error("peers.yaml", ["peers", i, "did"], `${nodeId} is this node's own DID (federation.yaml mesh.node_id): paste the other node's entry, the one its init printed`);
  });
}
