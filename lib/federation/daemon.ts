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
import { collectLogInclusions, originLogOf, watchOriginLogs } from "./origin-log.js";
import { backfillOriginLog } from "../origin-log/backfill.js";
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

/** Runs `fn` every `ms` (± 10 % jitter), the first time after `firstMs` (default `ms`), never overlapping itself; returns the stop function. */
function every(ms: number, fn: () => Promise<void>, log: Logger, what: string, firstMs?: number): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const schedule = (delayMs: number) => {
    if (stopped) return;
    timer = setTimeout(async () => {
      try {
        await fn();
      } catch (e) {
        log.error(`${what} failed`, { error: (e as Error).message });
      }
      schedule(ms * (0.9 + Math.random() * 0.2));
    }, delayMs);
  };
  schedule(firstMs ?? ms * (0.9 + Math.random() * 0.2));
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
  if (await runtime.restoreReplay()) log.info("the last run stopped without saving its replay window: each peer's messages signed up to what that run may have accepted are refused", { peers: runtime.horizon.size });
  const { host, port } = options.listen ?? runtime.config.federation.mesh.listen;
  // The explorer reads this node through one seam, ExplorerSource (docs/EXPLORER.md).
  const explorer = await createExplorer(nodeExplorerSource({ node, store: runtime.store, outbox: runtime.outbox, client: runtime.client, version: options.version }));
  // The roster in force is applied live and spread by offers and pulls (docs/FEDERATION_PROTOCOL.md §Roster exchange).
  const roster = new RosterKeeper(runtime, log);
  node.rosterKeeper = roster;
  // Before listening: the reconcile items from what the store's open read, no file read again
  // (docs/STATE.md §Start-up pass), and each namespace's reconcile index built, so a peer's first
  // round, often a catch-up, does not hold the event loop while 10^6 keys are sorted into one.
  // A failure here is logged, as the background preparation logged it, and does not stop the start.
  let builtBeforeListening = 0;
  try {
    for (const namespace of runtime.config.federation.namespaces.keys()) {
      await runtime.indexes.prepare(namespace);
      runtime.indexes.get(namespace);
      builtBeforeListening++;
    }
  } catch (e) {
    log.error("background work failed", { error: (e as Error).message });
  }
  let server: RunningServer;
  try {
    server = await startServer({ node, log, version: options.version, explorer, originLog: originLogOf(runtime), roster, ...(options.tls ? { tls: options.tls } : {}) }, host, port);
  } catch (e) {
    explorer.close();
    throw e;
  }
  // Versions written since the preparation above (usually none); the items took what the store's
  // open read of every file handed over (docs/STATE.md §Start-up pass), as the backfill does below;
  // once both are done that is released.
  const prepared = (async () => {
    for (const namespace of runtime.config.federation.namespaces.keys()) await runtime.indexes.prepare(namespace);
  })();
  node.track(prepared);
  // The origin log (docs/FEDERATION_PROTOCOL.md §Origin log): checkpoints signed before it
  // existed go in first; a new head is offered to the witnesses at the next tick, failures retried.
  const originLog = originLogOf(runtime);
  // The outbox tick offers a head once; a witness that did not cosign it is asked again at the
  // anti-entropy interval, not every tick.
  let offeredSize = -1;
  let cosignedAll = true;
  let logWork: Promise<void> = Promise.resolve();
  /** One origin-log round at a time, on its own timers, so a slow witness delays no delivery or sync. */
  const serially = (fn: () => Promise<void>) => async () => {
    const next = logWork.then(fn);
    logWork = next.catch(() => undefined);
    await next;
  };
  const offerHead = async (retry: boolean) => {
    const l = await originLog.log();
    await l.refresh();
    if (l.size === offeredSize && !(retry && !cosignedAll)) return;
    offeredSize = l.size;
    const rounds = await originLog.requestCosignatures();
    cosignedAll = rounds.every((r) => r.outcome === "cosigned");
    for (const r of rounds) if (r.outcome !== "cosigned") log.warn("a witness did not cosign this node's log head", { witness: r.witness, outcome: r.outcome, detail: r.detail });
  };
  const backfilled = (async () => {
    const added = await backfillOriginLog(runtime.store, await originLog.log(), runtime.me.did, runtime.startupPass);
    if (added > 0) log.info("checkpoints added to this node's origin log", { added });
  })().catch((e: unknown) => log.error("origin log backfill failed", { error: (e as Error).message }));
  node.track(backfilled);
  node.track(Promise.allSettled([prepared, backfilled]).then(() => {
    log.info("start-up work done: reconcile items and origin log backfill", { versionsReadAtOpen: runtime.startupPass?.heard ?? 0, itemFilesRead: runtime.indexes.fileReads, indexesBuiltBeforeListening: builtBeforeListening });
    runtime.startupPass?.release();
  }));
  const timers = [
    // refresh: see batches and outbox entries that a CLI command wrote to the same state.
    every(OUTBOX_TICK_MS, async () => {
      await roster.poll();
      await runtime.store.refresh();
      await node.deliverOutbox();
    }, log, "outbox delivery"),
    every(OUTBOX_TICK_MS, serially(() => offerHead(false)), log, "origin log head offer"),
    every(runtime.config.federation.antiEntropy.intervalS * 1000, serially(async () => {
      await offerHead(true);
      for (const f of await watchOriginLogs(runtime)) log.error("origin log fork: two heads of one size signed by one origin, kept as evidence", { origin: f.origin, kind: f.kind });
      // Which stored checkpoints are in a witnessed head of their origin's log: attribution and `unlogged` (docs/FEDERATION_SEMANTICS.md §Origin logs).
      const seen = await collectLogInclusions(runtime);
      if (seen > 0) log.info("checkpoints seen in witnessed heads of their origins' logs", { added: seen });
    }), log, "origin log witnesses and fork watch"),
    // The first round runs at start: a node back from a crash or a restart catches up, and its
    // peers hear from it and end their back-off, without waiting one interval (docs/ANTI_ENTROPY.md §Rounds).
    every(runtime.config.federation.antiEntropy.intervalS * 1000, async () => {
      await roster.pull();
      await node.recheckPending();
      await node.adoptCheckpoints();
      await node.syncAll();
    }, log, "pending re-check and anti-entropy", 0),
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
        await runtime.saveReplay().catch((e: unknown) => log.warn("replay window not saved: the next start refuses each peer's messages signed up to what this run accepted", { error: (e as Error).message }));
        // Event streams first: an open one would keep the server from closing.
        explorer.close();
        await server.close();
        return clean;
      })();
      return stopping;
    },
  };
}
