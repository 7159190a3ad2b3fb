/**
 * The downloadable proof file (docs/EXPLORER.md §Proof files): one receipt, the batch it
 * belongs to, and the anchors over that batch's root, self-contained so a third party can
 * check it offline with `vmsh-federation verify-proof FILE` or with the library
 * (`verifyInclusion`, `verifyTimestampToken`). The exporting node's verdicts travel along for
 * information only; the checker reaches its own.
 */
import type { Anchor } from "../anchors/anchor.js";
import { claimOf, type AnchorRecord } from "../conflict/record.js";
import { ProtocolError } from "../errors.js";
import { verifyInclusion } from "../merkle/verify.js";
import { object, literal, integer, string } from "../messages/fields.js";
import { parseAnchor, parseReceipt } from "../messages/items.js";
import { LIMITS } from "../messages/limits.js";
import type { Receipt } from "../receipt.js";

export interface ProofFile {
  type: "vmsh-proof";
  v: 1;
  /** DID of the node the file was downloaded from, and when (unix seconds). */
  exportedBy: string;
  exportedAt: number;
  receipt: Receipt;
  /** Wire anchors over `receipt.batchRoot`. */
  anchors: Anchor[];
  /** What the exporting node concluded about each anchor: shown, never trusted. */
  exporterVerdicts: Array<{ chain: string; tx: string; outcome: string; reason?: string; superseded_by?: string }>;
}

/** A proof file larger than this is refused before parsing. */
export const MAX_PROOF_FILE_BYTES = 16 * 1024 * 1024;
const MAX_ANCHORS = 64;

/**
 * The proof file for `receipt` with the stored `anchors` of its batch version.
 * @example JSON.stringify(proofFile(receipt, anchors, "did:vm:node:a", now))
 */
export function proofFile(receipt: Receipt, anchors: readonly AnchorRecord[], exportedBy: string, exportedAt: number): ProofFile {
  const own = anchors.filter((a) => a.batchId === receipt.batchId && a.batchRoot === receipt.batchRoot);
  return {
    type: "vmsh-proof",
    v: 1,
    exportedBy,
    exportedAt,
    receipt,
    anchors: own.map((a) => claimOf(a)),
    exporterVerdicts: own.map((a) => ({ chain: a.chain, tx: a.tx, outcome: a.outcome, ...(a.reason !== undefined ? { reason: a.reason } : {}), ...(a.superseded_by !== undefined ? { superseded_by: a.superseded_by } : {}) })),
  };
}

/**
 * Validates a parsed proof file's shape; throws ProtocolError (code MALFORMED) naming the member.
 * @example parseProofFile(JSON.parse(text)).receipt.eventHash
 */
export function parseProofFile(json: unknown): ProofFile {
  const o = object(json, "proof", ["type", "v", "exportedBy", "exportedAt", "receipt", "anchors", "exporterVerdicts"]);
  literal(o, "type", "proof", "vmsh-proof");
  literal(o, "v", "proof", 1);
  const exportedBy = string(o, "exportedBy", "proof", 256);
  const exportedAt = integer(o, "exportedAt", "proof", 0, LIMITS.maxTimestamp);
  const receipt = parseReceipt(o.receipt, "proof.receipt");
  if (!Array.isArray(o.anchors) || o.anchors.length > MAX_ANCHORS) throw new ProtocolError("MALFORMED", 400, `proof.anchors: expected a list of at most ${MAX_ANCHORS} anchors`);
  const anchors = o.anchors.map((a, i) => parseAnchor(a, `proof.anchors[${i}]`));
  const verdicts = Array.isArray(o.exporterVerdicts) ? o.exporterVerdicts.slice(0, MAX_ANCHORS) : [];
  const exporterVerdicts = verdicts.map((v, i) => {
    const p = `proof.exporterVerdicts[${i}]`;
    const e = object(v, p, ["chain", "tx", "outcome", "reason", "superseded_by"]);
    const out: ProofFile["exporterVerdicts"][number] = { chain: string(e, "chain", p, 80), tx: string(e, "tx", p, LIMITS.maxTxLength), outcome: string(e, "outcome", p, 16) };
    if (typeof e.reason === "string") out.reason = e.reason.slice(0, 2000);
    if (typeof e.superseded_by === "string") out.superseded_by = e.superseded_by.slice(0, 300);
    return out;
  });
  return { type: "vmsh-proof", v: 1, exportedBy, exportedAt, receipt, anchors, exporterVerdicts };
}

export type AnchorCheck = (anchor: Anchor, batchRoot: string) => Promise<{ outcome: "verified" | "pending" | "rejected" | "unchecked"; reason?: string }>;

export interface ProofVerdict {
  ok: boolean;
  inclusion: { ok: boolean; reason?: string };
  anchors: Array<{ chain: string; tx: string; outcome: "verified" | "pending" | "rejected" | "unchecked"; reason?: string }>;
}

/**
 * Checks a proof: the receipt's inclusion in its batch root, then each anchor with `check`
 * (the checker's own policy). `ok` needs the inclusion and at least one verified anchor over
 * that same root and batch id. Never throws for the file's content.
 * @example const v = await verifyProof(parseProofFile(json), tsaOnlyCheck); if (!v.ok) exit(1)
 */
export async function verifyProof(proof: ProofFile, check: AnchorCheck): Promise<ProofVerdict> {
  const inc = verifyInclusion(proof.receipt);
  const inclusion = inc.ok ? { ok: true } : { ok: false, reason: inc.reason };
  const anchors: ProofVerdict["anchors"] = [];
  for (const a of proof.anchors) {
    if (a.batchRoot !== proof.receipt.batchRoot || a.batchId !== proof.receipt.batchId) {
      anchors.push({ chain: a.chain, tx: a.tx, outcome: "rejected", reason: `anchors batch ${a.batchId} root ${a.batchRoot}, not the receipt's batch ${proof.receipt.batchId} root ${proof.receipt.batchRoot}` });
      continue;
    }
    const r = await check(a, proof.receipt.batchRoot);
    anchors.push({ chain: a.chain, tx: a.tx, outcome: r.outcome, ...(r.reason !== undefined ? { reason: r.reason } : {}) });
  }
  return { ok: inclusion.ok && anchors.some((a) => a.outcome === "verified"), inclusion, anchors };
}
