/**
 * The chaos run's nodes (docs/RELIABILITY.md §Chaos): one real `vmsh-federation serve` per network
 * namespace, each with its own configuration and state directory, routed to its ring neighbours
 * (two on each side), every node an origin, the first witnesses of a quorum policy. A node can be
 * killed with SIGKILL and restarted, optionally under `faketime` to skew its clock.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, existsSync, readdirSync, type WriteStream } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { formatKeyLine } from "../lib/identity/did.js";
import { writeKeyFile } from "../lib/identity/key-file.js";
import { generateNodeKey } from "../lib/identity/keys.js";
import { BIN } from "../test/support/cli.js";
import { repoRoot } from "../test/support/repo-root.js";
import type { NetNode } from "./net.js";

export const NAMESPACE = "dao:vaultmesh";
const PORT = 8088;

export interface ClusterOptions {
  root: string;
  net: NetNode[];
  /** TSA root (PEM) and anchors.yaml lines for the chain endpoints every node verifies with. */
  trustPem: string;
  anchorsYaml: string;
  antiEntropyIntervalS: number;
  /** Quorum: the first `witnesses` nodes cosign, `k` of them make a batch final. */
  witnesses: number;
  k: number;
  /** Accepted clock skew of inbound messages (mesh.clock_skew_s). */
  clockSkewS: number;
}

export interface ClusterNode {
  name: string;
  index: number;
  did: string;
  ns: string;
  url: string;
  configDir: string;
  stateDir: string;
  running: boolean;
  /** Clock offset the current process runs with (faketime), seconds. */
  skewS: number;
  /** The running serve process's id. */
  readonly pid: number | undefined;
  /** Starts serve (under faketime when skewS ≠ 0) and waits until it listens. */
  start(skewS?: number): Promise<void>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
  /** Runs the CLI against this node's configuration inside its namespace. */
  cli(args: string[], timeoutMs?: number): Promise<{ code: number | null; stdout: string; stderr: string }>;
}

/** Each node's peers: two ring neighbours on each side (all others when there are fewer than 6). */
export function ringRoutes(i: number, n: number): number[] {
  if (n <= 5) return Array.from({ length: n }, (_, j) => j).filter((j) => j !== i);
  return [...new Set([-2, -1, 1, 2].map((d) => (i + d + n) % n))];
}

/** libfaketime from Debian's faketime package, wherever the architecture puts it. */
export function libfaketime(): string | undefined {
  for (const dir of existsSync("/usr/lib") ? readdirSync("/usr/lib") : []) {
    const lib = join("/usr/lib", dir, "faketime", "libfaketime.so.1");
    if (existsSync(lib)) return lib;
  }
  return undefined;
}

/**
 * Command and environment for running `argv` inside `ns`, optionally with a skewed clock. The
 * library is preloaded directly rather than through the `faketime` program, which forks: a
 * SIGKILL would reach the wrapper and leave the node running.
 */
function inNamespace(ns: string, skewS: number, argv: string[]): [string, string[], NodeJS.ProcessEnv] {
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (skewS !== 0) {
    const lib = libfaketime();
    if (lib === undefined) throw new Error("libfaketime.so.1 not found: apt-get install faketime");
    Object.assign(env, { LD_PRELOAD: lib, FAKETIME: `${skewS > 0 ? "+" : ""}${skewS}s`, FAKETIME_DONT_FAKE_MONOTONIC: "1" });
  }
  return ["ip", ["netns", "exec", ns, ...argv], env];
}

export async function createCluster(options: ClusterOptions): Promise<ClusterNode[]> {
  const n = options.net.length;
  const keys = options.net.map(() => generateNodeKey());
  const dids = options.net.map((_, i) => `did:vm:node:n${i}`);
  const witnessDids = dids.slice(0, options.witnesses);
  const nodes: ClusterNode[] = [];
  for (const net of options.net) {
    const i = net.index;
    const dir = join(options.root, `n${i}`);
    const configDir = join(dir, "config");
    await mkdir(configDir, { recursive: true });
    await writeKeyFile(join(configDir, "keys", "node.key"), keys[i]!, { force: false });
    const routes = ringRoutes(i, n);
    const quorum = options.witnesses > 0 ? `    quorum: { k: ${options.k}, witnesses: [${witnessDids.map((d) => `"${d}"`).join(", ")}] }\n` : "";
    await writeFile(
      join(configDir, "federation.yaml"),
      `mesh:
  node_id: "${dids[i]}"
  listen: { http: "${net.ip}:${PORT}" }
  key_file: keys/node.key
  state_dir: ../state
  clock_skew_s: ${options.clockSkewS}
namespaces:
  "${NAMESPACE}":
    peers: [${routes.map((r) => `"${dids[r]}"`).join(", ")}]
    verify: { evm_confirmations: 1, btc_confirmations: 1 }
    limits: { max_announce_rate_per_min: 6000, max_request_rate_per_min: 6000 }
${quorum}anti_entropy: { interval_s: ${options.antiEntropyIntervalS} }
`,
    );
    // Every other node is an origin; routed ones also announce, serve and request; witnesses cosign.
    const entries = options.net
      .filter((o) => o.index !== i)
      .map((o) => {
        const routed = routes.includes(o.index);
        const roles = [...(routed ? ["announce", "serve", "request"] : []), "origin", ...(witnessDids.includes(dids[o.index]!) ? ["witness"] : [])];
        return `  - did: "${dids[o.index]}"\n${routed ? `    url: "http://${o.ip}:${PORT}"\n` : ""}    roles: [${roles.join(", ")}]\n    keys: { verify: "${formatKeyLine(keys[o.index]!.publicKeyBytes)}" }\n`;
      });
    await writeFile(join(configDir, "peers.yaml"), `peers:\n${entries.join("")}`);
    await writeFile(join(configDir, "tsa-root.pem"), options.trustPem);
    await writeFile(join(configDir, "anchors.yaml"), `rfc3161:\n  trustBundle: tsa-root.pem\n${options.anchorsYaml}`);
    nodes.push(clusterNode(i, dids[i]!, net, configDir, join(dir, "state"), join(dir, "serve.log")));
  }
  return nodes;
}

/** Signals the process group `child` leads (it was spawned detached), falling back to the process. */
function signalGroup(child: ChildProcess | undefined, signal: NodeJS.Signals): void {
  if (child?.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal);
  }
}

function clusterNode(index: number, did: string, net: NetNode, configDir: string, stateDir: string, logFile: string): ClusterNode {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let log: WriteStream | undefined;
  const node: ClusterNode = {
    name: `n${index}`,
    index,
    did,
    ns: net.ns,
    url: `http://${net.ip}:${PORT}`,
    configDir,
    stateDir,
    running: false,
    skewS: 0,
    get pid() {
      return node.running ? child?.pid : undefined;
    },
    async start(skewS = node.skewS) {
      if (node.running) return;
      node.skewS = skewS;
      log ??= createWriteStream(logFile, { flags: "a" });
      log.write(`--- start ${new Date().toISOString()} skew ${skewS}s\n`);
      const [cmd, args, env] = inNamespace(net.ns, skewS, [process.execPath, BIN, "--config", configDir, "serve", "--log-format", "json"]);
      // Its own process group, so a signal reaches whatever `ip netns exec` left running too.
      const proc = spawn(cmd, args, { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
      child = proc;
      node.running = true;
      exited = new Promise((resolve) => proc.once("exit", () => {
        node.running = false;
        resolve();
      }));
      proc.stdout!.resume();
      let buffer = "";
      const listening = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`${node.name} did not listen within 60 s (see ${logFile})`)), 60_000);
        proc.once("exit", (code, signal) => (clearTimeout(timer), reject(new Error(`${node.name} exited (${code ?? signal}) before listening (see ${logFile})`))));
        proc.stderr!.setEncoding("utf8").on("data", (d: string) => {
          log!.write(d);
          buffer = (buffer + d).slice(-4096);
          if (/listening on/.test(buffer)) {
            clearTimeout(timer);
            buffer = "";
            resolve();
          }
        });
      });
      await listening;
    },
    async kill() {
      if (!node.running) return;
      signalGroup(child, "SIGKILL");
      await exited;
      log?.write(`--- SIGKILL ${new Date().toISOString()}\n`);
    },
    async stop() {
      if (!node.running) return;
      signalGroup(child, "SIGTERM");
      const timer = setTimeout(() => signalGroup(child, "SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
      log?.write(`--- stopped ${new Date().toISOString()}\n`);
    },
    cli(args, timeoutMs = 120_000) {
      const [cmd, argv, env] = inNamespace(net.ns, node.skewS, [process.execPath, BIN, "--config", configDir, ...args]);
      return new Promise((resolve, reject) => {
        const proc = spawn(cmd, argv, { cwd: repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        proc.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
        proc.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
        const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
        proc.on("error", reject);
        proc.on("close", (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
      });
    },
  };
  return node;
}
