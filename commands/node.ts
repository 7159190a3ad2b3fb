/**
 * What the commands that touch state share: the configuration, the store opened on the
 * node's state_dir, and an import context with this node's verifiers.
 */
import { verifierFor } from "../lib/anchors/endpoints.js";
import { limitConcurrency } from "../lib/anchors/limit.js";
import type { NodeConfig } from "../lib/config/types.js";
import { UsageError } from "../lib/errors.js";
import type { ImportContext } from "../lib/pipeline/import.js";
import { openStore, type Store } from "../lib/store/index.js";
import type { CommandContext } from "./context.js";
import { requireOwnDir } from "./dir-owner.js";

/** Endpoint calls in flight at once, per command run. */
export const VERIFY_CONCURRENCY = 4;

export interface NodeSession {
  config: NodeConfig;
  store: Store;
  /** An import context bound to one namespace's policy. */
  importContext(namespace: string): ImportContext;
}

/** Fails with exit 2 when `namespace` is not one this node federates. */
export function requireNamespace(config: NodeConfig, namespace: string): void {
  if (!config.federation.namespaces.has(namespace)) {
    const known = [...config.federation.namespaces.keys()].join(", ") || "none";
    throw new UsageError(`--namespace: ${namespace} is not in federation.yaml namespaces (configured: ${known})`);
  }
}

/**
 * Loads the config, opens the store, runs `fn`, and closes the store whatever happens.
 * @example await withNode(ctx, async ({ store }) => store.counts())
 */
export async function withNode<T>(ctx: CommandContext, fn: (node: NodeSession) => Promise<T>, options: { readOnly?: boolean } = {}): Promise<T> {
  const config = await ctx.loadConfig();
  const verifiers = await verifierFor(config);
  if (!options.readOnly) await requireOwnDir(config.federation.mesh.stateDir, "state directory", `--config ${ctx.configDir} …`);
  const store = await openStore(config.federation.mesh.stateDir, options.readOnly ? { readOnly: true } : {});
  const limit = limitConcurrency(VERIFY_CONCURRENCY);
  try {
    return await fn({
      config,
      store,
      importContext: (namespace) => ({ store, verify: verifiers(namespace), limit, now: () => Math.floor(Date.now() / 1000) }),
    });
  } finally {
    await store.close();
  }
}
