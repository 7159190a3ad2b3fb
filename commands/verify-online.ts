/**
 * `vmsh-federation verify-online`: re-verify every stored anchor, local and federated,
 * against the live endpoints, store the new outcomes, and report (README.md §The command line).
 */
import { Command } from "commander";
import type { Outcome } from "../lib/anchors/result.js";
import { reverifyStored, type RecheckFailure, type ReverifiedAnchor } from "../lib/pipeline/reverify.js";
import { cosignVersion, witnessKeysFor, type VersionQuorum } from "../lib/federation/witness.js";
import { conflictShapes, quorumReport, type ContestedRoot, type UnloggedCheckpoint, type WitnessFault } from "../lib/federation/quorum-report.js";
import { printContests, printQuorum } from "./quorum-output.js";
import type { CommandContext } from "./context.js";
import { requireNamespace, withRuntime } from "./node.js";
import { outcomeColor, table, type Printer } from "./output.js";

export interface VerifyOnlineOptions {
  namespace?: string;
  batch?: string;
  /** Exit 1 unless every selected batch version is final (docs/FEDERATION_SEMANTICS.md §8. Quorum). */
  requireFinal?: boolean;
}

export interface VerifyOnlineResult {
  anchors: ReverifiedAnchor[];
  equivocations: Array<{ namespace: string; batchId: string }>;
  summary: Record<Outcome, number>;
  /** Anchors whose endpoint could not be asked: their stored verdict stands, unchecked. */
  notRechecked: number;
  /** Quorum state of every selected batch version, after this run's verdicts (docs/FEDERATION_SEMANTICS.md §8. Quorum). */
  quorum: VersionQuorum[];
  /** With --require-final: the selected versions that are not final (0 selected counts as not final). */
  notFinal?: number;
  /** Selected roots claimed by two origins, or by one origin with two shapes; empty when none (docs/FEDERATION_SEMANTICS.md §6. Threat model). */
  contested: ContestedRoot[];
  /** Cosignatures of checkpoints no origin signed (as far as this node holds): shown, never blocking finality (docs/FEDERATION_SEMANTICS.md §8. Quorum). */
  witnessFaults: WitnessFault[];
  /** Selected versions whose checkpoint is in no witnessed head of its origin's log, as far as serve has seen (docs/FEDERATION_SEMANTICS.md §Origin logs); empty when none. */
  unlogged: UnloggedCheckpoint[];
}

export async function verifyOnline(ctx: CommandContext, options: VerifyOnlineOptions): Promise<VerifyOnlineResult> {
  return withRuntime(ctx, async (node) => {
    if (options.namespace !== undefined) requireNamespace(node.config, options.namespace);
    const namespaces = options.namespace !== undefined ? [options.namespace] : node.store.namespaces().sort();
    const result: VerifyOnlineResult = { anchors: [], equivocations: [], summary: { verified: 0, pending: 0, rejected: 0 }, notRechecked: 0, quorum: [], contested: [], witnessFaults: [], unlogged: [] };
    const keys = witnessKeysFor(node.config, { did: node.me.did, publicKey: node.key.publicKey });
    for (const namespace of namespaces) {
      const r = await reverifyStored(options.batch !== undefined ? { namespace, batchId: options.batch } : { namespace }, node.importContext(namespace));
      result.anchors.push(...r.anchors);
      result.equivocations.push(...r.equivocations.map((batchId) => ({ namespace, batchId })));
      // A witness re-cosigns a version whose winner this run changed; serve sends it with its next Announce.
      for (const b of node.store.listBatches(namespace).filter((x) => options.batch === undefined || x.batchId === options.batch)) {
        await cosignVersion(node.store, node.me, node.config, namespace, b.batchId, b.batchRoot, node.now());
      }
      const report = await quorumReport(node.store, node.config, keys, node.me.did, namespace, options.batch);
      result.quorum.push(...report.quorum);
      result.contested.push(...report.contested);
      result.witnessFaults.push(...report.witnessFaults);
      result.unlogged.push(...report.unlogged);
      // One origin's two shapes of one root are its equivocation too (docs/FEDERATION_SEMANTICS.md §6. Threat model).
      for (const e of await conflictShapes(node.store, namespace)) {
        if ((options.batch === undefined || e.kept.batchId === options.batch) && !result.equivocations.some((x) => x.namespace === namespace && x.batchId === e.kept.batchId)) result.equivocations.push({ namespace, batchId: e.kept.batchId });
      }
    }
    for (const a of result.anchors) result.summary[a.outcome]++;
    result.notRechecked = result.anchors.filter((a) => a.recheckFailed !== undefined).length;
    if (options.requireFinal === true) result.notFinal = result.quorum.length === 0 ? 1 : result.quorum.filter((q) => q.state !== "final").length;
    return result;
  }, { receiptIndex: "lazy" });
}

/**
 * 1 when any anchor is rejected, could not be re-checked, any batch equivocates or a selected
 * root is contested; with --require-final also when a selected batch version is not final, or
 * none was selected.
 */
export function verifyOnlineExitCode(r: VerifyOnlineResult): 0 | 1 {
  return r.summary.rejected > 0 || r.notRechecked > 0 || r.equivocations.length > 0 || r.contested.length > 0 || (r.notFinal ?? 0) > 0 ? 1 : 0;
}

/** "last re-check failed at <ISO time>: <reason>" (docs/FEDERATION_SEMANTICS.md §9. Endpoint outages). */
export function recheckNote(f: RecheckFailure): string {
  return `last re-check failed at ${new Date(f.at * 1000).toISOString()}: ${f.reason}`;
}

export function printVerifyOnline(out: Printer, r: VerifyOnlineResult): void {
  if (out.json) return out.document(r);
  if (r.anchors.length === 0) {
    out.line("No anchors stored yet.");
    if (r.notFinal !== undefined) out.line(out.color.red("--require-final: no batch selected, so none is final"));
    return;
  }
  const short = (s: string) => (s.length > 20 ? `${s.slice(0, 10)}…${s.slice(-8)}` : s);
  out.line(
    table(
      ["namespace", "batch", "chain", "tx", "outcome", "reason"],
      r.anchors.map((a) => [
        a.namespace,
        a.batchId,
        a.chain,
        short(a.tx),
        outcomeColor(out, a.outcome) + (a.was !== a.outcome ? ` (was ${a.was})` : ""),
        [a.reason ?? (a.superseded_by !== undefined ? `superseded by ${a.superseded_by}` : ""), a.recheckFailed === undefined ? "" : out.color.red(recheckNote(a.recheckFailed))].filter((x) => x !== "").join("; "),
      ]),
    ),
  );
  out.line();
  out.line(`${r.summary.verified} verified, ${r.summary.pending} pending, ${r.summary.rejected} rejected`);
  for (const a of r.anchors.filter((x) => x.recheckFailed !== undefined)) {
    out.line(out.color.red(`not re-checked: ${a.namespace} batch ${a.batchId} ${a.chain} ${a.tx} keeps "${a.outcome}"; ${recheckNote(a.recheckFailed!)}`));
  }
  for (const e of r.equivocations) out.line(out.color.red(`equivocation: ${e.namespace} batch ${e.batchId} is stored with more than one root or shape`));
  printContests(out, r.contested, r.witnessFaults);
  if (r.unlogged.length > 0) out.line(out.color.yellow(`unlogged: ${r.unlogged.length} checkpoint${r.unlogged.length === 1 ? " is" : "s are"} in no witnessed head of ${r.unlogged.length === 1 ? "its origin's log" : "their origins' logs"} (${r.unlogged.slice(0, 3).map((u) => `${u.namespace} ${u.batchId} of ${u.origin}`).join("; ")}${r.unlogged.length > 3 ? "; …" : ""})`));
  out.line();
  printQuorum(out, r.quorum);
  if (r.notFinal !== undefined && r.notFinal > 0) out.line(out.color.red(`--require-final: ${r.quorum.length === 0 ? "no batch selected, so none is final" : `${r.notFinal} of ${r.quorum.length} selected batch versions not final`}`));
}

export function verifyOnlineCommand(run: (fn: (ctx: CommandContext) => Promise<number>) => Promise<void>): Command {
  return new Command("verify-online")
    .description("re-verify every stored anchor against the live chain and TSA endpoints")
    .option("--namespace <ns>", "only this namespace")
    .option("--batch <id>", "only this batch id")
    .option("--require-final", "exit 1 unless every selected batch is final under its namespace's quorum (a CI gate)")
    .addHelpText(
      "after",
      `
Every anchor, local and federated, is checked again with this node's endpoints
(anchors.yaml) and policy; a block whose hash changed is reported as a reorg. New
outcomes are stored and conflict resolution re-runs. An endpoint that cannot be reached
changes no verdict: the anchor keeps it, is listed as not re-checked, and the exit code is 1.
Exit code 1 also when any anchor is rejected, a batch is stored with two roots or one origin
signed two shapes of a root (equivocation), or a selected root is contested (claimed by two
origins); the contested roots and each claim's attribution are listed. A witness that cosigned a
checkpoint no origin signed is shown as a witness fault; it changes no batch's state.
A checkpoint that serve has not seen in a witnessed head of its origin's log is listed as
unlogged (--json .unlogged); it is not final where the namespace sets require_logged: true.

Each batch version's quorum state follows the table: final (k distinct witnesses of
namespaces.<ns>.quorum cosigned this node's checkpoint and winner; without quorum: this
node verified it), awaiting (how many more, who has not cosigned, who named another
winner) or disputed (a witness cosigned another checkpoint, or a winner this node
rejected; both signatures are shown). A witness node cosigns here what it verified.
--require-final exits 1 unless every selected batch version is final; selecting none
(an unknown --batch) exits 1 too, so a CI job can wait for a batch with it.

Example:
  $ vmsh-federation verify-online --namespace dao:vaultmesh
  $ vmsh-federation verify-online --json | jq '.anchors[] | select(.outcome != "verified")'
  $ vmsh-federation verify-online --namespace dao:vaultmesh --batch b-42 --require-final && deploy
  $ vmsh-federation verify-online --json | jq '.quorum[] | select(.state != "final") | {batchId, needed, notYet}'
`,
    )
    .action(async (opts: VerifyOnlineOptions) =>
      run(async (ctx) => {
        const r = await verifyOnline(ctx, opts);
        printVerifyOnline(ctx.out, r);
        return verifyOnlineExitCode(r);
      }),
    );
}
