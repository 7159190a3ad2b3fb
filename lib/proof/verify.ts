/**
 * Checking a proof file offline (docs/EXPLORER.md §What verify-proof checks), in order:
 * 1. the checkpoint's signature, by an origin the trust policy lists for its namespace;
 * 2. the receipt against the checkpoint: namespace, batch id, root, tree, size, index, sealing time;
 * 3. the inclusion recomputes the root, each anchor names that root, and the anchors the
 *    checker can check without the network (`AnchorCheck`);
 * 4. the witness cosignatures of that checkpoint against the policy's witnesses and k.
 * Between 2 and 3, when the file carries one, the checkpoint's inclusion in its origin's log:
 * the head signed by the origin's log key, the path from the checkpoint's digest to the head's
 * root, and k distinct witnesses of the policy cosigning the head. A log part that fails any of
 * these fails the file: it is never read as "unlogged".
 * Nothing the file says is taken on its word: what the checkpoint binds is reported as fact,
 * the exporter's name and verdicts are not. Pure apart from `check`; never throws for the
 * file's content.
 */
import type { Anchor } from "../anchors/anchor.js";
import { verifyInclusion } from "../merkle/verify.js";
import { messageDigest } from "../messages/canonical.js";
import { verifyCheckpoint } from "../messages/checkpoint.js";
import { verifyCosignature, type AnchorRef } from "../messages/cosignature.js";
import { quorumStatus, witnessCosignatures, type QuorumPolicy } from "../quorum/state.js";
import type { TreeKind } from "../receipt.js";
import type { ProofFile } from "./file.js";
import { checkLogPart, type ProofLog, type StepResult } from "./log-part.js";
import type { TrustPolicy } from "./trust.js";

export type AnchorOutcome = "verified" | "pending" | "rejected" | "unchecked";
export type AnchorCheck = (anchor: Anchor, batchRoot: string) => Promise<{ outcome: AnchorOutcome; reason?: string }>;

/** What the origin's checkpoint binds and the inclusion shows, once steps 1–3 hold: the only facts a proof states. */
export interface ProofFacts {
  namespace: string;
  origin: string;
  batchId: string;
  batchRoot: string;
  tree: TreeKind;
  size: number;
  createdAt: number;
  eventHash: string;
  index: number;
  /** messageDigest of the checkpoint: what witnesses cosign. */
  checkpoint: string;
}

export interface ProofQuorum {
  /** "final" when k distinct listed witnesses cosigned the checkpoint and one winner, or when the policy has no quorum and step 3 holds. */
  state: "final" | "not final";
  /** Whether the trust policy sets a quorum for the namespace. */
  policy: "quorum" | "none";
  k: number;
  /** Witnesses the policy lists. */
  n: number;
  cosigners: string[];
  winner?: AnchorRef;
  reason?: string;
  /** Cosignatures of the file that did not count, and why. */
  ignored: Array<{ signer: string; reason: string }>;
}

export interface ProofVerdict {
  /** Steps 1–3 hold and at least one anchor verified here. */
  ok: boolean;
  /** Step 4: final under the policy (only ever true when `ok`). */
  final: boolean;
  /** The first failure, named by its step; absent when `ok`. */
  failure?: string;
  checkpoint: StepResult;
  receipt: StepResult;
  /** Origin-log inclusion (docs/EXPLORER.md §The log part): checked only when the file carries one. */
  log?: StepResult;
  /** Whether the file showed the checkpoint logged and witnessed; absent when an earlier step failed or the log part failed. */
  logged?: ProofLog;
  inclusion: StepResult;
  anchors: Array<{ chain: string; tx: string; outcome: AnchorOutcome; reason?: string }>;
  quorum?: ProofQuorum;
  facts?: ProofFacts;
  /** The exporter's name as the file gives it: a label, never checked. */
  exportedBy: { did: string; at: number; verified: false };
}

export type { ProofLog, StepResult };

const skipped: StepResult = { ok: false, reason: "not checked: an earlier step failed" };
const label = (a: AnchorRef): string => `${a.chain}/${a.tx}`;

/** Step 2: the receipt says what the checkpoint says. */
function receiptMatches(proof: ProofFile): StepResult {
  const { receipt: r, checkpoint: cp } = proof;
  const differs = (what: string, got: unknown, want: unknown): StepResult => ({ ok: false, reason: `the receipt's ${what} ${JSON.stringify(got)} is not the checkpoint's ${JSON.stringify(want)}` });
  if (r.namespace !== cp.namespace) return differs("namespace", r.namespace, cp.namespace);
  if (r.batchId !== cp.batchId) return differs("batch id", r.batchId, cp.batchId);
  if (r.batchRoot !== cp.batchRoot) return differs("batch root", r.batchRoot, cp.batchRoot);
  if (r.proof.tree !== cp.tree) return differs("tree", r.proof.tree, cp.tree);
  if (r.proof.size !== cp.size) return differs("batch size", r.proof.size, cp.size);
  if (r.proof.index >= cp.size) return { ok: false, reason: `the receipt's index ${r.proof.index} is not below the checkpoint's size ${cp.size}` };
  if (r.ts !== cp.createdAt) return differs("ts", r.ts, cp.createdAt);
  return { ok: true };
}

/** Step 4 with the quorum functions every node uses (lib/quorum/state.ts). */
function quorumOf(proof: ProofFile, policy: TrustPolicy, rejected: readonly AnchorRef[], ok: boolean): ProofQuorum {
  const cp = proof.checkpoint;
  const digest = messageDigest(cp);
  const q = policy.namespaces.get(cp.namespace)?.quorum;
  if (q === undefined) {
    const state = ok ? "final" : "not final";
    return { state, policy: "none", k: 0, n: 0, cosigners: [], reason: `the trust policy sets no quorum for ${cp.namespace}: final once an anchor verifies`, ignored: proof.cosignatures.map((c) => ({ signer: c.signer, reason: "no quorum policy" })) };
  }
  const qp: QuorumPolicy = { k: q.k, witnesses: [...q.witnesses.keys()] };
  const ignored: ProofQuorum["ignored"] = [];
  const mine = proof.cosignatures.filter((c) => {
    const why =
      c.namespace !== cp.namespace || c.origin !== cp.origin || c.batchId !== cp.batchId || c.batchRoot !== cp.batchRoot || c.checkpoint !== digest
        ? `names another checkpoint (${c.checkpoint}), not this proof's ${digest}`
        : !q.witnesses.has(c.signer)
          ? `is not a witness of ${cp.namespace} in the trust policy`
          : !verifyCosignature(c, q.witnesses.get(c.signer)!).ok
            ? "its signature does not verify with the trust policy's key"
            : undefined;
    if (why !== undefined) ignored.push({ signer: c.signer, reason: why });
    return why === undefined;
  });
  // The winner most listed witnesses cosigned; quorumStatus counts distinct DIDs and keys.
  const valid = witnessCosignatures({ namespace: cp.namespace, origin: cp.origin, batchId: cp.batchId }, qp, q.witnesses, mine);
  const votes = new Map<string, { winner: AnchorRef; n: number }>();
  for (const c of valid) votes.set(label(c.winner), { winner: c.winner, n: (votes.get(label(c.winner))?.n ?? 0) + 1 });
  const winner = [...votes.values()].sort((a, b) => b.n - a.n || (label(a.winner) < label(b.winner) ? -1 : 1))[0]?.winner;
  const status = quorumStatus({ namespace: cp.namespace, origin: cp.origin, batchId: cp.batchId, batchRoot: cp.batchRoot, checkpoint: digest, winner, rejected }, qp, q.witnesses, mine, new Set([digest]));
  const base = { policy: "quorum" as const, k: q.k, n: q.witnesses.size, cosigners: status.cosigners, ...(winner === undefined ? {} : { winner }), ignored };
  if (status.state === "final" && ok) return { state: "final", ...base };
  const reason =
    status.state === "disputed"
      ? status.reason
      : status.state === "final"
        ? "the witnesses' word stands, but this proof's own steps 1–3 do not hold"
        : `${status.cosigners.length} of the ${q.k} witnesses needed cosigned this checkpoint${winner === undefined ? "" : ` with winner ${label(winner)}`}`;
  return { state: "not final", ...base, reason };
}

/**
 * Checks `proof` against `policy`, with `check` for the anchors (the checker's own verifiers,
 * offline). `ok` needs steps 1–3 and at least one verified anchor; `final` also step 4.
 * @example const v = await verifyProof(parseProofFile(json), trustPolicy(trustJson), tsaCheck); if (!v.ok) console.log(v.failure)
 */
export async function verifyProof(proof: ProofFile, policy: TrustPolicy, check: AnchorCheck): Promise<ProofVerdict> {
  const cp = proof.checkpoint;
  const exportedBy = { did: proof.exportedBy, at: proof.exportedAt, verified: false as const };
  const verdict = (v: Omit<ProofVerdict, "exportedBy" | "final" | "ok">, ok = false, final = false): ProofVerdict => ({ ok, final, ...v, exportedBy });

  const origins = policy.namespaces.get(cp.namespace)?.origins;
  const signed = origins === undefined ? { ok: false as const, reason: `the trust policy lists no origins for namespace ${cp.namespace}` } : verifyCheckpoint(cp, origins);
  if (!signed.ok) return verdict({ failure: `checkpoint: ${signed.reason}`, checkpoint: signed, receipt: skipped, inclusion: skipped, anchors: [] });

  const matches = receiptMatches(proof);
  if (!matches.ok) return verdict({ failure: `receipt: ${matches.reason}`, checkpoint: signed, receipt: matches, inclusion: skipped, anchors: [] });

  const { step: log, logged } = checkLogPart(proof, policy);
  if (log !== undefined && !log.ok) return verdict({ failure: /^log[.:]/.test(log.reason) ? log.reason : `log: ${log.reason}`, checkpoint: signed, receipt: matches, log, inclusion: skipped, anchors: [] });

  const facts: ProofFacts = {
    namespace: cp.namespace,
    origin: cp.origin,
    batchId: cp.batchId,
    batchRoot: cp.batchRoot,
    tree: cp.tree,
    size: cp.size,
    createdAt: cp.createdAt,
    eventHash: proof.receipt.eventHash,
    index: proof.receipt.proof.index,
    checkpoint: messageDigest(cp),
  };
  const inc = verifyInclusion(proof.receipt);
  const inclusion: StepResult = inc.ok ? { ok: true } : { ok: false, reason: inc.reason };
  const anchors: ProofVerdict["anchors"] = [];
  for (const a of proof.anchors) {
    if (a.batchRoot !== cp.batchRoot) {
      anchors.push({ chain: a.chain, tx: a.tx, outcome: "rejected", reason: `anchors root ${a.batchRoot}, not the checkpoint's ${cp.batchRoot}` });
      continue;
    }
    const r = await check(a, cp.batchRoot);
    anchors.push({ chain: a.chain, tx: a.tx, outcome: r.outcome, ...(r.reason !== undefined ? { reason: r.reason } : {}) });
  }
  const anyVerified = anchors.some((a) => a.outcome === "verified");
  const ok = inclusion.ok && anyVerified;
  const rejected = anchors.filter((a) => a.outcome === "rejected").map((a) => ({ chain: a.chain, tx: a.tx }));
  const quorum = quorumOf(proof, policy, rejected, ok);
  // Name the first anchor's own reason too: "none verified" alone does not say what to fix.
  const first = anchors[0];
  const why = first === undefined ? " (the file carries none)" : `; first, ${first.chain}/${first.tx}: ${first.outcome}${first.reason === undefined ? "" : `: ${first.reason}`}`;
  const failure = !inclusion.ok ? `inclusion: ${inclusion.reason}` : !anyVerified ? `anchors: no anchor over ${cp.batchRoot} verified here${why}` : undefined;
  return verdict({ ...(failure === undefined ? {} : { failure }), checkpoint: signed, receipt: matches, ...(log === undefined ? {} : { log }), ...(logged === undefined ? {} : { logged }), inclusion, anchors, quorum, ...(ok ? { facts } : {}) }, ok, ok && quorum.state === "final");
}
