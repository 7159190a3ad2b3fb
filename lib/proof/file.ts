/**
 * The proof file, version 2 (docs/EXPLORER.md §Proof files): one receipt, the origin-signed
 * checkpoint of its batch version, the anchors over that version's root and the witness
 * cosignatures of that checkpoint, self-contained so that a third party holding a trust file
 * (lib/proof/trust.ts) can check it offline (lib/proof/verify.ts). The exporting node's name
 * and verdicts travel along as unverified labels. This file is the format only: building and
 * reading, no verification.
 */
import { parseStrictJson } from "./read.js";
import type { Anchor } from "../anchors/anchor.js";
import { claimOf, type AnchorRecord } from "../conflict/record.js";
import { ProtocolError } from "../errors.js";
import { DID_MAX_LENGTH, DID_PATTERN } from "../identity/did.js";
import { messageDigest } from "../messages/canonical.js";
import { parseCheckpoint, type Checkpoint } from "../messages/checkpoint.js";
import { parseCosignature, type Cosignature } from "../messages/cosignature.js";
import { integer, object, string } from "../messages/fields.js";
import { parseAnchor, parseReceipt } from "../messages/items.js";
import { LIMITS } from "../messages/limits.js";
import type { Receipt } from "../receipt.js";
import type { LogInclusionProof } from "../origin-log/logged.js";
import { MAX_NOTE_BYTES } from "../tlog/note.js";

/** What the exporting node concluded about one anchor: shown, never trusted. */
export interface ExporterVerdict {
  chain: string;
  tx: string;
  outcome: string;
  reason?: string;
  superseded_by?: string;
}

export interface ProofFile {
  type: "vmsh-proof";
  v: 2;
  receipt: Receipt;
  /** The origin-signed checkpoint of the receipt's batch version (docs/FEDERATION_PROTOCOL.md §Checkpoint). */
  checkpoint: Checkpoint;
  /** Wire anchors over `checkpoint.batchRoot`, at most MAX_PROOF_ANCHORS. */
  anchors: Anchor[];
  /** Witness cosignatures of `checkpoint` (docs/FEDERATION_SEMANTICS.md §8. Quorum), at most MAX_PROOF_COSIGNATURES. */
  cosignatures: Cosignature[];
  /**
   * The checkpoint's inclusion in its origin's log (docs/EXPLORER.md §The log part): the log head
   * as a signed note with the witnesses' cosignature lines, the checkpoint's leaf index and the
   * RFC 9162 inclusion path. Absent when the exporter held no head that k witnesses cosigned
   * and that includes the checkpoint: the file is then unlogged.
   */
  log?: LogInclusionProof;
  /** DID of the node the file was downloaded from, and when (unix seconds): labels, not facts. */
  exportedBy: string;
  exportedAt: number;
  exporterVerdicts: ExporterVerdict[];
}

/** A proof file larger than this is refused before parsing. */
export const MAX_PROOF_FILE_BYTES = 16 * 1024 * 1024;
export const MAX_PROOF_ANCHORS = 64;
export const MAX_PROOF_COSIGNATURES = 64;
/** RFC 9162: a path in a tree of at most 2^63 leaves has at most 63 hashes. */
export const MAX_LOG_PROOF_HASHES = 63;

const MEMBERS = ["type", "v", "receipt", "checkpoint", "anchors", "cosignatures", "log", "exportedBy", "exportedAt", "exporterVerdicts"] as const;

/** What `proofFile` reads of a stored batch version (the store's StoredBatch has these members). */
export interface ProvenVersion {
  checkpoint: Checkpoint;
  anchors: readonly AnchorRecord[];
  cosignatures?: readonly Cosignature[];
}

const verdictOf = (a: AnchorRecord): ExporterVerdict => ({
  chain: a.chain,
  tx: a.tx,
  outcome: a.outcome,
  ...(a.reason !== undefined ? { reason: a.reason } : {}),
  ...(a.superseded_by !== undefined ? { superseded_by: a.superseded_by } : {}),
});

/**
 * The proof file for `receipt`, served from the stored `version` (its checkpoint, anchors and
 * cosignatures). Only anchors over the checkpoint's root and cosignatures of that very
 * checkpoint are taken; verified anchors first when there are more than fit. `log` is the
 * checkpoint's inclusion in a witnessed head of its origin's log, when the exporter has one.
 * @example JSON.stringify(proofFile(receipt, storedVersion, "did:vm:node:a", now, logged.proof))
 */
export function proofFile(receipt: Receipt, version: ProvenVersion, exportedBy: string, exportedAt: number, log?: LogInclusionProof): ProofFile {
  const { checkpoint } = version;
  const digest = messageDigest(checkpoint);
  const rank = (a: AnchorRecord) => (a.outcome === "verified" ? 0 : a.outcome === "pending" ? 1 : 2);
  const own = version.anchors
    .filter((a) => a.batchRoot === checkpoint.batchRoot)
    .map((a, i) => ({ a, i }))
    .sort((x, y) => rank(x.a) - rank(y.a) || x.i - y.i)
    .slice(0, MAX_PROOF_ANCHORS)
    .map((x) => x.a);
  const cosignatures = (version.cosignatures ?? []).filter((c) => c.checkpoint === digest && c.batchRoot === checkpoint.batchRoot).slice(0, MAX_PROOF_COSIGNATURES);
  return {
    type: "vmsh-proof",
    v: 2,
    receipt,
    checkpoint,
    anchors: own.map((a) => claimOf(a)),
    cosignatures: [...cosignatures],
    ...(log === undefined ? {} : { log: { head: log.head, index: log.index, proof: [...log.proof] } }),
    exportedBy,
    exportedAt,
    exporterVerdicts: own.map(verdictOf),
  };
}

const refuse = (message: string): never => {
  throw new ProtocolError("MALFORMED", 400, message);
};

function list(o: Record<string, unknown>, key: string, max: number): unknown[] {
  const v = o[key];
  if (!Array.isArray(v) || v.length > max) refuse(`proof.${key}: expected a list of at most ${max}`);
  return v as unknown[];
}

/**
 * Validates a proof file's shape (not what it proves); throws ProtocolError MALFORMED naming the
 * member. Given the file's text, it is parsed as the CLI parses it (lib/proof/read.ts
 * parseStrictJson: bounded depth, a member named twice refused with MALFORMED_JSON); given a value
 * already parsed, duplicates are gone and cannot be seen. A version 1 file is refused: it binds no origin.
 * @example parseProofFile(await readFile("proof.json", "utf8")).checkpoint.origin
 */
export function parseProofFile(input: unknown): ProofFile {
  const json = typeof input === "string" ? parseStrictJson(input, "proof") : input;
  if (typeof json === "object" && json !== null && !Array.isArray(json) && (json as Record<string, unknown>).type === "vmsh-proof" && (json as Record<string, unknown>).v === 1) {
    refuse("this is a version 1 proof file: it binds no origin checkpoint, so its namespace, batch id and size are unbound labels (docs/EXPLORER.md §Proof files); download the proof again from a node of 0.3.0 or later");
  }
  const o = object(json, "proof", MEMBERS);
  if (o.type !== "vmsh-proof") refuse('proof.type: expected "vmsh-proof"');
  if (o.v !== 2) refuse(`proof.v: expected 2, got ${JSON.stringify(o.v)?.slice(0, 20)}`);
  const receipt = parseReceipt(o.receipt, "proof.receipt");
  const checkpoint = parseCheckpoint(o.checkpoint, "proof.checkpoint");
  const anchors = list(o, "anchors", MAX_PROOF_ANCHORS).map((a, i) => parseAnchor(a, `proof.anchors[${i}]`));
  const cosignatures = list(o, "cosignatures", MAX_PROOF_COSIGNATURES).map((c, i) => parseCosignature(c, `proof.cosignatures[${i}]`));
  const exportedBy = string(o, "exportedBy", "proof", DID_MAX_LENGTH, DID_PATTERN);
  const exportedAt = integer(o, "exportedAt", "proof", 0, LIMITS.maxTimestamp);
  const exporterVerdicts = list(o, "exporterVerdicts", MAX_PROOF_ANCHORS).map((v, i) => {
    const p = `proof.exporterVerdicts[${i}]`;
    const e = object(v, p, ["chain", "tx", "outcome", "reason", "superseded_by"]);
    const out: ExporterVerdict = { chain: string(e, "chain", p, 80), tx: string(e, "tx", p, LIMITS.maxTxLength), outcome: string(e, "outcome", p, 16) };
    if (e.reason !== undefined) out.reason = string(e, "reason", p, 2000);
    if (e.superseded_by !== undefined) out.superseded_by = string(e, "superseded_by", p, 300);
    return out;
  });
  const proof: ProofFile = { type: "vmsh-proof", v: 2, receipt, checkpoint, anchors, cosignatures, exportedBy, exportedAt, exporterVerdicts };
  if (o.log !== undefined) proof.log = parseLog(o.log);
  return proof;
}

/**
 * `proof.log`'s shape: `{ head, index, proof }` with a note of at most MAX_NOTE_BYTES, a whole
 * index and at most MAX_LOG_PROOF_HASHES base64 strings. Whether it proves anything is
 * lib/proof/verify.ts's question.
 */
function parseLog(value: unknown): LogInclusionProof {
  const p = "proof.log";
  const o = object(value, p, ["head", "index", "proof"]);
  const head = string(o, "head", p, MAX_NOTE_BYTES);
  const index = integer(o, "index", p, 0, Number.MAX_SAFE_INTEGER);
  const path = o.proof;
  if (!Array.isArray(path) || path.length > MAX_LOG_PROOF_HASHES) refuse(`${p}.proof: expected a list of at most ${MAX_LOG_PROOF_HASHES} hashes (RFC 9162: a tree of at most 2^63 leaves)`);
  const proof = (path as unknown[]).map((h, i) => {
    if (typeof h !== "string" || h.length > 64) refuse(`${p}.proof[${i}]: expected base64 of a 32-byte hash`);
    return h as string;
  });
  return { head, index, proof };
}
