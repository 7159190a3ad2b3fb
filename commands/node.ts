/**
 * Running a command on this node: load the configuration, open the node's runtime
 * (lib/federation/runtime.ts), run, and close it whatever happens.
 */
import type { NodeConfig } from "../lib/config/types.js";
import { openRuntime, type NodeRuntime, type RuntimeOptions } from "../lib/federation/runtime.js";
import { UsageError } from "../lib/errors.js";
import type { CommandContext } from "./context.js";
import { requireOwnDir } from "./dir-owner.js";

/** Fails with exit 2 when `namespace` is not one this node federates. */
export function requireNamespace(config: NodeConfig, namespace: string): void {
  if (!config.federation.namespaces.has(namespace)) {
    const known = [...config.federation.namespaces.keys()].join(", ") || "none";
    throw new UsageError(`--namespace: ${namespace} is not in federation.yaml namespaces (configured: ${known})`);
  }
}

/**
 * Loads the config, opens the node, runs `fn`, and closes the node whatever happens.
 * @example await withRuntime(ctx, async (node) => node.store.counts())
 */
export async function withRuntime<T>(ctx: CommandContext, fn: (node: NodeRuntime) => Promise<T>, options: RuntimeOptions = {}): Promise<T> {
  const config = await ctx.loadConfig();
  // A command run as another user than the state directory's owner would leave files the daemon cannot write.
  if ((options.state ?? "read-write") === "read-write") await requireOwnDir(config.federation.mesh.stateDir, "state directory", `--config ${ctx.configDir} …`);
  const runtime = await openRuntime(config, options);
  try {
    return await fn(runtime);
  } finally {
    await runtime.close();
  }
}
