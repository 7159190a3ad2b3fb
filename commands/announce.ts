/**
 * `vmsh-federation announce`: ingest a sealed batch from the local sealer's files, verify
 * its receipts and anchors with this node's own verifiers, store it, and announce it to the
 * routed peers (README "The command line", docs/ARCHITECTURE.md).
 */
import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { Command } from "commander";
import { claimDigest, claimOf } from "../lib/conflict/index.js";
import { VmshError } from "../lib/errors.js";
import { importBatch, type BatchReport } from "../lib/pipeline/import.js";
import { announceToPeers, type Delivery } from "../lib/federation/gossip.js";
import { tallyDeliveries } from "../lib/federation/metric-extras.js";
import { cosignVersion } from "../lib/federation/witness.js";
import { signCheckpoint } from "../lib/messages/checkpoint.js";
import { encodeLeaves } from "../lib/messages/leaves.js";
import { parseSealerBatch, sealedBatch, type SealerReceiptFile } from "../lib/sealer/files.js";
import { PLACEHOLDER_CHAIN, PLACEHOLDER_NOTE } from "../lib/sealer/placeholder.js";
import type { CommandContext } from "./context.js";
import { requireNamespace, withRuntime } from "./node.js";
import { originLogOf } from "../lib/federation/origin-log.js";
import { startTokenWorker } from "../lib/anchors/tsa/off-thread.js";
import { outcomeColor, table, type Printer } from "./output.js";

export interface AnnounceOptions {
  namespace: string;
  batch: string;
  receipts?: string;
}

export interface AnnounceResult {
  batchFile: string;
  receiptFiles: number;
  /** Receipt files in the directory that belong to another batch. */
  otherBatchFiles: number;
  /** Receipt files carrying only the sealer's `vm:internal` placeholder, which is not an anchor (docs/ANCHORS.md). */
  placeholderReceipts: number;
  /** Set when the batch has nothing but the placeholder: it is held until a real anchor arrives. */
  note?: string;
  report: BatchReport;
  /** Per routed peer: delivered, queued (the daemon retries it), or refused. Empty when not announced. */
  deliveries: Delivery[];
  /** Why nothing was sent, when nothing was. */
  notAnnounced?: string;
  /**
   * The sealer's claims (of these receipt files) this node rejected, as `chain/tx`: exit 1. A claim
   * a peer sent earlier and this node keeps rejected, as evidence, is in `report.anchors` only.
   */
  rejectedClaims: string[];
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (cause) {
    throw new VmshError("SEALER_FILE_UNREADABLE", `${path}: cannot be read: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
  }
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new VmshError("SEALER_FILE_INVALID", `${path}: not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

/** Receipt files of `dir` (every *.json), split into this batch's and others' by their batchRoot. */
async function receiptFiles(dir: string, batchRoot: string): Promise<{ mine: SealerReceiptFile[]; others: number }> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(".json")).sort();
  } catch (cause) {
    throw new VmshError("SEALER_FILE_UNREADABLE", `--receipts: ${dir} cannot be read: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
  }
  const mine: SealerReceiptFile[] = [];
  let others = 0;
  for (const name of names) {
    const file = join(dir, name);
    const json = await readJson(file);
    const root = typeof json === "object" && json !== null ? (json as { batchRoot?: unknown }).batchRoot : undefined;
    if (root !== undefined && root !== batchRoot) others++;
    else mine.push({ file, json });
  }
  return { mine, others };
}

export async function announce(ctx: CommandContext, options: AnnounceOptions): Promise<AnnounceResult> {
  const batchFile = resolve(ctx.io.cwd, options.batch);
  return withRuntime(ctx, async (node) => {
    requireNamespace(node.config, options.namespace);
    const batch = parseSealerBatch(await readJson(batchFile), batchFile);
    const files = options.receipts === undefined ? { mine: [], others: 0 } : await receiptFiles(resolve(ctx.io.cwd, options.receipts), batch.root);
    const sealed = sealedBatch(options.namespace, batch, batchFile, files.mine);
    // A time-stamp token is checked on the TSA worker thread: start it while the checkpoint is signed and the store read.
    if (node.config.tsaTrust !== undefined && sealed.anchors.some((a) => a.chain.startsWith("rfc3161:"))) startTokenWorker();
    // This node ingested the batch from its sealer, so it is the batch's origin and signs its
    // checkpoint (docs/FEDERATION_SEMANTICS.md §Checkpoints); a re-announce reuses the stored one.
    const stored = (await node.store.getBatch(options.namespace, sealed.batchId, sealed.batchRoot, node.me.did))?.checkpoint;
    sealed.checkpoints = [
      stored ??
        signCheckpoint(
          { namespace: options.namespace, origin: node.me.did, batchId: sealed.batchId, batchRoot: sealed.batchRoot, tree: sealed.receipts[0]!.proof.tree, size: sealed.receipts.length, createdAt: sealed.createdAt, ts: node.now() },
          node.me.privateKey,
        ),
    ];
    // The origin keeps the version as its leaves, as the nodes that pull it do
    // (docs/STATE.md §Leaves form): ~45 B a receipt on disk instead of a path each, and a later
    // claim or cosignature rewrites that much. The receipts were derived from these very leaves.
    const checkpoint = sealed.checkpoints[0]!;
    if (checkpoint.size === batch.leaves.length) {
      sealed.leaves = { checkpoint, leaves: encodeLeaves(batch.leaves) };
      sealed.receipts = [];
    }
    const report = await importBatch(sealed, node.importContext(options.namespace));
    // Every checkpoint this node signs goes into its origin log (docs/FEDERATION_PROTOCOL.md §Origin log).
    if (stored === undefined && report.written) await (await originLogOf(node).log()).append(sealed.checkpoints, { freshlySigned: true });
    // A witness of the namespace cosigns what it just verified itself (docs/FEDERATION_SEMANTICS.md §8. Quorum).
    if (report.status === "active") await cosignVersion(node.store, node.me, node.config, options.namespace, report.batchId, report.batchRoot, node.now());
    const sealerClaims = new Set(sealed.anchors.map((a) => claimDigest(claimOf(a))));
    const rejectedClaims = report.anchors.filter((a) => a.outcome === "rejected" && sealerClaims.has(a.digest)).map((a) => `${a.chain}/${a.tx}`);
    const result: AnnounceResult = { batchFile, receiptFiles: files.mine.length, otherBatchFiles: files.others, placeholderReceipts: sealed.placeholderReceipts, report, deliveries: [], rejectedClaims };
    if (sealed.placeholderReceipts > 0 && report.anchors.length === 0) result.note = PLACEHOLDER_NOTE;
    // A routing policy's fanout applies here as in serve (docs/FEDERATION_OPERATIONS.md §Routing policies).
    const targets = node.select(options.namespace, "announce", node.peers.routed(options.namespace));
    if (report.status !== "active") result.notAnnounced = "no anchor verified yet; serve announces the batch once one verifies";
    else if (targets.length === 0) result.notAnnounced = `no peers are routed for ${options.namespace} in federation.yaml`;
    // The outbox is the daemon's: what cannot be delivered now is retried by `serve`.
    else {
      result.deliveries = await announceToPeers(node.store, node.outbox, node.me, targets, options.namespace, report.batchId, report.batchRoot, node.now(), undefined, node.me.did);
      // The daemon's /metrics counts these too (docs/FEDERATION_OPERATIONS.md §Monitoring).
      await tallyDeliveries(node.store, result.deliveries);
    }
    return result;
  }, { receiptIndex: "lazy" });
}

/**
 * 1 when nothing was announced (no verified anchor, no routed peer), an anchor of the sealer's
 * files or a receipt was rejected, the batch equivocates, or a peer refused the Announce; pending
 * anchors beside a verified one, deliveries queued for retry, and claims a peer sent that this node
 * keeps rejected as evidence (docs/ANTI_ENTROPY.md §Attachment items) are not failures.
 */
export function announceExitCode(r: AnnounceResult): 0 | 1 {
  const failed = r.notAnnounced !== undefined || r.rejectedClaims.length > 0 || r.report.rejectedReceipts.length > 0 || r.report.equivocation || r.deliveries.some((d) => d.outcome === "refused");
  return failed ? 1 : 0;
}

export function printAnnounce(out: Printer, r: AnnounceResult): void {
  if (out.json) return out.document(r);
  const rep = r.report;
  const state = rep.status === "active" ? out.color.green("active") : out.color.yellow("held (no verified anchor yet)");
  out.line(`batch ${rep.batchId} of ${rep.namespace}: ${rep.receiptsStored} receipts stored (${rep.receiptsAdded} new), ${state}`);
  out.line(`  root ${rep.batchRoot}${rep.origin === undefined ? "" : `, origin ${rep.origin}`}`);
  if (r.otherBatchFiles > 0) out.line(`  ${r.otherBatchFiles} receipt files in the directory belong to other batches and were left alone`);
  if (r.placeholderReceipts > 0) out.line(`  ${r.placeholderReceipts} receipts carry the sealer's ${PLACEHOLDER_CHAIN} placeholder, which proves nothing and was ignored`);
  if (r.note !== undefined) out.line(`  ${r.note}`);
  else if (rep.anchors.length === 0) out.line("  no anchors: the batch is held until an anchor is verified (pass --receipts DIR with the sealer's receipt files)");
  else {
    out.line();
    out.line(table(["chain", "tx", "outcome", "detail"], rep.anchors.map((a) => [a.chain, a.tx, outcomeColor(out, a.outcome), a.superseded_by ? `superseded by ${a.superseded_by}` : (a.reason ?? (rep.winner === `${a.chain}/${a.tx}` || rep.winner === `${a.chain}/${a.tx}#${a.digest}` ? "winner" : ""))])));
  }
  for (const x of rep.rejectedReceipts) out.line(out.color.red(`  receipt ${x.id} rejected: ${x.reason}`));
  if (rep.equivocation) out.line(out.color.red(`  equivocation: batch ${rep.batchId} is stored with more than one root; see verify-online`));
  if (!rep.written) out.line("  (already stored: nothing changed)");
  out.line();
  if (r.notAnnounced !== undefined) out.line(`Not announced: ${r.notAnnounced}.`);
  else {
    out.line("Announced to:");
    for (const d of r.deliveries) {
      const how = d.outcome === "delivered" ? out.color.green("delivered") : d.outcome === "queued" ? out.color.yellow("queued, serve retries it") : out.color.red("refused");
      out.line(`  ${d.peer}  ${how}${d.reason ? `  (${d.reason})` : ""}`);
    }
  }
}

export function announceCommand(run: (fn: (ctx: CommandContext) => Promise<number>) => Promise<void>): Command {
  return new Command("announce")
    .description("ingest a sealed batch, verify it locally, store it and announce it to the routed peers")
    .requiredOption("--namespace <ns>", "namespace the batch belongs to (must be in federation.yaml)")
    .requiredOption("--batch <file>", "the sealer's batch file { id, root, leaves, createdAt }")
    .option("--receipts <dir>", "directory of the sealer's receipt files (*.json); their anchors are verified")
    .addHelpText(
      "after",
      `
The batch root is recomputed from its leaves, every receipt's path is checked against it,
and every anchor is verified with this node's own endpoints (anchors.yaml) and the
namespace's confirmation policy. A batch with no verified anchor is stored as held.
Once active, the batch is announced to every peer routed for the namespace; a peer that
cannot take it now gets it from the outbox, which a running \`serve\` retries.
Exit code 1 when nothing was announced (no anchor verified yet, or no peer routed for
the namespace: the batch is stored all the same), an anchor of these receipt files
(listed in --json as rejectedClaims) or a receipt is rejected, or a peer refuses the
announce; 2 when a file cannot be read or is not a sealer file. A claim a peer sent that
this node keeps rejected, as evidence, is shown but is not a failure.

Example:
  $ vmsh-federation announce --namespace dao:vaultmesh --batch sealer/batches/b-0042.json --receipts sealer/receipts/b-0042
`,
    )
    .action(async (opts: AnnounceOptions) =>
      run(async (ctx) => {
        const r = await announce(ctx, opts);
        printAnnounce(ctx.out, r);
        return announceExitCode(r);
      }),
    );
}
