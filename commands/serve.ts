/**
 * `vmsh-federation serve`: the federation daemon (SPEC §3, §7). Serves the endpoints,
 * pulls and relays announced batches, delivers the outbox, re-checks pending anchors, and
 * stops cleanly on SIGTERM/SIGINT; SIGHUP reloads peers.yaml and routing.
 */
import { readFile } from "node:fs/promises";
import { Command, Option } from "commander";
import { verifierFor } from "../lib/anchors/endpoints.js";
import { loadConfig } from "../lib/config/load.js";
import type { NodeConfig } from "../lib/config/types.js";
import { ConfigError } from "../lib/errors.js";
import { readKeyFile } from "../lib/identity/key-file.js";
import { createLogger, type LogFormat, type Logger } from "../lib/federation/log.js";
import { FederationNode } from "../lib/federation/node.js";
import { Outbox } from "../lib/federation/outbox.js";
import { resignWith } from "../lib/federation/outbox-refresh.js";
import { PeerClient } from "../lib/federation/peer-client.js";
import { startServer, type RunningServer } from "../lib/http/server.js";
import { openStore } from "../lib/store/index.js";
import { VERSION } from "../lib/version.js";
import type { CommandContext } from "./context.js";

export interface ServeOptions {
  logFormat: LogFormat;
}

/** How often queued announces are retried (each entry keeps its own backoff). */
const OUTBOX_TICK_MS = 2_000;
/** How long SIGTERM waits for in-flight work before closing anyway (systemd's default stop timeout is 90 s; we promise 10 s). */
const DRAIN_MS = 7_000;

async function readTls(config: NodeConfig): Promise<{ key: string; cert: string } | undefined> {
  const tls = config.federation.mesh.listen.tls;
  if (tls === undefined) return undefined;
  const read = (path: string, key: string) =>
    readFile(path, "utf8").catch((cause: unknown) => {
      throw new ConfigError([`federation.yaml: mesh.listen.tls.${key}: ${path} cannot be read: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`], { cause });
    });
  return { key: await read(tls.keyFile, "key"), cert: await read(tls.certFile, "cert") };
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

export async function serve(ctx: CommandContext, options: ServeOptions): Promise<number> {
  const log = createLogger(options.logFormat, ctx.io.stderr);
  const config = await ctx.loadConfig();
  const key = await readKeyFile(config.federation.mesh.keyFile);
  const tls = await readTls(config);
  const store = await openStore(config.federation.mesh.stateDir);
  const client = new PeerClient();
  const outbox = new Outbox(store, client, { refresh: resignWith(key.privateKey) });
  let server: RunningServer | undefined;
  try {
    const node = new FederationNode({ config, key, store, log, client, outbox, verifiers: await verifierFor(config), version: VERSION });
    await node.restoreReplay();
    const { host, port } = config.federation.mesh.listen;
    server = await startServer({ node, log, version: VERSION, ...(tls ? { tls } : {}) }, host, port);
    const timers: Array<() => void> = [];
    // Handlers go in before the "listening" line: a supervisor (or a test) that reads that
    // line may signal at once, and an unhandled SIGHUP would terminate the process.
    const stopped = new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info(`${signal}: stopping`, { inFlight: "finishing" });
        process.off("SIGTERM", onTerm);
        process.off("SIGINT", onInt);
        process.off("SIGHUP", onHup);
        for (const t of timers) t();
        void node
          .drain(DRAIN_MS)
          .then(async (clean) => {
            if (!clean) log.warn("stopped before all background work finished; it resumes from the outbox and the next announce or sync");
            await node.saveReplay().catch((e: unknown) => log.warn("replay window not saved: the next start refuses messages signed before it", { error: (e as Error).message }));
          })
          .then(resolve);
      };
      const onTerm = () => stop("SIGTERM");
      const onInt = () => stop("SIGINT");
      const onHup = () => {
        loadConfig(ctx.configDir, ctx.io.env)
          .then(({ config: next, warnings }) => {
            for (const w of warnings) log.warn(w);
            node.reload(next);
            void client.retain([...next.peers.values()]);
            log.info("SIGHUP: reloaded peers.yaml and routing", { peers: next.peers.size });
          })
          .catch((e: unknown) => log.error("SIGHUP: configuration not reloaded, keeping the running one", { error: (e as Error).message }));
      };
      process.on("SIGTERM", onTerm);
      process.on("SIGINT", onInt);
      process.on("SIGHUP", onHup);
    });
    timers.push(
      // refresh: see batches and outbox entries that a CLI command wrote to the same state.
      every(OUTBOX_TICK_MS, async () => {
        await store.refresh();
        await node.deliverOutbox();
      }, log, "outbox delivery"),
      every(config.federation.antiEntropy.intervalS * 1000, async () => {
        await node.recheckPending();
        await node.adoptCheckpoints();
        await node.syncAll();
      }, log, "pending re-check and anti-entropy"),
    );
    log.info(`node ${config.federation.mesh.nodeId}`);
    log.info(`listening on ${server.url}`, { namespaces: [...config.federation.namespaces.keys()].join(","), peers: config.peers.size });
    await stopped;
    log.info("stopped");
    return 0;
  } finally {
    await server?.close();
    await client.close();
    await store.close();
  }
}

export function serveCommand(run: (fn: (ctx: CommandContext) => Promise<number>) => Promise<void>): Command {
  return new Command("serve")
    .description("run the federation daemon: endpoints, gossip, outbox, anti-entropy, pending re-checks")
    .addOption(new Option("--log-format <format>", "human lines, or one JSON object per line for journald").choices(["human", "json"]).default("human"))
    .addHelpText(
      "after",
      `
Listens on mesh.listen.http of federation.yaml and logs to stderr. SIGTERM or SIGINT stop
taking messages, finish in-flight work and exit 0; SIGHUP reloads peers.yaml and routing
(a removed peer or key is refused from then on). A systemd unit is in config/.

Example:
  $ vmsh-federation --config /etc/vmsh serve --log-format json
`,
    )
    .action(async (opts: ServeOptions) => run((ctx) => serve(ctx, opts)));
}
