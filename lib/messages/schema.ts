/**
 * The three wire messages of docs/FEDERATION_PROTOCOL.md §Messages (Announce, Request, Bundle) and their schemas.
 * `type` and `v` are inside the signed payload, so a signature for one kind of message
 * can never be replayed as another.
 */
import type { Anchor } from "../anchors/anchor.js";
import { DID_MAX_LENGTH, DID_PATTERN } from "../identity/did.js";
import type { Receipt } from "../receipt.js";
import { array, digest, integer, literal, malformed, object, optionalInteger, string, type Json } from "./fields.js";
import { parseAnchor, parseReceipt } from "./items.js";
import { BATCH_ID_PATTERN, LIMITS, NAMESPACE_PATTERN } from "./limits.js";

export type MessageType = "announce" | "request" | "bundle";

interface Envelope {
  v: 1;
  namespace: string;
  ts: number;
  signer: string;
  /** Detached compact JWS over the canonical form without `sig`. */
  sig: string;
}

export interface Announce extends Envelope {
  type: "announce";
  batchId: string;
  batchRoot: string;
  anchors: Anchor[];
}

export interface Request extends Envelope {
  type: "request";
  fromTs?: number;
  toTs?: number;
  /** Receipt ids (event hashes) wanted. */
  want?: string[];
  /** One batch's receipts and anchors: what a node asks after an Announce (docs/FEDERATION_PROTOCOL.md). */
  batchId?: string;
  /** With batchId: only this root's version of the batch. */
  batchRoot?: string;
  /** With batchId: page of `maxReceiptsPerBundle` receipts, by leaf index. */
  page?: number;
}

export interface Bundle extends Envelope {
  type: "bundle";
  /** messageDigest() of the Request this answers. */
  request: string;
  receipts: Receipt[];
  anchors: Anchor[];
}

export type Message = Announce | Request | Bundle;
/** A message before it is signed. */
export type Unsigned<M extends Message> = Omit<M, "sig">;

const COMMON = ["type", "v", "namespace", "ts", "signer", "sig"] as const;
const SIG_PATTERN = /^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$/;

function envelope(o: Json, path: string): Envelope {
  literal(o, "v", path, 1);
  return {
    v: 1,
    namespace: string(o, "namespace", path, LIMITS.maxNamespaceLength, NAMESPACE_PATTERN),
    ts: integer(o, "ts", path, 0, LIMITS.maxTimestamp),
    signer: string(o, "signer", path, DID_MAX_LENGTH, DID_PATTERN),
    sig: string(o, "sig", path, 1024, SIG_PATTERN),
  };
}

/**
 * Validates an Announce: every anchor must attest the announced batch id and root.
 * @example parseAnnounce(JSON.parse(body))
 */
export function parseAnnounce(value: unknown): Announce {
  const o = object(value, "announce", [...COMMON, "batchId", "batchRoot", "anchors"]);
  literal(o, "type", "announce", "announce");
  const env = envelope(o, "announce");
  const batchId = string(o, "batchId", "announce", LIMITS.maxBatchIdLength, BATCH_ID_PATTERN);
  const batchRoot = digest(o, "batchRoot", "announce");
  const anchors = array(o, "anchors", "announce", LIMITS.maxAnchorsPerAnnounce, 1).map((a, i) => parseAnchor(a, `announce.anchors[${i}]`));
  anchors.forEach((a, i) => {
    if (a.batchId !== batchId || a.batchRoot !== batchRoot) throw malformed(`announce.anchors[${i}]`, "attests another batch than the one announced");
  });
  return { type: "announce", ...env, batchId, batchRoot, anchors };
}

/**
 * Validates a Request: `fromTs ≤ toTs` when both are given; `want` holds distinct receipt ids.
 * @example parseRequest(JSON.parse(body))
 */
export function parseRequest(value: unknown): Request {
  const o = object(value, "request", [...COMMON, "fromTs", "toTs", "want", "batchId", "batchRoot", "page"]);
  literal(o, "type", "request", "request");
  const request: Request = { type: "request", ...envelope(o, "request") };
  const fromTs = optionalInteger(o, "fromTs", "request", 0, LIMITS.maxTimestamp);
  const toTs = optionalInteger(o, "toTs", "request", 0, LIMITS.maxTimestamp);
  if (fromTs !== undefined && toTs !== undefined && fromTs > toTs) throw malformed("request.fromTs", `fromTs ${fromTs} is after toTs ${toTs}`);
  if (fromTs !== undefined) request.fromTs = fromTs;
  if (toTs !== undefined) request.toTs = toTs;
  if (o.want !== undefined) {
    const want = array(o, "want", "request", LIMITS.maxWant).map((id, i) => digest({ id }, "id", `request.want[${i}]`));
    if (new Set(want).size !== want.length) throw malformed("request.want", "holds the same id twice");
    request.want = want;
  }
  if (o.batchId !== undefined) request.batchId = string(o, "batchId", "request", LIMITS.maxBatchIdLength, BATCH_ID_PATTERN);
  if (o.batchRoot !== undefined) {
    if (request.batchId === undefined) throw malformed("request.batchRoot", "needs batchId");
    request.batchRoot = digest(o, "batchRoot", "request");
  }
  if (o.page !== undefined) {
    if (request.batchId === undefined) throw malformed("request.page", "needs batchId");
    request.page = integer(o, "page", "request", 0, 2 ** 32);
  }
  return request;
}

/**
 * Validates a Bundle: every receipt belongs to the bundle's namespace.
 * @example parseBundle(JSON.parse(body))
 */
export function parseBundle(value: unknown): Bundle {
  const o = object(value, "bundle", [...COMMON, "request", "receipts", "anchors"]);
  literal(o, "type", "bundle", "bundle");
  const env = envelope(o, "bundle");
  const request = digest(o, "request", "bundle");
  const receipts = array(o, "receipts", "bundle", LIMITS.maxReceiptsPerBundle).map((r, i) => parseReceipt(r, `bundle.receipts[${i}]`));
  receipts.forEach((r, i) => {
    if (r.namespace !== env.namespace) throw malformed(`bundle.receipts[${i}].namespace`, `is ${r.namespace}, the bundle is for ${env.namespace}`);
  });
  const anchors = array(o, "anchors", "bundle", LIMITS.maxAnchorsPerBundle).map((a, i) => parseAnchor(a, `bundle.anchors[${i}]`));
  return { type: "bundle", ...env, request, receipts, anchors };
}

/**
 * Validates any of the three messages, dispatching on `type`.
 * @example parseMessage(JSON.parse(body)).type // "announce"
 */
export function parseMessage(value: unknown): Message {
  const type = typeof value === "object" && value !== null ? (value as Json).type : undefined;
  if (type === "announce") return parseAnnounce(value);
  if (type === "request") return parseRequest(value);
  if (type === "bundle") return parseBundle(value);
  throw malformed("message.type", "expected \"announce\", \"request\" or \"bundle\"");
}
