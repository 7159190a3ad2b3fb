/**
 * `vmsh-federation trust export [--namespace NS]`: writes this node's trust policy for proof
 * files as a standalone trust file on stdout (docs/EXPLORER.md §Trust files): origins, witnesses
 * and k per namespace, and the TSA roots. A third party needs it and a proof file, nothing else.
 */
import { Command } from "commander";
import { nodeTrustPolicy } from "../lib/federation/trust-policy.js";
import { readKeyFile } from "../lib/identity/key-file.js";
import { UsageError, VmshError } from "../lib/errors.js";
import { statedPolicy, trustFile, type TrustFile } from "../lib/proof/trust.js";
import type { CommandContext } from "./context.js";
import { requireNamespace } from "./node.js";

/**
 * The trust file of this node's configuration.
 * @example const file = await exportTrust(ctx, { namespace: "dao:vaultmesh" })
 */
export async function exportTrust(ctx: CommandContext, options: { namespace?: string }, now: () => number = () => Math.floor(Date.now() / 1000)): Promise<TrustFile> {
  const config = await ctx.loadConfig();
  if (options.namespace !== undefined) requireNamespace(config, options.namespace);
  const key = await readKeyFile(config.federation.mesh.keyFile);
  const did = config.federation.mesh.nodeId;
  const policy = nodeTrustPolicy(config, { did, publicKey: key.publicKey }, options.namespace);
  try {
    statedPolicy(policy, did);
  } catch (e) {
    // A file no reader accepts is not written (docs/EXPLORER.md §Trust files).
    if (e instanceof VmshError) throw new UsageError(`the trust policy of ${ctx.configDir} (peers.yaml keys, federation.yaml origins and quorum) cannot be written as a trust file: ${e.message}`, { cause: e });
    throw e;
  }
  return trustFile(policy, did, now());
}

export function trustCommand(run: (fn: (ctx: CommandContext) => Promise<number>) => Promise<void>): Command {
  const trust = new Command("trust")
    .description("the trust policy a stranger checks proof files against")
    .addHelpText("after", "\nExample:\n  $ vmsh-federation trust export --namespace dao:vaultmesh > vaultmesh-trust.json\n");
  trust
    .command("export")
    .description("write this node's trust file (origins, witnesses and k per namespace, TSA roots) to stdout")
    .option("--namespace <ns>", "only this namespace")
    .addHelpText(
      "after",
      `
The file is JSON, { "type": "vmsh-trust", "v": 1, ... } (docs/EXPLORER.md §Trust files). It
holds public keys and certificates only. The same keys check a proof's origin-log part: an
origin's key signs its log heads, and a namespace's quorum witnesses and k count the heads'
cosignatures. Hand it, with a proof file, to whoever checks proofs:
  $ vmsh-federation trust export --namespace dao:vaultmesh > vaultmesh-trust.json
  $ vmsh-federation verify-proof proof-3f2a9c.json --trust vaultmesh-trust.json
`,
    )
    .action(async (opts: { namespace?: string }) =>
      run(async (ctx) => {
        ctx.out.document(await exportTrust(ctx, opts.namespace === undefined ? {} : { namespace: opts.namespace }));
        return 0;
      }),
    );
  return trust;
}
