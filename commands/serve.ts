/**
 * `vmsh-federation serve`: the federation daemon
 * (docs/FEDERATION_OPERATIONS.md §What runs where). Opens the node, starts lib/federation/daemon.ts on it, and wires signals and the
 * log: SIGTERM/SIGINT stop cleanly, SIGHUP reloads peers.yaml and routing.
 */
import { Command, Option } from "commander";
import { MAX_CERTIFICATE_FILE_BYTES, MAX_KEY_FILE_BYTES, readBoundedFile } from "../lib/bounded-file.js";
import { loadConfig } from "../lib/config/load.js";
import type { NodeConfig } from "../lib/config/types.js";
import { ConfigError } from "../lib/errors.js";
import { startDaemon } from "../lib/federation/daemon.js";
import { createLogger, type LogFormat, type Logger } from "../lib/federation/log.js";
import { openRuntime } from "../lib/federation/runtime.js";
import { VERSION } from "../lib/version.js";
import type { CommandContext } from "./context.js";
import { requireOwnDir } from "./dir-owner.js";
import { listenFailure, stateDirFailure } from "./environment-errors.js";
import { runLogged } from "./logged-run.js";
import { notifySystemd } from "./sd-notify.js";
import { releaseYoungGeneration } from "./young-generation.js";
import { planReload } from "../lib/config/reload.js";

export interface ServeOptions {
  logFormat: LogFormat;
}

async function readTls(config: NodeConfig): Promise<{ key: string; cert: string } | undefined> {
  const tls = config.federation.mesh.listen.tls;
  if (tls === undefined) return undefined;
  const read = async (path: string, key: string) => {
    const r = await readBoundedFile(path, key === "key" ? MAX_KEY_FILE_BYTES : MAX_CERTIFICATE_FILE_BYTES);
    if (!r.ok) throw new ConfigError([`federation.yaml: mesh.listen.tls.${key}: ${path} ${r.reason === "missing" ? "cannot be read: ENOENT" : r.why}`]);
    return r.text;
  };
  return { key: await read(tls.keyFile, "key"), cert: await read(tls.certFile, "cert") };
}

export async function serve(ctx: CommandContext, options: ServeOptions): Promise<number> {
  const log = createLogger(options.logFormat, ctx.io.stderr);
  // With --log-format json every line is a JSON object, a refusal to start included.
  return options.logFormat === "json" ? runLogged(() => runServe(ctx, log), log) : runServe(ctx, log);
}

async function runServe(ctx: CommandContext, log: Logger): Promise<number> {
  const { config, warnings } = await loadConfig(ctx.configDir, ctx.io.env);
  for (const w of warnings) log.warn(w);
  const tls = await readTls(config);
  await requireOwnDir(config.federation.mesh.stateDir, "state directory", `--config ${ctx.configDir} serve`);
  const runtime = await openRuntime(config).catch((e: unknown) => {
    throw stateDirFailure(e, config.federation.mesh.stateDir);
  });
  try {
    const { host, port } = config.federation.mesh.listen;
    const daemon = await startDaemon(runtime, { log, version: VERSION, ...(tls ? { tls } : {}) }).catch((e: unknown) => {
      throw listenFailure(e, host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`);
    });
    // Handlers go in before the "listening" line: a supervisor (or a test) that reads that
    // line may signal at once, and an unhandled SIGHUP would terminate the process.
    const stopped = new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        log.info(`${signal}: stopping`, { inFlight: "finishing" });
        void notifySystemd(["STOPPING=1"], ctx.io.env, log);
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
            const plan = planReload(runtime.config, next);
            daemon.reload(plan.effective);
            log.info("SIGHUP: reloaded peers.yaml, routing and limits", { peers: next.peers.size });
            if (plan.needsRestart.length > 0) log.warn("SIGHUP: not reloaded, restart to apply", { keys: plan.needsRestart.join(", ") });
          })
          .catch((e: unknown) => log.error("SIGHUP: configuration not reloaded, keeping the running one", { error: (e as Error).message }));
      };
      process.on("SIGTERM", onTerm);
      process.on("SIGINT", onInt);
      process.on("SIGHUP", onHup);
    });
    log.info(`node ${config.federation.mesh.nodeId}`);
    releaseYoungGeneration();
    log.info(`listening on ${daemon.url}`, { namespaces: [...config.federation.namespaces.keys()].join(","), peers: config.peers.size });
    await notifySystemd(["READY=1", `STATUS=listening on ${daemon.url}`], ctx.io.env, log);
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
taking messages, finish in-flight work and exit 0; SIGHUP reloads peers.yaml, routing and
limits (a removed peer or key is refused from then on) and names the edits that need a
restart (anchors.yaml, listen, key, state dir). Under systemd (Type=notify) it reports
READY=1 once listening. Exit 2: configuration or environment (port in use, unreadable key,
state directory not writable). A systemd unit is in config/.

Example:
  $ vmsh-federation --config /etc/vmsh serve --log-format json
`,
    )
    .action(async (opts: ServeOptions) => run((ctx) => serve(ctx, opts)));
}
