/**
 * The quorum table `status` and `verify-online` print (docs/FEDERATION_SEMANTICS.md §8. Quorum):
 * one row per batch version with its state, cosigners of k and what is missing, then each
 * dispute's signed evidence.
 */
import type { ContestedRoot, WitnessFault } from "../lib/federation/quorum-report.js";
import type { VersionQuorum } from "../lib/federation/witness.js";
import { table, type Printer } from "./output.js";

const short = (s: string): string => (s.length > 20 ? `${s.slice(0, 10)}…${s.slice(-8)}` : s);

function stateWord(out: Printer, q: VersionQuorum): string {
  return q.state === "final" ? out.color.green("final") : q.state === "awaiting" ? out.color.yellow("awaiting") : out.color.red("disputed");
}

function detail(q: VersionQuorum): string {
  if (q.state === "final") return "";
  if (q.state === "disputed") return q.reason;
  if (q.contested !== undefined && q.needed === 0) return q.contested;
  const parts = [`${q.needed} more needed`];
  if (q.contested !== undefined) parts.push(q.contested);
  if (q.notYet.length > 0) parts.push(`not yet: ${q.notYet.join(", ")}`);
  for (const d of q.disagree) parts.push(`${d.signer} cosigned ${d.winner.chain}/${d.winner.tx} as winner`);
  return parts.join("; ");
}

/**
 * Prints the quorum rows (all of them, or only those not final with a count of the rest).
 * @example printQuorum(ctx.out, result.quorum)
 */
export function printQuorum(out: Printer, rows: readonly VersionQuorum[], options: { onlyNotFinal?: boolean } = {}): void {
  if (rows.length === 0) return;
  const shown = options.onlyNotFinal === true ? rows.filter((q) => q.state !== "final") : rows;
  const finals = rows.filter((q) => q.state === "final").length;
  out.line(`Quorum: ${finals} final, ${rows.filter((q) => q.state === "awaiting").length} awaiting, ${rows.filter((q) => q.state === "disputed").length} disputed`);
  if (shown.length === 0) return;
  out.line(table(["namespace", "batch", "root", "quorum", "cosigners", "detail"], shown.map((q) => [q.namespace, q.batchId, short(q.batchRoot), stateWord(out, q), `${q.cosigners.length} of ${q.k}`, detail(q)])));
  for (const q of shown) {
    if (q.state !== "disputed") continue;
    out.line(out.color.red(`dispute: ${q.namespace} batch ${q.batchId}: ${q.reason}`));
    for (const c of q.evidence) out.line(`  ${c.signer} cosigned checkpoint ${c.checkpoint} root ${c.batchRoot} winner ${c.winner.chain}/${c.winner.tx} at ${c.ts}, sig ${c.sig}`);
  }
}

/** Contested roots with their claims, and witness faults, one line each. */
export function printContests(out: Printer, contested: readonly ContestedRoot[], faults: readonly WitnessFault[]): void {
  for (const c of contested) {
    const claims = c.claims.map((x) => `${x.origin} as ${x.batchId} (createdAt ${x.createdAt}, size ${x.size})${x.attributed ? " attributed" : ""}`);
    out.line(out.color.red(`contested: ${c.namespace} root ${c.batchRoot} is claimed by ${claims.join("; ")}${c.claims.some((x) => x.attributed) ? "" : "; none attributed"}`));
  }
  for (const f of faults) out.line(out.color.yellow(`witness fault: ${f.namespace} batch ${f.batchId}: ${f.reason}; sig ${f.cosignature.sig}`));
}
