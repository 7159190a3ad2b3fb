/**
 * `vmsh-federation status`: who this node is, where it listens, what it federates and
 * with whom (README "The command line").
 */
import { Command } from "commander";
import { formatKeyLine } from "../lib/identity/did.js";
import type { NodeConfig } from "../lib/config/types.js";
import { keyFileTooOpen, readKeyFile } from "../lib/identity/key-file.js";
import type { NodeKey } from "../lib/identity/keys.js";
import { peerSummary } from "../lib/federation/peer-health.js";
import type { PeerClient } from "../lib/federation/peer-client.js";
import { lastSyncs } from "../lib/federation/sync-state.js";
import { witnessKeysFor, type VersionQuorum } from "../lib/federation/witness.js";
import { conflictShapes, quorumReport, type ContestedRoot, type WitnessFault } from "../lib/federation/quorum-report.js";
import { printContests, printQuorum } from "./quorum-output.js";
import { revokedVersions, rosterView, type RevokedVersion, type RosterView } from "../lib/federation/roster-view.js";
import type { Roster } from "../lib/roster/document.js";
import type { AppliedRoster } from "../lib/roster/effective.js";
import { openStore, type StoreCounts } from "../lib/store/index.js";
import type { CommandContext } from "./context.js";
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

  /** Local counts from the state directory (null when it could not be read: see stateError); `contested`: roots claimed twice (docs/FEDERATION_SEMANTICS.md §6. Threat model); `unlogged`: versions whose checkpoint is in no witnessed head of its origin's log (§Origin logs). */
  counts: (StoreCounts & { contested: number; unlogged: number }) | null;
  /** Why the state directory could not be read (a corrupted file is named); absent when it was. */
  stateError?: string;
  equivocations: Array<{ namespace: string; batchId: string; roots: string[] }>;
  /** Quorum state of every stored batch version of a configured namespace (docs/FEDERATION_SEMANTICS.md §8. Quorum). */
  quorum: VersionQuorum[];
  /** Contested roots of the configured namespaces, each claim with its attribution. */
  contested: ContestedRoot[];
  /** Cosignatures of checkpoints no origin signed: shown, never blocking finality. */
  witnessFaults: WitnessFault[];
  /** This node's origin log (docs/FEDERATION_PROTOCOL.md §Origin log); absent when it could not be read. */
  originLog?: { origin: string; size: number; witnessedSize: number; witnesses: string[]; forks: number };
  /** DIDs of peers routed for a namespace whose /health did not answer: the exit code is then 1. */
  unreachable: string[];
  /** The roster in force (docs/FEDERATION_OPERATIONS.md §Running a federation with a roster); absent without one. */
  roster?: RosterView;
  /** Stored versions whose origin a roster revoked after they were signed. */
  revoked: RevokedVersion[];
}

/** How long status waits for a peer's /health. */
const HEALTH_TIMEOUT_MS = 3_000;

export async function status(ctx: CommandContext): Promise<StatusResult> {
  // Only the key and a client: the whole node runtime (outbox, verifiers, indexes) is not loaded
  // for a status (docs/BENCHMARKS.md, command line start). The state is opened below on its
  // own, read-only: a state that cannot be read is reported, not fatal.
  const base = await ctx.loadConfig();
  // The roster in force, applied as every command applies it (docs/FEDERATION_OPERATIONS.md §Running a federation with a roster).
  const history = base.federation.governance === undefined ? [] : (await (await import("../lib/roster/roster-files.js")).readRosters(base.federation.mesh.stateDir, base.federation.governance)).valid;
  const inForce = history.at(-1);
  const applied = inForce === undefined ? undefined : (await import("../lib/roster/effective.js")).applyRoster(base, inForce);
  const config = applied?.config ?? base;
  const key = await readKeyFile(config.federation.mesh.keyFile);
  // The outbound client (and its HTTP library) only when there is a peer to ask.
  const client = config.peers.size === 0 ? undefined : new (await import("../lib/federation/peer-client.js")).PeerClient({ connectTimeoutMs: HEALTH_TIMEOUT_MS, headersTimeoutMs: HEALTH_TIMEOUT_MS });
  try {
    return await statusOf(ctx, config, key, client, { history, ...(inForce === undefined ? {} : { inForce }), ...(applied === undefined ? {} : { applied }) });
  } finally {
    await client?.close();
  }
}

/** The rosters held, lowest serial first, the one in force and what it made of this node's configuration. */
interface RosterState {
  history: Roster[];
  inForce?: Roster;
  applied?: AppliedRoster;
}

async function statusOf(ctx: CommandContext, config: NodeConfig, key: NodeKey, client: PeerClient | undefined, rosters: RosterState): Promise<StatusResult> {
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
  const equivocations = store?.equivocations().map((e) => ({ namespace: e.namespace, batchId: e.batchId, roots: [...e.batchRoots] })) ?? [];
  const quorum: VersionQuorum[] = [];
  const contested: ContestedRoot[] = [];
  const witnessFaults: WitnessFault[] = [];
  let unlogged = 0;
  if (store !== undefined) {
    // Without a quorum policy this reads only the index; with one, each version's file for its cosignatures.
    const keys = witnessKeysFor(config, { did: mesh.nodeId, publicKey: key.publicKey });
    for (const ns of namespaces) {
      const report = await quorumReport(store, config, keys, mesh.nodeId, ns.name);
      quorum.push(...report.quorum);
      contested.push(...report.contested);
      witnessFaults.push(...report.witnessFaults);
      unlogged += report.unlogged.length;
      // One origin's two shapes of one root: its equivocation, both signed checkpoints kept.
      for (const e of await conflictShapes(store, ns.name)) {
        const roots = [e.kept.batchRoot];
        if (!equivocations.some((x) => x.namespace === ns.name && x.batchId === e.kept.batchId && x.roots.includes(e.kept.batchRoot))) equivocations.push({ namespace: ns.name, batchId: e.kept.batchId, roots });
      }
    }
  }
  const counts = store === undefined ? null : { ...store.counts(), contested: contested.length, unlogged };
  const revoked = store === undefined ? [] : await revokedVersions(store, rosters.history, config.federation.namespaces.keys());
  const roster = rosterView(rosters.inForce, rosters.applied, Math.floor(Date.now() / 1000));
  await store?.close();
  const originLog = stateError === undefined ? await (await import("../lib/federation/origin-log.js")).originLogService(() => config, key, () => Math.floor(Date.now() / 1000)).summary().catch(() => undefined) : undefined;
  const peers: StatusResult["peers"] = client === undefined ? [] : await Promise.all([...config.peers.values()].map((p) => peerSummary(client, p, namespaces, syncs.get(p.did) ?? {}, HEALTH_TIMEOUT_MS)));
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
    contested,
    witnessFaults,
    ...(originLog === undefined ? {} : { originLog }),
    unreachable: peers.filter((p) => !p.reachable && p.namespaces.length > 0).map((p) => p.did),
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
    if (c.unlogged > 0) out.line(out.color.yellow(`Unlogged: ${c.unlogged} checkpoints not seen in a witnessed head of their origin's log`));
  }
  if (r.originLog !== undefined && r.originLog.size > 0) out.line(`Origin log: ${r.originLog.size} checkpoints, witnessed up to ${r.originLog.witnessedSize}${r.originLog.witnesses.length > 0 ? ` by ${r.originLog.witnesses.length} witnesses` : ""}`);
  if (r.originLog !== undefined && r.originLog.forks > 0) out.line(out.color.red(`Origin log forks: ${r.originLog.forks} (GET /log/forks)`));
  if (r.unreachable.length > 0) out.line(out.color.red(`Unreachable routed peers: ${r.unreachable.join(", ")}`));
  for (const v of r.revoked) out.line(out.color.yellow(`revoked-origin: ${v.namespace} batch ${v.batchId} root ${v.batchRoot} by ${v.origin} (revoked by roster serial ${v.revokedBy})`));
  for (const e of r.equivocations) out.line(out.color.red(`Equivocation: ${e.namespace} batch ${e.batchId} has roots ${e.roots.join(", ")}`));
  printContests(out, r.contested, r.witnessFaults);
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
node verified it) and lists each one not final with what it waits for. Roots claimed by
two origins, or by one origin in two shapes, are listed as contested (--json .contested,
.counts.contested), each claim with its attribution, and cosignatures of checkpoints no
origin signed as witness faults (.witnessFaults). Checkpoints serve has not seen in a
witnessed head of their origin's log are counted as unlogged (.counts.unlogged), and this
node's own origin log is shown (.originLog: size, witnessed size, witnesses, forks).
Exit 1 when the state cannot be read or a peer routed for a namespace does not answer
(--json lists them in "unreachable"); exit 2 when anchors.yaml names a TSA trust bundle
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
        // A routed peer that does not answer is a failed peer (README "The command line"), as is
        // state that cannot be read; a verifier configuration serve refuses is exit 2, as serve.
        return r.stateError === undefined && r.unreachable.length === 0 ? 0 : 1;
      }),
    );
}
