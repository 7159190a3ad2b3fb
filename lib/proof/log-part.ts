/**
 * The log part of a proof file (docs/EXPLORER.md §The log part): the checkpoint's inclusion in a
 * head of its origin's log, counted as verify-proof counts it (k distinct witnesses of the
 * namespace's quorum, never the origin itself), for the checker (lib/proof/verify.ts) and for
 * the exporter that decides whether a file carries one. Pure.
 */
import { rawPublicKey } from "../identity/keys.js";
import type { Checkpoint } from "../messages/checkpoint.js";
import { verifyLogged, type LogInclusionProof, type LoggedCheck, type LogTrust } from "../origin-log/logged.js";
import { logOrigin } from "../origin-log/origin-log.js";
import type { ProofFile } from "./file.js";
import type { TrustPolicy } from "./trust.js";

export type StepResult = { ok: true } | { ok: false; reason: string };

/**
 * What the file shows of the checkpoint's place in its origin's log
 * (docs/EXPLORER.md §The log part): `logged` when the log part holds, `unlogged` when the file
 * carries none.
 */
export type ProofLog =
  | {
      state: "logged";
      /** The log's origin line, `vmsh-federation/log/<origin DID>`. */
      log: string;
      /** The checkpoint's leaf index, and the size of the head that includes it. */
      index: number;
      size: number;
      /** Distinct witnesses of the policy needed, and listed (the origin itself excluded). */
      k: number;
      n: number;
      /** Policy witnesses whose cosignature of the head verified, earliest first, with their cosignature times (unix seconds). */
      cosigners: Array<{ did: string; time: number }>;
      /** The k-th earliest cosignature time: when k witnesses had seen the checkpoint in the log. */
      witnessedAt: number;
    }
  | { state: "unlogged"; reason: string };


/**
 * The log part of a proof file under `trust`, as verify-proof counts it: `verifyLogged`
 * (lib/origin-log/logged.ts) with the origin taken out of the witnesses, since its cosignature
 * of its own head would let it vouch for a fork it shows. An exporter writes a log part only
 * when this holds with `witnessedAt`, so that it never writes one verify-proof refuses.
 * @example const r = verifyLogPart(cp, inc, trust); if (r.outcome === "verified" && r.witnessedAt !== undefined) file.log = inc
 */
export function verifyLogPart(checkpoint: Checkpoint, log: LogInclusionProof, trust: LogTrust): LoggedCheck {
  return verifyLogged(checkpoint, log, { ...trust, witnesses: new Map([...trust.witnesses].filter(([did]) => did !== checkpoint.origin)) });
}

/**
 * What an exporter writes as a proof file's `log` (docs/EXPLORER.md §The log part): `inclusion`
 * when it holds under verify-proof's count with `trust` (the exporting node's), else unlogged
 * with the reason, so that no file carries a log part verify-proof would refuse.
 * @example const part = exportableLog(cp, inc, trust); proofFile(r, v, me, now, part.state === "logged" ? part.proof : undefined)
 */
export function exportableLog(checkpoint: Checkpoint, inclusion: LogInclusionProof, trust: LogTrust): { state: "logged"; proof: LogInclusionProof } | { state: "unlogged"; reason: string } {
  const r = verifyLogPart(checkpoint, inclusion, trust);
  if (r.outcome === "rejected") return { state: "unlogged", reason: r.reason };
  if (r.witnessedAt === undefined) return { state: "unlogged", reason: `the head including it has ${r.cosigners.length} of ${trust.k} witness cosignatures, the origin's own not counted` };
  return { state: "logged", proof: inclusion };
}

const UNLOGGED = "the file carries no inclusion of the checkpoint in its origin's log (log): nothing in it shows that witnesses saw the checkpoint in that log";

/**
 * The log part (docs/EXPLORER.md §The log part), once steps 1 and 2 hold: against the origin key
 * step 1 used and the namespace's witnesses and k. Undefined step when the file carries none.
 * @example const { step, logged } = checkLogPart(proof, policy); if (step?.ok === false) refuse(step.reason)
 */
export function checkLogPart(proof: ProofFile, policy: TrustPolicy): { step?: StepResult; logged?: ProofLog } {
  const cp = proof.checkpoint;
  if (proof.log === undefined) return { logged: { state: "unlogged", reason: UNLOGGED } };
  const fail = (reason: string) => ({ step: { ok: false as const, reason } });
  const t = policy.namespaces.get(cp.namespace);
  const originKey = t?.origins.get(cp.origin);
  if (t === undefined || originKey === undefined) return fail(`the trust policy lists no key for origin ${cp.origin}`);
  if (t.quorum === undefined) return fail(`the trust policy sets no quorum for ${cp.namespace}, so no witness cosignature of the log head can be counted`);
  const witnesses = new Map([...t.quorum.witnesses].map(([did, key]) => [did, rawPublicKey(key)]));
  const r = verifyLogPart(cp, proof.log, { originKey: rawPublicKey(originKey), witnesses, k: t.quorum.k });
  if (r.outcome === "rejected") return fail(r.reason);
  if (r.witnessedAt === undefined) {
    const who = r.cosigners.length === 0 ? "" : ` (${r.cosigners.map((c) => c.did).join(", ")})`;
    return fail(`log.head: cosigned by ${r.cosigners.length} of the ${t.quorum.k} distinct witnesses of ${cp.namespace} needed${who}; the origin's own cosignature of its log does not count`);
  }
  return { step: { ok: true }, logged: { state: "logged", log: logOrigin(cp.origin), index: r.index, size: r.size, k: t.quorum.k, n: witnesses.size - (witnesses.has(cp.origin) ? 1 : 0), cosigners: r.cosigners, witnessedAt: r.witnessedAt } };
}

