/**
 * `vmsh-federation verify-proof FILE`: checks a proof file downloaded from an explorer
 * (docs/EXPLORER.md §Proof files) offline: the receipt's inclusion in its batch root, then
 * every anchor this node can check without the network (RFC 3161 tokens against anchors.yaml's
 * trust bundle). Chain anchors need an endpoint and are reported unchecked; nothing is sent.
 */
import { readFile, stat } from "node:fs/promises";
import { Command } from "commander";
import { parseChainId } from "../lib/anchors/anchor.js";
import { UsageError, VmshError } from "../lib/errors.js";
import { MAX_PROOF_FILE_BYTES, parseProofFile, verifyProof, type AnchorCheck, type ProofVerdict } from "../lib/explorer/proof-file.js";
import { parsePeerJson } from "../lib/messages/json.js";
import type { CommandContext } from "./context.js";
import { table, type Printer } from "./output.js";

export interface VerifyProofResult extends ProofVerdict {
  file: string;
  /** Why the file is not a proof at all (then nothing else was checked). */
  malformed?: string;
  receipt?: { id: string; namespace: string; batchId: string; batchRoot: string };
  exportedBy?: string;
}

export async function verifyProofFile(ctx: CommandContext, file: string): Promise<VerifyProofResult> {
  const config = await ctx.loadConfig();
  let text: string;
  try {
    const s = await stat(file);
    if (s.size > MAX_PROOF_FILE_BYTES) throw new UsageError(`${file} is ${s.size} bytes; a proof file is at most ${MAX_PROOF_FILE_BYTES}`);
    text = await readFile(file, "utf8");
  } catch (cause) {
    if (cause instanceof UsageError) throw cause;
    throw new UsageError(`${file} cannot be read: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
  }
  const refused = (malformed: string): VerifyProofResult => ({ file, malformed, ok: false, inclusion: { ok: false, reason: malformed }, anchors: [] });
  let proof;
  try {
    proof = parseProofFile(parsePeerJson(text));
  } catch (e) {
    if (e instanceof VmshError) return refused(`not a proof file: ${e.message}`);
    throw e;
  }
  // Loaded here, not at start: the verifiers pull in viem, bitcoinjs-lib and node-forge.
  const { verifierFor } = await import("../lib/anchors/endpoints.js");
  const verifiers = await verifierFor(config);
  const verify = verifiers(proof.receipt.namespace);
  const check: AnchorCheck = async (anchor, batchRoot) => {
    if (parseChainId(anchor.chain)?.rail !== "rfc3161") return { outcome: "unchecked", reason: `${anchor.chain} needs a chain endpoint; verify-proof stays offline (verify-online on a node holding the batch checks it)` };
    if (config.anchors.rfc3161 === undefined) return { outcome: "unchecked", reason: "anchors.yaml has no rfc3161.trustBundle to check time-stamp tokens against" };
    const r = await verify(anchor, batchRoot);
    return r.reason !== undefined ? { outcome: r.outcome, reason: r.reason } : { outcome: r.outcome };
  };
  const verdict = await verifyProof(proof, check);
  const { id, namespace, batchId, batchRoot } = proof.receipt;
  return { file, ...verdict, receipt: { id, namespace, batchId, batchRoot }, exportedBy: proof.exportedBy };
}

export function printVerifyProof(out: Printer, r: VerifyProofResult): void {
  if (out.json) return out.document(r);
  if (r.malformed !== undefined) {
    out.line(out.color.red(`${r.file}: ${r.malformed}`));
    return;
  }
  out.line(`receipt ${r.receipt!.id} in ${r.receipt!.namespace} batch ${r.receipt!.batchId} (downloaded from ${r.exportedBy})`);
  out.line(r.inclusion.ok ? out.color.green(`inclusion: proof recomputes ${r.receipt!.batchRoot}`) : out.color.red(`inclusion: ${r.inclusion.reason}`));
  if (r.anchors.length > 0) out.line(table(["chain", "tx", "outcome", "reason"], r.anchors.map((a) => [a.chain, a.tx, a.outcome, a.reason ?? ""])));
  out.line(r.ok ? out.color.green("proof verified") : out.color.red("proof NOT verified: needs the inclusion and at least one anchor verified here"));
}

export function verifyProofCommand(run: (fn: (ctx: CommandContext) => Promise<number>) => Promise<void>): Command {
  return new Command("verify-proof")
    .description("check a proof file downloaded from an explorer, offline: inclusion and the anchors this node can check")
    .argument("<file>", "proof file (JSON) from the explorer's \"download proof\"")
    .addHelpText(
      "after",
      `
Recomputes the batch root from the receipt's Merkle path, then checks each anchor over that
root with this node's own configuration, without the network: RFC 3161 time-stamp tokens
against anchors.yaml's trust bundle; Bitcoin and EVM anchors are listed as unchecked. Exit 0
when the inclusion holds and at least one anchor verifies, 1 otherwise (a file that is not a
proof included), 2 when the file cannot be read or the configuration is invalid.

Example:
  $ vmsh-federation verify-proof proof-3f2a9c.json
`,
    )
    .action(async (file: string) =>
      run(async (ctx) => {
        const r = await verifyProofFile(ctx, file);
        printVerifyProof(ctx.out, r);
        return r.ok ? 0 : 1;
      }),
    );
}
