/**
 * Batch checkpoints (docs/FEDERATION_PROTOCOL.md §Checkpoint): the origin of a batch (the node
 * that ingested it from its sealer) signs the batch's identity and shape with the message JWS
 * scheme. Neither Merkle rule's root commits to the batch size, and anchors commit only to the
 * root, so the checkpoint is what fixes `tree`, `size`, sealing time, namespace and batch id:
 * a receipt is accepted only against a checkpoint that verifies with the key of an origin of
 * the namespace (docs/FEDERATION_SEMANTICS.md §6. Threat model).
 */
import type { KeyObject } from "node:crypto";
import { DID_MAX_LENGTH, DID_PATTERN } from "../identity/did.js";
import { TREE_KINDS, type TreeKind } from "../receipt.js";
import { canonicalJson, unsigned } from "./canonical.js";
import { digest, integer, literal, malformed, object, string } from "./fields.js";
import { signDetached, verifyDetached } from "./jws.js";
import { BATCH_ID_PATTERN, LIMITS, NAMESPACE_PATTERN } from "./limits.js";

export interface Checkpoint {
  type: "checkpoint";
  v: 1;
  namespace: string;
  /** DID of the node that ingested the batch from its sealer; equals `signer`. */
  origin: string;
  batchId: string;
  batchRoot: string;
  tree: TreeKind;
  /** Number of leaves of the batch. */
  size: number;
  /** The sealer's sealing time: every receipt's `ts`. */
  createdAt: number;
  /** When the checkpoint was signed. */
  ts: number;
  signer: string;
  sig: string;
}

const MEMBERS = ["type", "v", "namespace", "origin", "batchId", "batchRoot", "tree", "size", "createdAt", "ts", "signer", "sig"] as const;
const SIG_PATTERN = /^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$/;
/** Largest batch a checkpoint may describe (docs/FEDERATION_PROTOCOL.md §Receipt: `size ≤ 2^32`). */
const MAX_SIZE = 2 ** 32;

/**
 * Validates a checkpoint's schema (not its signature). `signer` must equal `origin`.
 * @example parseCheckpoint(json, "announce.checkpoint")
 */
export function parseCheckpoint(value: unknown, path: string): Checkpoint {
  const o = object(value, path, MEMBERS);
  literal(o, "type", path, "checkpoint");
  literal(o, "v", path, 1);
  const tree = string(o, "tree", path, 32);
  if (!(TREE_KINDS as readonly string[]).includes(tree)) throw malformed(`${path}.tree`, `expected one of ${TREE_KINDS.join(", ")}`);
  const cp: Checkpoint = {
    type: "checkpoint",
    v: 1,
    namespace: string(o, "namespace", path, LIMITS.maxNamespaceLength, NAMESPACE_PATTERN),
    origin: string(o, "origin", path, DID_MAX_LENGTH, DID_PATTERN),
    batchId: string(o, "batchId", path, LIMITS.maxBatchIdLength, BATCH_ID_PATTERN),
    batchRoot: digest(o, "batchRoot", path),
    tree: tree as TreeKind,
    size: integer(o, "size", path, 1, MAX_SIZE),
    createdAt: integer(o, "createdAt", path, 0, LIMITS.maxTimestamp),
    ts: integer(o, "ts", path, 0, LIMITS.maxTimestamp),
    signer: string(o, "signer", path, DID_MAX_LENGTH, DID_PATTERN),
    sig: string(o, "sig", path, 1024, SIG_PATTERN),
  };
  if (cp.signer !== cp.origin) throw malformed(`${path}.signer`, `must equal origin (${cp.origin}): only the origin signs its checkpoints`);
  return cp;
}

/**
 * Signs a checkpoint as `origin` (the caller's own DID).
 * @example signCheckpoint({ namespace, origin: me, batchId, batchRoot, tree, size, createdAt, ts }, key.privateKey)
 */
export function signCheckpoint(fields: Omit<Checkpoint, "type" | "v" | "signer" | "sig">, privateKey: KeyObject): Checkpoint {
  const body: Omit<Checkpoint, "sig"> = { type: "checkpoint", v: 1, ...fields, signer: fields.origin };
  const payload = Buffer.from(canonicalJson(body), "utf8");
  return { ...body, sig: signDetached(payload, fields.origin, privateKey) };
}

/** Who may sign checkpoints of a namespace: DID → verification key (docs/FEDERATION_SEMANTICS.md §Origins). */
export type OriginKeys = ReadonlyMap<string, KeyObject>;

export type CheckpointCheck = { ok: true } | { ok: false; reason: string };

/**
 * Checks that `cp` is signed by an origin of its namespace. Never throws on peer data.
 * @example verifyCheckpoint(cp, origins) // { ok: false, reason: "did:vm:node:x is not an origin of dao:x" }
 */
export function verifyCheckpoint(cp: Checkpoint, origins: OriginKeys): CheckpointCheck {
  const key = origins.get(cp.origin);
  if (key === undefined) return { ok: false, reason: `checkpoint signer ${cp.origin} is not an origin of ${cp.namespace} (peers.yaml role origin, federation.yaml namespaces.${cp.namespace}.origins)` };
  const check = verifyDetached(cp.sig, Buffer.from(canonicalJson(unsigned(cp)), "utf8"), cp.origin, key);
  return check.ok ? { ok: true } : { ok: false, reason: `checkpoint of ${cp.batchId} by ${cp.origin}: ${check.reason}` };
}

/**
 * True when two checkpoints give one batch the same identity and shape (the signing time may differ).
 * @example sameShape(a, { ...a, ts: a.ts + 1 }) // true
 */
export function sameShape(a: Checkpoint, b: Checkpoint): boolean {
  return a.namespace === b.namespace && a.origin === b.origin && a.batchId === b.batchId && a.batchRoot === b.batchRoot && a.tree === b.tree && a.size === b.size && a.createdAt === b.createdAt;
}
