/**
 * The three wire messages of docs/FEDERATION_PROTOCOL.md §Messages (Announce, Request, Bundle) and their schemas.
 * `type` and `v` are inside the signed payload, so a signature for one kind of message
 * can never be replayed as another.
 */
import type { Anchor } from "../anchors/anchor.js";
import { DID_MAX_LENGTH, DID_PATTERN } from "../identity/did.js";
import type { Receipt } from "../receipt.js";
import { VERSION } from "../version.js";
import { array, digest, integer, literal, malformed, object, optionalInteger, string, type Json } from "./fields.js";
import { parseCheckpoint, type Checkpoint } from "./checkpoint.js";
import { parseAnchor, parseReceipt } from "./items.js";
import { parseCosignature, type Cosignature } from "./cosignature.js";
import { leafChars, parseLeafSet, type LeafSet } from "./leaves.js";
import { BATCH_ID_PATTERN, LIMITS, NAMESPACE_PATTERN } from "./limits.js";

export type MessageType = "announce" | "request" | "bundle";

interface Envelope<V extends number = 2 | 3 | 4> {
  v: V;
  namespace: string;
  /** DID of the receiving node: a message accepted by one node cannot be replayed to another. */
  aud: string;
  ts: number;
  signer: string;
  /** Detached compact JWS over the canonical form without `sig`. */
  sig: string;
}

/**
 * Version 2 adds the origin's checkpoint of the announced batch (docs/FEDERATION_PROTOCOL.md §Checkpoint);
 * version 3 adds witness cosignatures (docs/FEDERATION_PROTOCOL.md §Cosignature). A sender uses
 * version 3 only when it carries cosignatures, so a node without any still speaks to 0.2.0 peers.
 */
export interface Announce extends Envelope<2 | 3> {
  type: "announce";
  batchId: string;
  batchRoot: string;
  /** The origin's signed checkpoint of this batch version, forwarded unchanged by relays. */
  checkpoint: Checkpoint;
  anchors: Anchor[];
  /** Version 3: witness cosignatures of this batch id held by the sender, forwarded unchanged. */
  cosignatures?: Cosignature[];
}

/**
 * Version 2 adds `aud`. Version 3 (same members) asks for a Bundle of version 4, leaves instead
 * of paths (docs/FEDERATION_PROTOCOL.md §Leaves); a peer that refuses it is asked again with 2.
 */
export interface Request extends Envelope<2 | 3> {
  type: "request";
  fromTs?: number;
  toTs?: number;
  /** Ids wanted: receipt ids (event hashes) and attachment item ids (docs/ANTI_ENTROPY.md §Attachment items). */
  want?: string[];
  /** One batch's receipts and anchors: what a node asks after an Announce (docs/FEDERATION_PROTOCOL.md). */
  batchId?: string;
  /** With batchId: only this root's version of the batch. */
  batchRoot?: string;
  /** With batchRoot: only the version of this origin (docs/FEDERATION_PROTOCOL.md §Messages); absent: every version of the root. */
  origin?: string;
  /** With batchId: page of `maxReceiptsPerBundle` receipts, by leaf index. */
  page?: number;
}

/**
 * Version 2 adds the checkpoints of the batch versions its receipts belong to; version 3
 * cosignatures, as Announce; version 4, the answer to a version 3 Request, whole versions as
 * `leaves` (docs/FEDERATION_PROTOCOL.md §Leaves).
 */
export interface Bundle extends Envelope<2 | 3 | 4> {
  type: "bundle";
  /** messageDigest() of the Request this answers. */
  request: string;
  /** At least one origin checkpoint per batch version a receipt belongs to. */
  checkpoints: Checkpoint[];
  receipts: Receipt[];
  anchors: Anchor[];
  /** Version 3: witness cosignatures of the batch versions `checkpoints` names. */
  cosignatures?: Cosignature[];
  /** Version 4: whole batch versions as their leaves; the receiver derives their receipts (lib/messages/leaves.ts). */
  leaves?: LeafSet[];
}

export type Message = Announce | Request | Bundle;
/** A message before it is signed. */
export type Unsigned<M extends Message> = Omit<M, "sig">;

const COMMON = ["type", "v", "namespace", "aud", "ts", "signer", "sig"] as const;
const SIG_PATTERN = /^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$/;

/**
 * Refuses a message of an older wire version with a 400 that names what it lacks, so the
 * operator of a 0.1.0 peer reads what to upgrade (docs/FEDERATION_PROTOCOL.md §Upgrading from 0.1.0).
 */
function version<V extends number>(o: Json, path: string, v: V, added: string, also?: number): V {
  if (o.v === 1 && v !== 1) throw malformed(`${path}.v`, `message version 1 lacks the member ${added}; this node speaks version ${v} (vmsh-federation ${VERSION}): upgrade the sender (docs/FEDERATION_PROTOCOL.md §Upgrading from 0.1.0)`);
  if (also !== undefined && o.v === also) return also as V;
  if (also !== undefined && o.v !== v) throw malformed(`${path}.v`, `expected ${v} or ${also}`);
  literal(o, "v", path, v);
  return v;
}

function envelope<V extends number>(o: Json, path: string, v: V, added: string, also?: number): Envelope<V> {
  v = version(o, path, v, added, also);
  if (o.aud === undefined) throw malformed(`${path}.aud`, "is missing: version 2 messages name their recipient's DID");
  return {
    v,
    aud: string(o, "aud", path, DID_MAX_LENGTH, DID_PATTERN),
    namespace: string(o, "namespace", path, LIMITS.maxNamespaceLength, NAMESPACE_PATTERN),
    ts: integer(o, "ts", path, 0, LIMITS.maxTimestamp),
    signer: string(o, "signer", path, DID_MAX_LENGTH, DID_PATTERN),
    sig: string(o, "sig", path, 1024, SIG_PATTERN),
  };
}

/**
 * The `cosignatures` of a version 3 Announce or Bundle: at most `max`, each about `namespace`
 * and, for an Announce, the announced batch id. A version 2 message has none.
 */
function cosignaturesOf(o: Json, path: string, v: number, max: number, namespace: string, batchId?: string): Cosignature[] | undefined {
  if (o.cosignatures === undefined) return undefined;
  if (v < 3) throw malformed(`${path}.cosignatures`, "needs message version 3 (docs/FEDERATION_PROTOCOL.md §Cosignature)");
  return array(o, "cosignatures", path, max).map((c, i) => {
    const cs = parseCosignature(c, `${path}.cosignatures[${i}]`);
    if (cs.namespace !== namespace) throw malformed(`${path}.cosignatures[${i}].namespace`, `is ${cs.namespace}, the message is for ${namespace}`);
    if (batchId !== undefined && cs.batchId !== batchId) throw malformed(`${path}.cosignatures[${i}]`, "cosigns another batch than the one announced");
    return cs;
  });
}

/**
 * Validates an Announce: every anchor must attest the announced batch id and root.
 * @example parseAnnounce(JSON.parse(body))
 */
export function parseAnnounce(value: unknown): Announce {
  const o = object(value, "announce", [...COMMON, "batchId", "batchRoot", "checkpoint", "anchors", "cosignatures"]);
  literal(o, "type", "announce", "announce");
  const env = envelope<2 | 3>(o, "announce", 2, "checkpoint and aud", 3);
  const batchId = string(o, "batchId", "announce", LIMITS.maxBatchIdLength, BATCH_ID_PATTERN);
  const batchRoot = digest(o, "batchRoot", "announce");
  if (o.checkpoint === undefined) throw malformed("announce.checkpoint", "is missing: version 2 announces carry the origin's checkpoint of the batch");
  const checkpoint = parseCheckpoint(o.checkpoint, "announce.checkpoint");
  if (checkpoint.namespace !== env.namespace || checkpoint.batchId !== batchId || checkpoint.batchRoot !== batchRoot) throw malformed("announce.checkpoint", "is for another batch than the one announced");
  const anchors = array(o, "anchors", "announce", LIMITS.maxAnchorsPerAnnounce, 1).map((a, i) => parseAnchor(a, `announce.anchors[${i}]`));
  anchors.forEach((a, i) => {
    if (a.batchId !== batchId || a.batchRoot !== batchRoot) throw malformed(`announce.anchors[${i}]`, "attests another batch than the one announced");
  });
  const cosignatures = cosignaturesOf(o, "announce", env.v, LIMITS.maxCosignaturesPerAnnounce, env.namespace, batchId);
  return { type: "announce", ...env, batchId, batchRoot, checkpoint, anchors, ...(cosignatures === undefined ? {} : { cosignatures }) };
}

/**
 * Validates a Request: `fromTs ≤ toTs` when both are given; `want` holds distinct receipt ids.
 * @example parseRequest(JSON.parse(body))
 */
export function parseRequest(value: unknown): Request {
  const o = object(value, "request", [...COMMON, "fromTs", "toTs", "want", "batchId", "batchRoot", "origin", "page"]);
  literal(o, "type", "request", "request");
  const request: Request = { type: "request", ...envelope<2 | 3>(o, "request", 2, "aud", 3) };
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
  if (o.origin !== undefined) {
    if (request.batchRoot === undefined) throw malformed("request.origin", "needs batchRoot");
    request.origin = string(o, "origin", "request", DID_MAX_LENGTH, DID_PATTERN);
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
  const o = object(value, "bundle", [...COMMON, "request", "checkpoints", "receipts", "anchors", "cosignatures", "leaves"]);
  literal(o, "type", "bundle", "bundle");
  const env = o.v === 4 ? envelope<4>(o, "bundle", 4, "checkpoints and aud") : envelope<2 | 3>(o, "bundle", 2, "checkpoints and aud", 3);
  const request = digest(o, "request", "bundle");
  if (o.checkpoints === undefined) throw malformed("bundle.checkpoints", "is missing: version 2 bundles carry the origin checkpoints of their batches");
  const checkpoints = array(o, "checkpoints", "bundle", LIMITS.maxCheckpointsPerBundle).map((c, i) => parseCheckpoint(c, `bundle.checkpoints[${i}]`));
  const versions = new Set<string>();
  checkpoints.forEach((c, i) => {
    if (c.namespace !== env.namespace) throw malformed(`bundle.checkpoints[${i}].namespace`, `is ${c.namespace}, the bundle is for ${env.namespace}`);
    versions.add(`${c.batchId}\u0000${c.batchRoot}`);
  });
  const receipts = array(o, "receipts", "bundle", LIMITS.maxReceiptsPerBundle).map((r, i) => parseReceipt(r, `bundle.receipts[${i}]`));
  receipts.forEach((r, i) => {
    if (r.namespace !== env.namespace) throw malformed(`bundle.receipts[${i}].namespace`, `is ${r.namespace}, the bundle is for ${env.namespace}`);
    if (!versions.has(`${r.batchId}\u0000${r.batchRoot}`)) throw malformed(`bundle.receipts[${i}]`, `no checkpoint in bundle.checkpoints for batch ${r.batchId} root ${r.batchRoot}`);
  });
  const anchors = array(o, "anchors", "bundle", LIMITS.maxAnchorsPerBundle).map((a, i) => parseAnchor(a, `bundle.anchors[${i}]`));
  const cosignatures = cosignaturesOf(o, "bundle", env.v, LIMITS.maxCosignaturesPerBundle, env.namespace);
  const leaves = leavesOf(o, env.v, checkpoints);
  return { type: "bundle", ...env, request, checkpoints, receipts, anchors, ...(cosignatures === undefined ? {} : { cosignatures }), ...(leaves === undefined ? {} : { leaves }) };
}

/**
 * The `leaves` of a version 4 Bundle: each names a distinct checkpoint, at most
 * LIMITS.maxLeavesPerBundle leaves in all. Their trees are rebuilt only after the Bundle is
 * authenticated (lib/federation/gossip.ts checkBundle).
 */
function leavesOf(o: Json, v: number, checkpoints: readonly Checkpoint[]): LeafSet[] | undefined {
  if (o.leaves === undefined) return undefined;
  if (v < 4) throw malformed("bundle.leaves", "needs message version 4 (docs/FEDERATION_PROTOCOL.md §Leaves)");
  const sets = array(o, "leaves", "bundle", LIMITS.maxCheckpointsPerBundle);
  let total = 0;
  const named = new Set<number>();
  return sets.map((x, i) => {
    // The character count is checked before the string is read any further.
    const chars = typeof x === "object" && x !== null && typeof (x as Json).leaves === "string" ? ((x as Json).leaves as string).length : 0;
    if (chars > leafChars(LIMITS.maxLeavesPerBundle)) throw malformed(`bundle.leaves[${i}].leaves`, `more than ${LIMITS.maxLeavesPerBundle} leaves`);
    const set = parseLeafSet(x, `bundle.leaves[${i}]`, checkpoints);
    if (named.has(set.checkpoint)) throw malformed(`bundle.leaves[${i}].checkpoint`, "names a version whose leaves this bundle already holds");
    named.add(set.checkpoint);
    total += checkpoints[set.checkpoint]!.size;
    if (total > LIMITS.maxLeavesPerBundle) throw malformed("bundle.leaves", `more than ${LIMITS.maxLeavesPerBundle} leaves in all`);
    return set;
  });
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
