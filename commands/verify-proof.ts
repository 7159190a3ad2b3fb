/**
 * `vmsh-federation verify-proof FILE [--trust FILE] [--require-final] [--require-logged]`: checks a proof file
 * (docs/EXPLORER.md §Proof files) offline, against the trust policy of `--trust FILE` (written
 * by `trust export`) or of this node's configuration: the origin's checkpoint, the receipt
 * against it, the inclusion and the anchors it can check without the network (RFC 3161 tokens;
 * Bitcoin and EVM are reported unchecked), the checkpoint's inclusion in its origin's witnessed
 * log when the file carries one, then the witnesses' cosignatures. Nothing is sent.
 */
import { Command } from "commander";
import { parseChainId } from "../lib/anchors/anchor.js";
import { UsageError, VmshError } from "../lib/errors.js";
import { nodeTrustPolicy } from "../lib/federation/trust-policy.js";
import { readKeyFile } from "../lib/identity/key-file.js";
import { MAX_PROOF_FILE_BYTES, parseProofFile } from "../lib/proof/file.js";
import { parseStrictJson, readBoundedText } from "../lib/proof/read.js";
import { MAX_TRUST_FILE_BYTES, statedPolicy, trustPolicy, type TrustPolicy } from "../lib/proof/trust.js";
import { verifyProof, type AnchorCheck, type ProofVerdict } from "../lib/proof/verify.js";
import type { CommandContext } from "./context.js";
import { table, type Printer } from "./output.js";

export interface VerifyProofOptions {
  /** A trust file from `trust export`; without it, this node's configuration is the policy. */
  trust?: string;
  /** Exit 1 unless the witnesses' cosignatures make the batch final under the policy. */
  requireFinal?: boolean;
  /** Exit 1 unless the file shows the checkpoint in a head of its origin's log that k witnesses cosigned. */
  requireLogged?: boolean;
}

export interface VerifyProofResult extends Partial<ProofVerdict> {
  file: string;
  ok: boolean;
  final: boolean;
  /** Where the trust policy came from: the trust file, or the configuration directory. */
  trust: string;
  /** Why the file is not a proof this version can check (then nothing else was checked). */
  malformed?: string;
  requireFinal: boolean;
  requireLogged: boolean;
}

async function loadTrust(ctx: CommandContext, file: string | undefined): Promise<TrustPolicy> {
  if (file !== undefined) {
    const text = await readBoundedText(file, MAX_TRUST_FILE_BYTES, "--trust");
    try {
      return trustPolicy(parseStrictJson(text, "trust"));
    } catch (e) {
      if (e instanceof VmshError) throw new UsageError(`--trust ${file} is not a trust file: ${e.message}`, { cause: e });
      throw e;
    }
  }
  const config = await ctx.loadConfig();
  const key = await readKeyFile(config.federation.mesh.keyFile);
  const did = config.federation.mesh.nodeId;
  try {
    return statedPolicy(nodeTrustPolicy(config, { did, publicKey: key.publicKey }), did);
  } catch (e) {
    if (e instanceof VmshError) throw new UsageError(`the trust policy of ${ctx.configDir} (peers.yaml keys, federation.yaml origins and quorum) is not one a trust file may state: ${e.message}`, { cause: e });
    throw e;
  }
}

/** RFC 3161 tokens against the policy's TSA roots, on this machine; chains need an endpoint. */
function offlineCheck(policy: TrustPolicy): AnchorCheck {
  return async (anchor, batchRoot) => {
    const chain = parseChainId(anchor.chain);
    if (chain?.rail !== "rfc3161") return { outcome: "unchecked", reason: `${anchor.chain} needs a chain endpoint; verify-proof stays offline (verify-online on a node holding the batch checks it)` };
    const tsa = policy.tsa;
    if (tsa === undefined || (tsa.tsas.get(chain.network)?.trustPem ?? tsa.trustPem) === undefined) return { outcome: "unchecked", reason: `the trust policy holds no roots for ${anchor.chain}` };
    // Loaded here, not at start: the token verifier pulls in its ASN.1 and worker modules.
    const { verifyTsaAnchor } = await import("../lib/anchors/tsa/verify-anchor.js");
    const r = await verifyTsaAnchor(anchor, batchRoot, { ...(tsa.trustPem === undefined ? {} : { trustPem: tsa.trustPem }), ...(tsa.intermediatesPem === undefined ? {} : { intermediatesPem: tsa.intermediatesPem }), tsas: tsa.tsas });
    return r.reason !== undefined ? { outcome: r.outcome, reason: r.reason } : { outcome: r.outcome };
  };
}

export async function verifyProofFile(ctx: CommandContext, file: string, options: VerifyProofOptions = {}): Promise<VerifyProofResult> {
  const text = await readBoundedText(file, MAX_PROOF_FILE_BYTES, "proof file");
  const policy = await loadTrust(ctx, options.trust);
  const trust = options.trust ?? `${ctx.configDir} (this node's configuration)`;
  const requireFinal = options.requireFinal === true;
  const requireLogged = options.requireLogged === true;
  let proof;
  try {
    proof = parseProofFile(parseStrictJson(text, "proof"));
  } catch (e) {
    if (e instanceof VmshError) return { file, trust, requireFinal, requireLogged, ok: false, final: false, malformed: `not a proof file this version can check: ${e.message}`, failure: `file: ${e.message}` };
    throw e;
  }
  const verdict = await verifyProof(proof, policy, offlineCheck(policy));
  return { file, trust, requireFinal, requireLogged, ...verdict };
}

export function verifyProofExitCode(r: VerifyProofResult): 0 | 1 {
  return r.ok && (!r.requireFinal || r.final) && (!r.requireLogged || r.logged?.state === "logged") ? 0 : 1;
}

const when = (unix: number) => new Date(unix * 1000).toISOString();

export function printVerifyProof(out: Printer, r: VerifyProofResult): void {
  if (out.json) return out.document(r);
  if (r.malformed !== undefined) {
    out.line(out.color.red(`${r.file}: ${r.malformed}`));
    out.line(out.color.red(`proof NOT verified: ${r.failure}`));
    return;
  }
  const step = (name: string, s: { ok: boolean; reason?: string } | undefined, good: string) => {
    if (s === undefined) return;
    out.line(s.ok ? out.color.green(`${name}: ${good}`) : out.color.red(`${name}: ${(s as { reason: string }).reason}`));
  };
  out.line(`${r.file}, checked against ${r.trust}`);
  step("checkpoint", r.checkpoint, "signed by a trusted origin of the namespace");
  step("receipt", r.receipt, "matches the checkpoint (namespace, batch id, root, tree, size, index, ts)");
  if (r.logged?.state === "logged") {
    const l = r.logged;
    out.line(out.color.green(`log: logged and witnessed: leaf ${l.index} of the head of size ${l.size} of ${l.log}, signed by the origin's log key; cosigned by ${l.cosigners.length} of ${l.n} witnesses (k = ${l.k}: ${l.cosigners.map((c) => `${c.did} at ${when(c.time)}`).join(", ")}); witnessed at ${when(l.witnessedAt)} (${l.witnessedAt})`));
  } else if (r.logged?.state === "unlogged") out.line(out.color.yellow(`log: unlogged: ${r.logged.reason}`));
  else step("log", r.log, "origin-log inclusion holds");
  step("inclusion", r.inclusion, "proof recomputes the checkpoint's batch root");
  if ((r.anchors ?? []).length > 0) out.line(table(["chain", "tx", "outcome", "reason"], r.anchors!.map((a) => [a.chain, a.tx, a.outcome, a.reason ?? ""])));
  if (r.quorum !== undefined) {
    const q = r.quorum;
    const text = q.policy === "none" ? `${q.state} (${q.reason})` : q.state === "final" ? `final (${q.cosigners.length} of ${q.n}, k = ${q.k}: ${q.cosigners.join(", ")})` : `not final: ${q.reason}`;
    out.line(q.state === "final" ? out.color.green(`quorum: ${text}`) : out.color.yellow(`quorum: ${text}`));
  }
  if (r.facts !== undefined) {
    const f = r.facts;
    out.line("Bound by the origin's signed checkpoint:");
    out.line(
      table(
        ["fact", "value"],
        [
          ["event", f.eventHash],
          ["namespace", f.namespace],
          ["batch", f.batchId],
          ["root", f.batchRoot],
          ["leaf", `${f.index} of ${f.size} (${f.tree})`],
          ["sealed", `${when(f.createdAt)} (${f.createdAt})`],
          ["origin", f.origin],
        ],
      ),
    );
  }
  if (r.exportedBy !== undefined) out.line(`exported by ${r.exportedBy.did} at ${when(r.exportedBy.at)} (unverified: a label of the file, not checked)`);
  if (!r.ok) out.line(out.color.red(`proof NOT verified: ${r.failure}`));
  else if (r.requireFinal && !r.final) out.line(out.color.red(`proof verified but NOT final (--require-final): ${r.quorum?.reason ?? "not final"}`));
  else if (r.requireLogged && r.logged?.state !== "logged") out.line(out.color.red(`proof verified but NOT logged (--require-logged): ${r.logged?.state === "unlogged" ? r.logged.reason : "no log inclusion"}`));
  else out.line(out.color.green("proof verified"));
}

export function verifyProofCommand(run: (fn: (ctx: CommandContext) => Promise<number>) => Promise<void>): Command {
  return new Command("verify-proof")
    .description("check a proof file offline: the origin's checkpoint, the receipt, inclusion, anchors, witnesses")
    .argument("<file>", "proof file (JSON) from the explorer's \"download proof\"")
    .option("--trust <file>", "trust file from `vmsh-federation trust export` (default: this node's configuration)")
    .option("--require-final", "exit 1 unless the witnesses' cosignatures make the batch final under the policy")
    .option("--require-logged", "exit 1 unless the file shows the checkpoint in a head of its origin's log that k witnesses cosigned")
    .addHelpText(
      "after",
      `
Checks, offline and in this order: 1. the checkpoint is signed by an origin the trust policy
lists for its namespace; 2. the receipt matches it (namespace, batch id, root, tree, size,
index, ts); 3. the inclusion recomputes the root and each anchor names it (RFC 3161 tokens
against the policy's TSA roots; Bitcoin and EVM anchors are listed as unchecked); 4. the
witnesses' cosignatures of the checkpoint against the policy's witnesses and k. When the file
carries a log part (log), after 2: the log head is signed by the origin's key, the inclusion
path leads from the checkpoint's digest to the head's root, and k distinct witnesses of the
policy (not the origin) cosigned the head; the output says "logged and witnessed" with the
k-th earliest cosignature time, or "unlogged" for a file without one. A log part that fails any
of these fails the file. Prints as facts only what the checkpoint binds; the exporter's name is
shown as unverified. A version 1 file is refused: it binds no origin.

Exit 0 when 1–3 hold, the log part (if any) holds, and at least one anchor verifies (with
--require-final, also 4; with --require-logged, also a log part); 1 otherwise, naming the
first failure; 2 when the file or the trust policy cannot be read.

Examples:
  $ vmsh-federation verify-proof proof-3f2a9c.json
  $ vmsh-federation verify-proof proof-3f2a9c.json --trust vaultmesh-trust.json --require-final
  $ vmsh-federation verify-proof proof-3f2a9c.json --trust vaultmesh-trust.json --require-logged --json
`,
    )
    .action(async (file: string, opts: { trust?: string; requireFinal?: boolean; requireLogged?: boolean }) =>
      run(async (ctx) => {
        const r = await verifyProofFile(ctx, file, { ...(opts.trust === undefined ? {} : { trust: opts.trust }), ...(opts.requireFinal === true ? { requireFinal: true } : {}), ...(opts.requireLogged === true ? { requireLogged: true } : {}) });
        printVerifyProof(ctx.out, r);
        return verifyProofExitCode(r);
      }),
    );
}
