/**
 * `vmsh-federation sync`: anti-entropy now (docs/ANTI_ENTROPY.md). Reconciles a namespace with every
 * serving routed peer (or one), fetches what this node lacks, imports it through the same
 * pipeline as everything else, and announces to each peer what it lacks.
 */
import { Command } from "commander";
import { guardCursor } from "./cursor-guard.js";
import { isDigest } from "../lib/digest.js";
import { UsageError } from "../lib/errors.js";
import { fetchRange, syncWithPeer, type PeerSyncReport } from "../lib/federation/sync.js";
import { announceToPeers } from "../lib/federation/gossip.js";
import { cosignChanged } from "../lib/federation/witness.js";
import { LIMITS } from "../lib/messages/limits.js";
import type { CommandContext } from "./context.js";
import { requireNamespace, withRuntime } from "./node.js";
import { table, type Printer } from "./output.js";

export interface SyncOptions {
  namespace: string;
  peer?: string;
  from?: string;
  to?: string;
  want?: string[];
}

export interface SyncResult {
  namespace: string;
  /** "reconcile", or "request" for --from/--to/--want. */
  mode: "reconcile" | "request";
  peers: PeerSyncReport[];
  totals: Omit<PeerSyncReport, "peer" | "namespace" | "ok" | "error" | "compared">;
}

function timestamp(value: string | undefined, option: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) > LIMITS.maxTimestamp) throw new UsageError(`${option}: expected unix seconds, got ${JSON.stringify(value)}`);
  return Number(value);
}

export async function sync(ctx: CommandContext, options: SyncOptions): Promise<SyncResult> {
  const fromTs = timestamp(options.from, "--from");
  const toTs = timestamp(options.to, "--to");
  if (fromTs !== undefined && toTs !== undefined && fromTs > toTs) throw new UsageError(`--from ${fromTs} is after --to ${toTs}`);
  for (const id of options.want ?? []) if (!isDigest(id)) throw new UsageError(`--want: ${JSON.stringify(id)} is not a receipt id (sha256:<64 hex>)`);
  const plain = fromTs !== undefined || toTs !== undefined || options.want !== undefined;

  return withRuntime(ctx, async (node) => {
    requireNamespace(node.config, options.namespace);
    let peers = node.peers.routed(options.namespace, "serve");
    if (options.peer !== undefined) {
      peers = peers.filter((p) => p.did === options.peer);
      if (peers.length === 0) throw new UsageError(`--peer: ${options.peer} is not a peer with role serve routed for ${options.namespace} (check peers.yaml and federation.yaml)`);
    }
    if (peers.length === 0) throw new UsageError(`no peer with role serve is routed for ${options.namespace}: nothing to sync with (peers.yaml roles, federation.yaml namespaces.${options.namespace}.peers)`);
    const cliProgress = !ctx.out.json && ctx.io.stderr.isTTY === true ? (await import("cli-progress")).default : undefined;
    const bar = cliProgress !== undefined ? new cliProgress.SingleBar({ stream: ctx.io.stderr as NodeJS.WritableStream, format: "{peer} {phase} [{bar}] {value}/{total}", hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic) : undefined;
    let barStarted = false;
    const releaseCursor = bar === undefined ? () => {} : guardCursor(ctx.io.stderr);
    const sctx = node.syncContext((e) => {
      if (bar === undefined) return;
      if (!barStarted) {
        bar.start(e.total, e.done, { peer: e.peer, phase: e.phase });
        barStarted = true;
      } else {
        bar.setTotal(e.total);
        bar.update(e.done, { peer: e.peer, phase: e.phase });
      }
    });
    const reports: PeerSyncReport[] = [];
    const before = node.store.listBatches(options.namespace);
    try {
      for (const peer of peers) {
        reports.push(plain ? await fetchRange(sctx, peer, options.namespace, { ...(fromTs === undefined ? {} : { fromTs }), ...(toTs === undefined ? {} : { toTs }), ...(options.want === undefined ? {} : { want: options.want }) }) : await syncWithPeer(sctx, peer, options.namespace));
      }
    } finally {
      bar?.stop();
      releaseCursor();
    }
    // A witness cosigns what this sync brought in and announces it, so its cosignature spreads (docs/FEDERATION_SEMANTICS.md §8. Quorum).
    for (const c of await cosignChanged(node.store, node.me, node.config, options.namespace, before, node.now())) {
      await announceToPeers(node.store, node.outbox, node.me, node.peers.routed(options.namespace), options.namespace, c.batchId, c.batchRoot, node.now(), undefined, c.origin);
    }
    const totals = { missingHere: 0, missingThere: 0, itemsHere: 0, itemsThere: 0, itemsRefused: 0, claimsOverCap: 0, itemsKnown: 0, fetched: 0, imported: 0, held: 0, rejected: 0, bytes: 0, roundTrips: 0, announced: 0 };
    for (const r of reports) for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += r[k];
    return { namespace: options.namespace, mode: plain ? "request" : "reconcile", peers: reports, totals };
  });
}

/** 1 when a peer failed or anything was rejected. */
export function syncExitCode(r: SyncResult): 0 | 1 {
  return r.peers.some((p) => !p.ok) || r.totals.rejected > 0 ? 1 : 0;
}

export function printSync(out: Printer, r: SyncResult): void {
  if (out.json) return out.document(r);
  const kb = (n: number) => (n < 10_000 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`);
  out.line(
    table(
      ["peer", "result", "compared", "missing here", "missing there", "fetched", "imported", "held", "rejected", "bytes", "round trips"],
      r.peers.map((p) => [
        p.peer,
        p.ok ? out.color.green("ok") : out.color.red("failed"),
        String(p.compared),
        String(p.missingHere),
        String(p.missingThere),
        String(p.fetched),
        String(p.imported),
        String(p.held),
        p.rejected > 0 ? out.color.red(String(p.rejected)) : "0",
        kb(p.bytes),
        String(p.roundTrips),
      ]),
    ),
  );
  for (const p of r.peers) if (!p.ok) out.line(out.color.red(`${p.peer}: ${p.error}`));
  const t = r.totals;
  out.line();
  out.line(`${r.namespace}: fetched ${t.fetched}, imported ${t.imported}, held ${t.held}, rejected ${t.rejected}; announced ${t.announced} batches to peers that lacked them; ${kb(t.bytes)} in ${t.roundTrips} round trips`);
}

export function syncCommand(run: (fn: (ctx: CommandContext) => Promise<number>) => Promise<void>): Command {
  return new Command("sync")
    .description("anti-entropy now: find and fetch what this node lacks from its serving peers")
    .requiredOption("--namespace <ns>", "namespace to reconcile (must be in federation.yaml)")
    .option("--peer <did>", "only this peer (default: every peer with role serve routed for the namespace)")
    .option("--from <ts>", "plain request: receipts with ts ≥ this (unix seconds), instead of reconciliation")
    .option("--to <ts>", "plain request: receipts with ts ≤ this (unix seconds)")
    .option("--want <id...>", "plain request: these receipt ids (sha256:<hex>)")
    .addHelpText(
      "after",
      `
Without --from/--to/--want, range-based set reconciliation finds exactly which receipts
differ: an in-sync check is one round trip of a few hundred bytes, and a gap costs bandwidth
in proportion to the gap. Fetched receipts and anchors are re-verified with this node's own
endpoints. Peers that lack receipts this node has are sent an Announce of those batches.
Exit code 1 when a peer failed or anything was rejected.

Example:
  $ vmsh-federation sync --namespace dao:vaultmesh
  $ vmsh-federation sync --namespace dao:vaultmesh --peer did:vm:node:vm-spawn-b --from 1732000000 --to 1732086400
`,
    )
    .action(async (opts: SyncOptions) =>
      run(async (ctx) => {
        const r = await sync(ctx, opts);
        printSync(ctx.out, r);
        return syncExitCode(r);
      }),
    );
}
