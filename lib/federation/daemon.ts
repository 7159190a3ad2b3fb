/**
 * The daemon behind `serve`: the HTTP server on a FederationNode, the outbox and
 * anti-entropy timers, reloads, and a stop that drains in-flight work
 * (docs/FEDERATION_OPERATIONS.md §What runs where, docs/ARCHITECTURE.md §The runtime). It takes an
 * opened NodeRuntime and knows nothing of signals or the command line: `commands/serve.ts`
 * wires those, and a test or another program can run a node with it alone.
 */
import type { NodeConfig } from "../config/types.js";
import { createExplorer } from "../explorer/explorer.js";
import { startServer, type RunningServer } from "../http/server.js";
import { nodeExplorerSource } from "./explorer-source.js";
import type { Logger } from "./log.js";
import { FederationNode } from "./node.js";
import type { NodeRuntime } from "./runtime.js";
import { RosterKeeper } from "./roster-keeper.js";

/** How often queued announces are retried (each entry keeps its own backoff). */
const OUTBOX_TICK_MS = 2_000;
/** How long a stop waits for in-flight work before closing anyway (systemd waits 90 s; we promise 10 s). */
export const DRAIN_MS = 7_000;

export interface DaemonOptions {
  log: Logger;
  version: string;
  /** PEM key and certificate for HTTPS. */
  tls?: { key: string; cert: string };
  /** Overrides mesh.listen (tests listen on port 0). */
  listen?: { host: string; port: number };
}

export interface RunningDaemon {
  /** `http://HOST:PORT` (or https) as bound. */
  url: string;
  node: FederationNode;
  /** Takes a new peers.yaml and routing (SIGHUP): removed peers and keys are refused from now on. */
  reload(config: NodeConfig): void;
  /**
   * Stops taking messages and timers, waits at most `drainMs` for background work, then
   * closes the server. Resolves false when work was still running at the deadline (it resumes
   * from the outbox and the next announce or sync).
   */
  stop(drainMs?: number): Promise<boolean>;
}

/** Runs `fn` every `ms` (± 10 % jitter), never overlapping itself; returns the stop function. */
function every(ms: number, fn: () => Promise<void>, log: Logger, what: string): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(async () => {
      try {
        await fn();
      } catch (e) {
        log.error(`${what} failed`, { error: (e as Error).message });
      }
      schedule();
    }, ms * (0.9 + Math.random() * 0.2));
  };
  schedule();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/**
 * Starts serving `runtime`: endpoints, gossip, the outbox, pending re-checks and timed
 * anti-entropy. The runtime stays the caller's to close after `stop()`.
 * @example
 * const daemon = await startDaemon(runtime, { log, version: VERSION });
 * process.once("SIGTERM", () => void daemon.stop().then(() => runtime.close()));
 */
export async function startDaemon(runtime: NodeRuntime, options: DaemonOptions): Promise<RunningDaemon> {
  const { log } = options;
  const node = new FederationNode(runtime, { log, version: options.version });
  // Before listening: what an earlier run accepted must not be accepted again.
  const notBefore = await runtime.restoreReplay();
  if (notBefore !== undefined) log.info("the last run stopped without saving its replay window: messages signed before this start are refused", { notBefore });
  const { host, port } = options.listen ?? runtime.config.federation.mesh.listen;
  // The explorer reads this node through one seam, ExplorerSource (docs/EXPLORER.md).
  const explorer = await createExplorer(nodeExplorerSource({ node, store: runtime.store, outbox: runtime.outbox, client: runtime.client, version: options.version }));
  // The roster in force is applied live and spread by offers and pulls (docs/FEDERATION_PROTOCOL.md §Roster exchange).
  const roster = new RosterKeeper(runtime, log);
  node.rosterKeeper = roster;
  let server: RunningServer;
  try {
    server = await startServer({ node, log, version: options.version, explorer, roster, ...(options.tls ? { tls: options.tls } : {}) }, host, port);
  } catch (e) {
    explorer.close();
    throw e;
  }
  // The first read of every version's checkpoint and claims happens now, in the background,
  // rather than inside a peer's first reconcile round (docs/ANTI_ENTROPY.md §Attachment items).
  node.track((async () => {
    for (const namespace of runtime.config.federation.namespaces.keys()) await runtime.indexes.prepare(namespace);
  })());
  const timers = [
    // refresh: see batches and outbox entries that a CLI command wrote to the same state.
    every(OUTBOX_TICK_MS, async () => {
      await roster.poll();
      await runtime.store.refresh();
      await node.deliverOutbox();
    }, log, "outbox delivery"),
    every(runtime.config.federation.antiEntropy.intervalS * 1000, async () => {
      await roster.pull();
      await node.recheckPending();
      await node.adoptCheckpoints();
      await node.syncAll();
    }, log, "pending re-check and anti-entropy"),
  ];
  let stopping: Promise<boolean> | undefined;
  return {
    url: server.url,
    node,
    reload: (config) => runtime.reload(config),
    stop(drainMs = DRAIN_MS) {
      stopping ??= (async () => {
        for (const t of timers) t();
        const clean = await node.drain(drainMs);
        await runtime.saveReplay().catch((e: unknown) => log.warn("replay window not saved: the next start refuses messages signed before it", { error: (e as Error).message }));
        // Event streams first: an open one would keep the server from closing.
        explorer.close();
        await server.close();
        return clean;
      })();
      return stopping;
    },
  };
}
