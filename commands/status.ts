/**
 * `vmsh-federation status`: who this node is, where it listens, what it federates and
 * with whom (README "The command line").
 */
import { Command } from "commander";
import { formatKeyLine } from "../lib/identity/did.js";
import { keyFileTooOpen } from "../lib/identity/key-file.js";
import { peerSummary } from "../lib/federation/peer-health.js";
import type { NodeRuntime } from "../lib/federation/runtime.js";
import { lastSyncs } from "../lib/federation/sync-state.js";
import { quorumOfVersions, witnessKeysFor, type VersionQuorum } from "../lib/federation/witness.js";
import { printQuorum } from "./quorum-output.js";
import { revokedVersions, rosterView, type RevokedVersion, type RosterView } from "../lib/federation/roster-view.js";
import { openStore, type StoreCounts } from "../lib/store/index.js";
import type { CommandContext } from "./context.js";
import { withRuntime } from "./node.js";
import { table, type Printer } from "./output.js";

export interface StatusResult {
  node: string;
  verifyKey: string;
  listen: string;
  configDir: string;
  stateDir: string;
  namespaces: Array<{ name: string; peers: string[]; evmConfirmations: number; btcConfirmations: number; quorum?: { k: number; witnesses: string[] } }>;
  peers: Array<{
    did: string;
    url: string;
    roles: string[];
    namespaces: string[];
    /** GET /health answered 200 within the timeout. */
    reachable: boolean;
    latencyMs?: number;
    /** The peer's own DID from /health, or why it was not reachable. */
    detail: string;
    /** Unix seconds of the last successful sync with this peer, per namespace. */
    lastSync: Record<string, number>;
  }>;
  anchors: { evm: string[]; btc: string[]; rfc3161: boolean };

  /** Local counts from the state directory (null when it could not be read: see stateError). */
  counts: StoreCounts | null;
  /** Why the state directory could not be read (a corrupted file is named); absent when it was. */
  stateError?: string;
  equivocations: Array<{ namespace: string; batchId: string; roots: string[] }>;
  /** Quorum state of every stored batch version of a configured namespace (docs/FEDERATION_SEMANTICS.md §8. Quorum). */
  quorum: VersionQuorum[];
  /** The roster in force (docs/FEDERATION_OPERATIONS.md §Running a federation with a roster); absent without one. */
  roster?: RosterView;
  /** Stored versions whose origin a roster revoked after they were signed. */
  revoked: RevokedVersion[];
}

/** How long status waits for a peer's /health. */
const HEALTH_TIMEOUT_MS = 3_000;

export async function status(ctx: CommandContext): Promise<StatusResult> {
  // The state is opened below on its own, read-only: a state that cannot be read is reported, not fatal.
  return withRuntime(ctx, (node) => statusOf(ctx, node), { state: "none", client: { connectTimeoutMs: HEALTH_TIMEOUT_MS, headersTimeoutMs: HEALTH_TIMEOUT_MS } });
}

async function statusOf(ctx: CommandContext, node: NodeRuntime): Promise<StatusResult> {
  const { config, key } = node;
  const { mesh } = config.federation;
  if (await keyFileTooOpen(mesh.keyFile)) ctx.out.warn(`${mesh.keyFile}: readable by group or others; run chmod 600 on it`);
  const namespaces = [...config.federation.namespaces.values()].map((ns) => ({
    name: ns.name,
    peers: ns.peers,
    evmConfirmations: ns.verify.evmConfirmations,
    btcConfirmations: ns.verify.btcConfirmations,
    ...(ns.quorum === undefined ? {} : { quorum: { k: ns.quorum.k, witnesses: [...ns.quorum.witnesses] } }),
  }));
  let stateError: string | undefined;
  const store = await openStore(mesh.stateDir, { readOnly: true, receiptIndex: "lazy" }).catch((e: unknown) => {
    stateError = (e as Error).message;
    return undefined;
  });
  const syncs = store === undefined ? new Map<string, Record<string, number>>() : await lastSyncs(store);
  const counts = store?.counts() ?? null;
  const equivocations = store?.equivocations().map((e) => ({ namespace: e.namespace, batchId: e.batchId, roots: [...e.batchRoots] })) ?? [];
  const quorum: VersionQuorum[] = [];
  if (store !== undefined) {
    // Without a quorum policy this reads only the index; with one, each version's file for its cosignatures.
    const keys = witnessKeysFor(config, { did: mesh.nodeId, publicKey: key.publicKey });
    for (const ns of namespaces) quorum.push(...(await quorumOfVersions(store, config, keys, mesh.nodeId, ns.name)));
  }
  const revoked = store === undefined ? [] : await revokedVersions(store, node.rosterHistory, config.federation.namespaces.keys());
  const roster = rosterView(node.roster, node.rosterApplied, node.now());
  await store?.close();
  const peers: StatusResult["peers"] = await Promise.all(
      [...config.peers.values()].map(async (p) => {
        const row: StatusResult["peers"][number] = await peerSummary(node.client, p, namespaces, syncs.get(p.did) ?? {}, HEALTH_TIMEOUT_MS);
        return row;
      }),
    );
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
    counts,
    equivocations,
    quorum,
    revoked,
    ...(roster === undefined ? {} : { roster }),
    ...(stateError === undefined ? {} : { stateError }),
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
  if (r.roster !== undefined) {
    const x = r.roster;
    out.line(`roster: serial ${x.serial} of ${x.federation}, ${x.members.length} members${x.expired ? out.color.red(" (EXPIRED: ask the governance key holders for a new serial)") : ""}${x.denied.length > 0 ? `; denied here: ${x.denied.map((d) => `${d.did} (${d.reason})`).join(", ")}` : ""}`);
    for (const route of x.routes) out.line(`  ${route.namespace}${route.pattern === undefined ? "" : ` (${route.pattern})`}: ${route.peers.length} peers${Object.keys(route.routing).length > 0 ? ` ${JSON.stringify(route.routing)}` : ""}`);
  }
  out.line();
  if (r.peers.length === 0) out.line("No peers in peers.yaml yet.");
  else {
    const ago = (ts: number | undefined) => (ts === undefined ? "never" : `${Math.max(0, Math.floor(Date.now() / 1000) - ts)} s ago`);
    out.line(
      table(
        ["peer", "reachable", "latency", "roles", "last sync"],
        r.peers.map((p) => [
          p.did,
          p.reachable ? out.color.green("yes") : out.color.red(`no (${p.detail})`),
          p.latencyMs === undefined ? "-" : `${p.latencyMs} ms`,
          p.roles.join(","),
          p.namespaces.map((n) => `${n}: ${ago(p.lastSync[n])}`).join("; ") || "not routed",
        ]),
      ),
    );
  }
  out.line();
  if (r.stateError !== undefined) out.line(out.color.red(`State not read: ${r.stateError}`));
  else if (r.counts === null || r.counts.batches === 0) out.line("Nothing stored yet.");
  else {
    const c = r.counts;
    out.line(`Stored: ${c.batches} batches, ${c.receipts} receipts; anchors ${c.anchors.verified} verified, ${c.anchors.pending} pending, ${c.anchors.rejected} rejected`);
  }
  for (const v of r.revoked) out.line(out.color.yellow(`revoked-origin: ${v.namespace} batch ${v.batchId} root ${v.batchRoot} by ${v.origin} (revoked by roster serial ${v.revokedBy})`));
  for (const e of r.equivocations) out.line(out.color.red(`Equivocation: ${e.namespace} batch ${e.batchId} has roots ${e.roots.join(", ")}`));
  // Final versions are counted, the rest listed with what they wait for (--json lists all).
  printQuorum(out, r.quorum, { onlyNotFinal: true });
}

export function statusCommand(run: (fn: (ctx: CommandContext) => Promise<number>) => Promise<void>): Command {
  return new Command("status")
    .description("show this node's identity, namespaces, peers (reachable? latency, last sync) and what it stores")
    .addHelpText(
      "after",
      `
Each peer's GET /health is asked with a 3 s timeout. Counts come from the state
directory, read without taking any lock. The quorum line counts batch versions final,
awaiting and disputed (namespaces.<ns>.quorum; without it a batch is final once this
node verified it) and lists each one not final with what it waits for.
Exit 1 when the state cannot be read; exit 2 when anchors.yaml names a TSA trust bundle
serve would refuse to start with.

Example:
  $ vmsh-federation status
  $ vmsh-federation status --json | jq .peers
  $ vmsh-federation status --json | jq '.quorum[] | select(.state != "final")'\n`,
    )
    .action(async () =>
      run(async (ctx) => {
        const r = await status(ctx);
        printStatus(ctx.out, r);
        // Unreachable peers are reported, not failures; state that cannot be read is, and a
        // verifier configuration serve refuses is a configuration error (exit 2, as serve).
        return r.stateError === undefined ? 0 : 1;
      }),
    );
}
