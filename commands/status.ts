/**
 * `vmsh-federation status`: who this node is, where it listens, what it federates and
 * with whom (SPEC §7).
 */
import { Command } from "commander";
import { formatKeyLine } from "../lib/identity/did.js";
import { keyFileTooOpen, readKeyFile } from "../lib/identity/key-file.js";
import type { CommandContext } from "./context.js";
import { table, type Printer } from "./output.js";

export interface StatusResult {
  node: string;
  verifyKey: string;
  listen: string;
  configDir: string;
  stateDir: string;
  namespaces: Array<{ name: string; peers: string[]; evmConfirmations: number; btcConfirmations: number }>;
  peers: Array<{ did: string; url: string; roles: string[]; namespaces: string[] }>;
  anchors: { evm: string[]; btc: string[]; rfc3161: boolean };
}

export async function status(ctx: CommandContext): Promise<StatusResult> {
  const config = await ctx.loadConfig();
  const { mesh } = config.federation;
  const key = await readKeyFile(mesh.keyFile);
  if (await keyFileTooOpen(mesh.keyFile)) ctx.out.warn(`${mesh.keyFile}: readable by group or others; run chmod 600 on it`);
  const namespaces = [...config.federation.namespaces.values()].map((ns) => ({
    name: ns.name,
    peers: ns.peers,
    evmConfirmations: ns.verify.evmConfirmations,
    btcConfirmations: ns.verify.btcConfirmations,
  }));
  const peers = [...config.peers.values()].map((p) => ({
    did: p.did,
    url: p.url,
    roles: [...p.roles].sort(),
    namespaces: namespaces.filter((n) => n.peers.includes(p.did)).map((n) => n.name),
  }));
  return {
    node: mesh.nodeId,
    verifyKey: formatKeyLine(key.publicKeyBytes),
    listen: `${mesh.listen.host}:${mesh.listen.port}`,
    configDir: config.dir,
    stateDir: mesh.stateDir,
    namespaces,
    peers,
    anchors: {
      evm: [...config.anchors.eip155.keys()].map((id) => `eip155:${id}`),
      btc: [...config.anchors.btc.keys()].map((n) => `btc:${n}`),
      rfc3161: config.anchors.rfc3161 !== undefined,
    },
  };
}

export function printStatus(out: Printer, r: StatusResult): void {
  if (out.json) return out.document(r);
  out.line(`[federation] node ${out.color.bold(r.node)}`);
  out.line(`  key:     ${r.verifyKey}`);
  out.line(`  listen:  ${r.listen}`);
  out.line(`  config:  ${r.configDir}`);
  out.line(`  state:   ${r.stateDir}`);
  const rails = [...r.anchors.btc, ...r.anchors.evm, ...(r.anchors.rfc3161 ? ["rfc3161"] : [])];
  out.line(`  verifiers: ${rails.length > 0 ? rails.join(", ") : out.color.yellow("none configured (anchors stay pending)")}`);
  out.line();
  out.line(table(["namespace", "peers", "evm conf.", "btc conf."], r.namespaces.map((n) => [n.name, String(n.peers.length), String(n.evmConfirmations), String(n.btcConfirmations)])));
  out.line();
  if (r.peers.length === 0) out.line("No peers in peers.yaml yet.");
  else out.line(table(["peer", "url", "roles", "namespaces"], r.peers.map((p) => [p.did, p.url, p.roles.join(","), p.namespaces.join(",") || "-"])));
}

export function statusCommand(run: (fn: (ctx: CommandContext) => Promise<number>) => Promise<void>): Command {
  return new Command("status")
    .description("show this node's identity, listen address, namespaces and peers")
    .addHelpText(
      "after",
      `
Example:
  $ vmsh-federation status
  $ vmsh-federation status --json | jq .peers\n`,
    )
    .action(async () =>
      run(async (ctx) => {
        printStatus(ctx.out, await status(ctx));
        return 0;
      }),
    );
}
