/**
 * Several real `vmsh-federation serve` processes on 127.0.0.1 (docs/RELIABILITY.md §How the tests are built). Each node listens on
 * port 0 first; once all are up, every peers.yaml is written with the real URLs and delivered
 * with SIGHUP, and federation.yaml is pinned to the bound port so a restarted node comes back
 * where its peers expect it. Anchors are verified against a TSA trust bundle the caller gives.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatKeyLine } from "../../lib/identity/did.js";
import { writeKeyFile } from "../../lib/identity/key-file.js";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { openStore } from "../../lib/store/index.js";
import { BIN, runCli, type CliResult } from "./cli.js";
import { repoRoot } from "./repo-root.js";

export const MESH_NAMESPACE = "dao:vaultmesh";

export interface MeshNodeSpec {
  name: string;
  /** Names of the nodes this one is routed to for MESH_NAMESPACE. */
  routes: string[];
  /** Roles this node grants each routed peer (default all three). */
  roles?: string[];
  /**
   * Names of the mesh nodes whose checkpoints this node accepts (peers.yaml role `origin`; a
   * node it is not routed to gets an origin-only entry without url). Default: every other node.
   */
  origins?: string[];
  /** This node's TSA trust anchor (PEM) instead of MeshOptions.trustPem: a node whose verifier is configured differently. */
  trustPem?: string;
}

export interface MeshNode {
  name: string;
  did: string;
  configDir: string;
  stateDir: string;
  verifyKey: string;
  url: string;
  /** Log lines (stderr, JSON) of the current process. */
  logs: string[];
  running: boolean;
  /**
   * Spawns `serve`; `nodeArgs` go to node before the script (e.g. `--cpu-prof`), and the node
   * must log "listening on" within `listenTimeoutMs` (default 20 s).
   */
  start(options?: { nodeArgs?: string[]; listenTimeoutMs?: number }): Promise<void>;
  /**
   * Sends `signal` and waits for exit, at most `graceMs` (STOP_GRACE_MS unless given); a node
   * still running then is killed with SIGKILL, its whole process group, and the kill is logged
   * (console.error). Resolves the exit code (null for a signal).
   */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<number | null>;
  /** Sends `signal` to the running process without waiting. */
  signal(signal: NodeJS.Signals): void;
  cli(...args: string[]): Promise<CliResult>;
  /** Waits until a log line matches `pattern` (checked against lines logged so far too). */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
  health(): Promise<{ status: number; body: Record<string, unknown> }>;
}

/** An identity every node admits and routes (roles given), with no process: tests sign as it. */
export interface Guest {
  name: string;
  did: string;
  key: ReturnType<typeof generateNodeKey>;
  roles: string[];
  /** Where nodes reach it (a test's own server); nothing listens at the default. */
  url: string;
}

export interface Mesh {
  root: string;
  guests: Map<string, Guest>;
  nodes: Map<string, MeshNode>;
  node(name: string): MeshNode;
  /** Rewrites a node's peers.yaml (e.g. to remove a peer) and SIGHUPs it. */
  writePeers(name: string, entries: Array<{ did: string; url?: string; roles: string[]; key: string }>): Promise<void>;
  /** Sets (undefined: removes) `namespaces."dao:vaultmesh".quorum` in a node's federation.yaml and SIGHUPs it. */
  setQuorum(name: string, quorum: { k: number; witnesses: string[] } | undefined): Promise<void>;
  stop(): Promise<void>;
}

/** Per-peer allowances of MESH_NAMESPACE (`limits` in federation.yaml); 600 a minute each unless given. */
export interface MeshLimits {
  announcePerMin?: number;
  requestPerMin?: number;
  /** `max_answer_bytes_per_min` and `max_reconcile_work_per_min` (docs/FEDERATION_PROTOCOL.md §Limits); the defaults unless given. */
  answerBytesPerMin?: number;
  reconcileWorkPerMin?: number;
  /** `mesh.max_posts_per_address_per_min`; every node of a mesh shares 127.0.0.1, so the default is high. */
  postsPerAddressPerMin?: number;
}

export interface MeshOptions {
  /** TSA trust anchor (PEM) every node verifies `rfc3161:` anchors against. */
  trustPem: string;
  anchorsYaml?: string;
  env?: Record<string, string>;
  guests?: Array<{ name: string; roles: string[]; url?: string }>;
  limits?: MeshLimits;
  /** `anti_entropy.interval_s` of every node (default 2); long, so a test sees gossip alone. */
  antiEntropyIntervalS?: number;
  /** `verify.evm_confirmations` of the namespace (default 1). */
  evmConfirmations?: number;
  /** Names of mesh nodes every other node lists with role `witness` in peers.yaml (docs/FEDERATION_SEMANTICS.md §8. Quorum). */
  witnesses?: string[];
  /** YAML appended to every federation.yaml (e.g. a `governance:` section). */
  federationExtra?: string;
}

/** How long `stop()` waits for a node to exit before it kills the node's process group. */
export const STOP_GRACE_MS = 30_000;

/** Process groups of nodes still running: killed if the test process exits without stopping them. */
const liveGroups = new Set<number>();
process.once("exit", () => {
  for (const pid of liveGroups) killGroup(pid);
});

/** SIGKILL to the process group `pid` leads (a node is spawned detached, so it leads one); false if it is gone. */
function killGroup(pid: number): boolean {
  try {
    process.kill(-pid, "SIGKILL");
    return true;
  } catch {
    return false;
  }
}

/**
 * Waits for `exited` at most `graceMs`; past it SIGKILLs the process group `pid` leads, says so
 * on stderr, and waits for the exit the kill brings.
 * @example const code = await exitWithin(child.pid, exited, 30_000, "a")
 */
export async function exitWithin(pid: number | undefined, exited: Promise<number | null>, graceMs: number, name: string): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const late = Symbol("late");
  const first = await Promise.race([exited, new Promise<typeof late>((resolve) => (timer = setTimeout(() => resolve(late), graceMs)))]);
  clearTimeout(timer);
  if (first !== late) return first;
  console.error(`mesh: node ${name} (pid ${pid}) did not exit within ${graceMs} ms of its stop signal; killing its process group with SIGKILL`);
  if (pid !== undefined) killGroup(pid);
  return exited;
}

function federationYaml(did: string, listen: string, routes: string[], limits: MeshLimits = {}, antiEntropyIntervalS = 2, evmConfirmations = 1): string {
  return `mesh:
  node_id: "${did}"
  listen: { http: "${listen}" }
  key_file: keys/node.key
  state_dir: ../state
  clock_skew_s: 300
  max_posts_per_address_per_min: ${limits.postsPerAddressPerMin ?? 100000}
namespaces:
  "${MESH_NAMESPACE}":
    peers: [${routes.map((d) => `"${d}"`).join(", ")}]
    verify: { evm_confirmations: ${evmConfirmations}, btc_confirmations: 1 }
    limits: { max_announce_rate_per_min: ${limits.announcePerMin ?? 600}, max_request_rate_per_min: ${limits.requestPerMin ?? 600}${limits.answerBytesPerMin === undefined ? "" : `, max_answer_bytes_per_min: ${limits.answerBytesPerMin}`}${limits.reconcileWorkPerMin === undefined ? "" : `, max_reconcile_work_per_min: ${limits.reconcileWorkPerMin}`} }
anti_entropy: { interval_s: ${antiEntropyIntervalS} }
`;
}

/**
 * Starts a mesh of `specs` with anchors verified against `trustPem` (TSA) and any extra anchors.yaml text.
 * @example const mesh = await startMesh([{ name: "a", routes: ["b"] }, { name: "b", routes: ["a"] }], { trustPem })
 */
export async function startMesh(specs: MeshNodeSpec[], options: MeshOptions): Promise<Mesh> {
  const root = await mkdtemp(join(tmpdir(), "vmsh-mesh-"));
  const nodes = new Map<string, MeshNode>();
  const dids = new Map(specs.map((s) => [s.name, `did:vm:node:${s.name}`]));
  const guests = new Map((options.guests ?? []).map((g) => [g.name, { name: g.name, did: `did:vm:node:${g.name}`, key: generateNodeKey(), roles: g.roles, url: g.url ?? "http://127.0.0.1:9" }] as const));
  for (const spec of specs) {
    const configDir = join(root, spec.name, "config");
    await mkdir(configDir, { recursive: true });
    const key = generateNodeKey();
    await writeKeyFile(join(configDir, "keys", "node.key"), key, { force: false });
    const did = dids.get(spec.name)!;
    const routes = [...spec.routes.map((n) => dids.get(n)!), ...[...guests.values()].map((g) => g.did)];
    await writeFile(join(configDir, "federation.yaml"), federationYaml(did, "127.0.0.1:0", routes, options.limits, options.antiEntropyIntervalS, options.evmConfirmations) + (options.federationExtra ?? ""));
    await writeFile(join(configDir, "peers.yaml"), "peers: []\n");
    await writeFile(join(configDir, "tsa-root.pem"), spec.trustPem ?? options.trustPem);
    await writeFile(join(configDir, "anchors.yaml"), `rfc3161:\n  trustBundle: tsa-root.pem\n${options.anchorsYaml ?? ""}`);
    let child: ChildProcess | undefined;
    let exited: Promise<number | null> = Promise.resolve(null);
    const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
    const node: MeshNode = {
      name: spec.name,
      did,
      configDir,
      stateDir: join(root, spec.name, "state"),
      verifyKey: formatKeyLine(key.publicKeyBytes),
      url: "",
      logs: [],
      running: false,
      async start(startOptions = {}) {
        node.logs = [];
        // Detached: the node leads its own process group, so a stop that times out kills all of it.
        child = spawn(process.execPath, [...(startOptions.nodeArgs ?? []), BIN, "--config", configDir, "serve", "--log-format", "json"], { cwd: repoRoot, env: { ...process.env, ...options.env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
        node.running = true;
        const pid = child.pid;
        if (pid !== undefined) liveGroups.add(pid);
        exited = new Promise((resolve) => child!.once("exit", (code) => {
          node.running = false;
          if (pid !== undefined) liveGroups.delete(pid);
          resolve(code);
        }));
        let buffer = "";
        child.stderr!.setEncoding("utf8").on("data", (d: string) => {
          buffer += d;
          let nl: number;
          while ((nl = buffer.indexOf("\n")) >= 0) {
            const line = buffer.slice(0, nl);
            buffer = buffer.slice(nl + 1);
            node.logs.push(line);
            for (const w of [...waiters]) if (w.pattern.test(line)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(line);
            }
          }
        });
        child.stdout!.resume();
        const line = await node.waitForLog(/listening on/, startOptions.listenTimeoutMs ?? 20_000);
        node.url = /listening on (\S+?)"/.exec(line)?.[1] ?? JSON.parse(line).msg.replace("listening on ", "");
      },
      async stop(signal = "SIGTERM", graceMs = STOP_GRACE_MS) {
        if (!node.running || child === undefined) return exited;
        child.kill(signal);
        return exitWithin(child.pid, exited, graceMs, spec.name);
      },
      signal(sig) {
        if (node.running) child?.kill(sig);
      },
      cli: (...args) => runCli(["--config", configDir, ...args], { timeoutMs: 60_000, ...(options.env ? { env: options.env } : {}) }),
      waitForLog(pattern, timeoutMs = 15_000) {
        const seen = node.logs.find((l) => pattern.test(l));
        if (seen !== undefined) return Promise.resolve(seen);
        return new Promise((resolve, reject) => {
          const w = { pattern, resolve: (l: string) => (clearTimeout(t), resolve(l)) };
          const t = setTimeout(() => {
            waiters.splice(waiters.indexOf(w), 1);
            reject(new Error(`${spec.name}: no log line matching ${pattern} within ${timeoutMs} ms; last lines:\n${node.logs.slice(-8).join("\n")}`));
          }, timeoutMs);
          waiters.push(w);
        });
      },
      async health() {
        const res = await fetch(`${node.url}/health`);
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      },
    };
    nodes.set(spec.name, node);
  }
  const mesh: Mesh = {
    root,
    guests,
    nodes,
    node: (name) => nodes.get(name)!,
    async writePeers(name, entries) {
      const n = nodes.get(name)!;
      const yaml = `peers:\n${entries.map((e) => `  - did: "${e.did}"\n${e.url === undefined ? "" : `    url: "${e.url}"\n`}    roles: [${e.roles.join(", ")}]\n    keys: { verify: "${e.key}" }\n`).join("")}`;
      await writeFile(join(n.configDir, "peers.yaml"), entries.length === 0 ? "peers: []\n" : yaml);
      await reload(n);
    },
    async setQuorum(name, quorum) {
      const n = nodes.get(name)!;
      const fed = join(n.configDir, "federation.yaml");
      const lines = (await readFile(fed, "utf8")).split("\n").filter((l) => !l.startsWith("    quorum:"));
      if (quorum !== undefined) lines.splice(lines.findIndex((l) => l.startsWith("    limits:")) + 1, 0, `    quorum: { k: ${quorum.k}, witnesses: [${quorum.witnesses.map((w) => `"${w}"`).join(", ")}] }`);
      await writeFile(fed, lines.join("\n"));
      await reload(n);
    },
    async stop() {
      await Promise.all([...nodes.values()].map((n) => n.stop("SIGTERM")));
      await rm(root, { recursive: true, force: true });
    },
  };
  /** SIGHUPs a running node and waits until it says it reloaded. */
  async function reload(n: MeshNode): Promise<void> {
    if (!n.running) return;
    const before = n.logs.filter((l) => /SIGHUP: reloaded/.test(l)).length;
    n.signal("SIGHUP");
    await waitUntil(() => n.logs.filter((l) => /SIGHUP: reloaded/.test(l)).length > before, 10_000, `${n.name} reload`).catch((e: Error) => {
      throw new Error(`${e.message} (running: ${n.running}); last log lines:\n${n.logs.slice(-6).join("\n")}`);
    });
  }
  const witnessRole = (name: string) => (options.witnesses?.includes(name) ? ["witness"] : []);
  try {
    await Promise.all([...nodes.values()].map((n) => n.start()));
    for (const spec of specs) {
      const n = nodes.get(spec.name)!;
      const port = new URL(n.url).port;
      const fed = join(n.configDir, "federation.yaml");
      await writeFile(fed, (await readFile(fed, "utf8")).replace('"127.0.0.1:0"', `"127.0.0.1:${port}"`));
      const origins = new Set(spec.origins ?? specs.map((s) => s.name).filter((x) => x !== spec.name));
      await mesh.writePeers(spec.name, [
        ...spec.routes.map((r) => {
          const p = nodes.get(r)!;
          return { did: p.did, url: p.url, roles: [...(spec.roles ?? ["announce", "serve", "request"]), ...(origins.has(r) ? ["origin"] : []), ...witnessRole(r)], key: p.verifyKey };
        }),
        ...[...origins].filter((o) => !spec.routes.includes(o)).map((o) => ({ did: nodes.get(o)!.did, roles: ["origin", ...witnessRole(o)], key: nodes.get(o)!.verifyKey })),
        ...(options.witnesses ?? []).filter((w) => w !== spec.name && !spec.routes.includes(w) && !origins.has(w)).map((w) => ({ did: nodes.get(w)!.did, roles: ["witness"], key: nodes.get(w)!.verifyKey })),
        ...[...guests.values()].map((g) => ({ did: g.did, url: g.url, roles: g.roles, key: formatKeyLine(g.key.publicKeyBytes) })),
      ]);
    }
  } catch (e) {
    await mesh.stop();
    throw e;
  }
  return mesh;
}

/** Polls `check` every 100 ms until true or `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The line a – b – c: c is not routed to a, so it only learns a's batches through b. */
export const LINE_ABC: MeshNodeSpec[] = [
  { name: "a", routes: ["b"] },
  { name: "b", routes: ["a", "c"] },
  { name: "c", routes: ["b"] },
];

/** Batch ids a node holds with receipts and at least one verified anchor (its state read without a lock). */
export async function activeBatchIds(n: MeshNode): Promise<string[]> {
  const store = await openStore(n.stateDir, { readOnly: true });
  try {
    return store.listBatches(MESH_NAMESPACE).filter((b) => b.outcomes.verified > 0 && b.receiptCount > 0).map((b) => b.batchId).sort();
  } finally {
    await store.close();
  }
}

/** Receipts a node holds in MESH_NAMESPACE. */
export async function receiptCount(n: MeshNode): Promise<number> {
  const store = await openStore(n.stateDir, { readOnly: true });
  try {
    return store.receiptCount(MESH_NAMESPACE);
  } finally {
    await store.close();
  }
}
