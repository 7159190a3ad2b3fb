/**
 * The witness side of tlog-witness `add-checkpoint` (c2sp.org/tlog-witness;
 * docs/FEDERATION_PROTOCOL.md §Witnessed heads): the request body (old size line, consistency
 * proof lines, blank line, checkpoint note) and the decision, with the HTTP status the
 * specification gives each refusal. Pure: the witness's record of the last head it cosigned
 * comes in, the new record goes out, and the caller persists it before answering.
 */
import { sha256 } from "../digest.js";
import { parseCheckpoint } from "./checkpoint.js";
import { decodeBase64, noteSignatureLine, openNote, type NoteSigner, type NoteVerifier } from "./note.js";
import { MAX_PROOF_HASHES, verifyConsistency } from "./proof.js";

/** What a witness keeps per log: the latest checkpoint it cosigned, as the log signed it. */
export interface WitnessRecord {
  origin: string;
  size: number;
  /** base64, as in the checkpoint. */
  rootHash: string;
  /** The checkpoint note the witness verified (log signature lines included). */
  note: string;
}

export interface AddCheckpointRequest {
  oldSize: number;
  proof: Uint8Array[];
  /** The signed checkpoint note. */
  note: string;
}

/**
 * Two signed heads of one log that cannot both be true: the same size with two roots, or a
 * head the log offered without a valid consistency proof from one already cosigned.
 */
export interface ForkEvidence {
  kind: "same-size" | "no-consistency-proof";
  origin: string;
  /** The note the witness had cosigned. */
  cosigned: string;
  /** The note the log offered. */
  offered: string;
  /** The consistency proof lines the log offered (base64). */
  proof: string[];
}

export type AddCheckpointOutcome =
  | { status: 200; body: string; record: WitnessRecord }
  | { status: 400 | 403 | 404 | 409 | 422; reason: string; body: string; contentType: string; evidence?: ForkEvidence };

/**
 * The request body of add-checkpoint.
 * @example formatAddCheckpoint({ oldSize: 0, proof: [], note }) // "old 0\n\n" + note
 */
export function formatAddCheckpoint(request: AddCheckpointRequest): string {
  return `old ${request.oldSize}\n${request.proof.map((h) => `${Buffer.from(h).toString("base64")}\n`).join("")}\n${request.note}`;
}

/**
 * Reads an add-checkpoint body; a reason when it is malformed (the witness answers 400).
 * @example parseAddCheckpoint("old 0\n\n" + note)
 */
export function parseAddCheckpoint(body: string): AddCheckpointRequest | { reason: string } {
  const m = /^old (0|[1-9][0-9]{0,15})\n/.exec(body);
  if (m === null) return { reason: "the body does not start with an old size line" };
  let at = m[0].length;
  const proof: Uint8Array[] = [];
  for (;;) {
    const end = body.indexOf("\n", at);
    if (end < 0) return { reason: "the body has no blank line before the checkpoint" };
    const line = body.slice(at, end);
    at = end + 1;
    if (line === "") break;
    const hash = decodeBase64(line);
    if (hash === undefined || hash.length !== 32) return { reason: "a consistency proof line is not base64 of 32 bytes" };
    proof.push(hash);
    if (proof.length > MAX_PROOF_HASHES) return { reason: `more than ${MAX_PROOF_HASHES} consistency proof lines` };
  }
  const oldSize = Number(m[1]);
  if (!Number.isSafeInteger(oldSize)) return { reason: "the old size is too large" };
  return { oldSize, proof, note: body.slice(at) };
}

/**
 * Decides an add-checkpoint request as tlog-witness says: 404 unknown origin, 403 no valid log
 * signature, 400 old size above the checkpoint's, 409 old size not the one last cosigned (body:
 * that size), 422 a bad empty tree, a bad proof, or a second root for one size (then with fork
 * evidence); 200 with the cosignature line(s) and the record to persist.
 * @example const out = addCheckpoint(request, { logKeys, latest, cosigners: [signer] }); if (out.status === 200) await save(out.record)
 */
export function addCheckpoint(
  request: AddCheckpointRequest,
  context: { logKeys: (origin: string) => readonly NoteVerifier[] | undefined; latest: (origin: string) => WitnessRecord | undefined; cosigners: readonly NoteSigner[] },
): AddCheckpointOutcome {
  const text = (status: 400 | 403 | 404 | 409 | 422, reason: string, evidence?: ForkEvidence): AddCheckpointOutcome => ({
    status, reason, body: `${reason}\n`, contentType: "text/plain; charset=utf-8", ...(evidence ? { evidence } : {}),
  });
  // The origin line comes before any signature check, to tell 404 from 403.
  const origin = request.note.slice(0, Math.max(0, request.note.indexOf("\n")));
  const keys = context.logKeys(origin);
  if (keys === undefined || keys.length === 0) return text(404, `unknown log origin ${JSON.stringify(origin.slice(0, 120))}`);
  const opened = openNote(request.note, keys);
  if (opened.outcome === "rejected") return text(403, `the checkpoint is not signed by the log: ${opened.reason}`);
  const head = parseCheckpoint(opened.text);
  if ("reason" in head) return text(400, `not a checkpoint: ${head.reason}`);
  if (request.oldSize > head.size) return text(400, `old size ${request.oldSize} exceeds the checkpoint size ${head.size}`);
  const latest = context.latest(origin);
  const knownSize = latest?.size ?? 0;
  if (request.oldSize !== knownSize) {
    return { status: 409, reason: `this witness last cosigned size ${knownSize}`, body: `${knownSize}\n`, contentType: "text/x.tlog.size" };
  }
  const rootB64 = Buffer.from(head.rootHash).toString("base64");
  if (head.size === 0 && rootB64 !== Buffer.from(sha256()).toString("base64")) return text(422, "a checkpoint of size 0 must have the empty tree's root hash");
  const proofB64 = request.proof.map((h) => Buffer.from(h).toString("base64"));
  if (latest === undefined) {
    if (request.proof.length > 0) return text(422, "a proof from old size 0 must be empty");
  } else {
    const check = verifyConsistency(latest.size, head.size, request.proof, Buffer.from(latest.rootHash, "base64"), head.rootHash);
    if (check.outcome === "rejected") {
      const kind = latest.size === head.size ? "same-size" : "no-consistency-proof";
      return text(422, `the checkpoint is not consistent with the one this witness cosigned: ${check.reason}`, { kind, origin, cosigned: latest.note, offered: request.note, proof: proofB64 });
    }
  }
  // Cosign the checkpoint as the log signed it (its text), never a re-rendering of it.
  const body = context.cosigners.map((s) => noteSignatureLine(opened.text, s)).join("");
  return { status: 200, body, record: { origin, size: head.size, rootHash: rootB64, note: request.note } };
}

