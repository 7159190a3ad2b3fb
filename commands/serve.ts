/**
 * `vmsh-federation serve`: the federation daemon
 * (docs/FEDERATION_OPERATIONS.md §What runs where). Opens the node, starts lib/federation/daemon.ts on it, and wires signals and the
 * log: SIGTERM/SIGINT stop cleanly, SIGHUP reloads peers.yaml and routing.
 */
import { readFile } from "node:fs/promises";
import { Command, Option } from "commander";
import { loadConfig } from "../lib/config/load.js";
import type { NodeConfig } from "../lib/config/types.js";
import { ConfigError } from "../lib/errors.js";
import { startDaemon } from "../lib/federation/daemon.js";
import { createLogger, type LogFormat } from "../lib/federation/log.js";
import { openRuntime } from "../lib/federation/runtime.js";
import { VERSION } from "../lib/version.js";
import type { CommandContext } from "./context.js";

export interface ServeOptions {
  logFormat: LogFormat;
}

async function readTls(config: NodeConfig): Promise<{ key: string; cert: string } | undefined> {
  const tls = config.federation.mesh.listen.tls;
  if (tls === undefined) return undefined;
  const read = (path: string, key: string) =>
    readFile(path, "utf8").catch((cause: unknown) => {
      throw new ConfigError([`federation.yaml: mesh.listen.tls.${key}: ${path} cannot be read: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`], { cause });
    });
  return { key: await read(tls.keyFile, "key"), cert: await read(tls.certFile, "cert") };
}

export async function serve(ctx: CommandContext, options: ServeOptions): Promise<number> {
  const log = createLogger(options.logFormat, ctx.io.stderr);
  const config = await ctx.loadConfig();
  const tls = await readTls(config);
  const runtime = await openRuntime(config);
  try {
    const daemon = await startDaemon(runtime, { log, version: VERSION, ...(tls ? { tls } : {}) });
    // Handlers go in before the "listening" line: a supervisor (or a test) that reads that
    // line may signal at once, and an unhandled SIGHUP would terminate the process.
    const stopped = new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info(`${signal}: stopping`, { inFlight: "finishing" });
        process.off("SIGTERM", onTerm);
        process.off("SIGINT", onInt);
        process.off("SIGHUP", onHup);
        void daemon.stop().then((clean) => {
          if (!clean) log.warn("stopped before all background work finished; it resumes from the outbox and the next announce or sync");
          resolve();
        });
      };
      const onTerm = () => stop("SIGTERM");
      const onInt = () => stop("SIGINT");
      const onHup = () => {
        loadConfig(ctx.configDir, ctx.io.env)
          .then(({ config: next, warnings }) => {
            for (const w of warnings) log.warn(w);
            daemon.reload(next);
            log.info("SIGHUP: reloaded peers.yaml and routing", { peers: next.peers.size });
          })
          .catch((e: unknown) => log.error("SIGHUP: configuration not reloaded, keeping the running one", { error: (e as Error).message }));
      };
      process.on("SIGTERM", onTerm);
      process.on("SIGINT", onInt);
      process.on("SIGHUP", onHup);
    });
    log.info(`node ${config.federation.mesh.nodeId}`);
    log.info(`listening on ${daemon.url}`, { namespaces: [...config.federation.namespaces.keys()].join(","), peers: config.peers.size });
    await stopped;
    log.info("stopped");
    return 0;
  } finally {
    await runtime.close();
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
