/**
 * The JSON documents the store writes, and the checks every one of them passes
 * on read and before write. A failed check names the first bad field, so the
 * StoreError built from it tells a person where to look.
 */
import { MAX_COSIGNATURES_PER_VERSION } from "../quorum/merge.js";
import { MAX_SHAPES_PER_VERSION } from "../quorum/shape.js";
import { TREE_KINDS } from "../receipt.js";
import { leavesProblem } from "./leaves.js";
import type { BatchInput } from "./types.js";

export const FORMAT_NAME = "vmsh-federation-state";

/** `stateDir/FORMAT`. */
export interface FormatFile {
  format: typeof FORMAT_NAME;
  version: number;
}

/** `namespaces/<ns>/meta.json`: bumped on every write to the namespace so other processes notice. */
export interface NamespaceMetaFile {
  kind: "namespace";
  namespace: string;
  rev: number;
}

/** `namespaces/<ns>/batches/<batchId>/<batchRoot>.<origin>.json` (or `<batchRoot>.json`, docs/STATE.md §Layout). */
export interface BatchFile extends BatchInput {
  kind: "batch";
}

/** `docs/<name>.json`. */
export interface DocFile {
  kind: "doc";
  name: string;
  value: unknown;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const isStr = (v: unknown): v is string => typeof v === "string" && v.length > 0;
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isTime = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const OUTCOMES = new Set(["verified", "pending", "rejected"]);

/**
 * Checks `stateDir/FORMAT`.
 * @example checkFormatFile({ format: "vmsh-federation-state", version: 1 }) // undefined
 */
export function checkFormatFile(data: unknown): string | undefined {
  if (!isObj(data) || data["format"] !== FORMAT_NAME) return `"format" must be "${FORMAT_NAME}"`;
  if (!Number.isSafeInteger(data["version"]) || (data["version"] as number) < 1) return `"version" must be a positive integer`;
  return undefined;
}

/**
 * Checks a namespace's meta.json.
 * @example checkNamespaceMeta({ kind: "namespace", namespace: "ns", rev: 3 }) // undefined
 */
export function checkNamespaceMeta(data: unknown): string | undefined {
  if (!isObj(data) || data["kind"] !== "namespace") return `"kind" must be "namespace"`;
  if (!isStr(data["namespace"])) return `"namespace" must be a non-empty string`;
  if (!isCount(data["rev"])) return `"rev" must be a non-negative integer`;
  return undefined;
}

/**
 * Checks a doc file.
 * @example checkDocFile({ kind: "doc", name: "outbox", value: [] }) // undefined
 */
export function checkDocFile(data: unknown): string | undefined {
  if (!isObj(data) || data["kind"] !== "doc") return `"kind" must be "doc"`;
  if (!isStr(data["name"])) return `"name" must be a non-empty string`;
  if (!("value" in data)) return `"value" is missing`;
  return undefined;
}

/**
 * Checks one receipt against the batch it is filed under.
 * @example checkReceipt(receipt, batch, "receipts[0]") // undefined when it belongs there
 */
export function checkReceipt(r: unknown, batch: Pick<BatchFile, "namespace" | "batchId" | "batchRoot" | "createdAt">, at: string): string | undefined {
  if (!isObj(r)) return `${at} must be an object`;
  for (const key of ["id", "eventHash"] as const) if (!isStr(r[key])) return `${at}.${key} must be a non-empty string`;
  for (const key of ["namespace", "batchId", "batchRoot"] as const) {
    if (r[key] !== batch[key]) return `${at}.${key} must equal the batch's ${key}`;
  }
  // docs/FEDERATION_PROTOCOL.md §Receipt: a receipt's ts is its batch's sealing time, so (ts, id) orders it identically on every node.
  if (r["ts"] !== batch.createdAt) return `${at}.ts must equal the batch's createdAt`;
  const p = r["proof"];
  if (!isObj(p)) return `${at}.proof must be an object`;
  if (!TREE_KINDS.includes(p["tree"] as never)) return `${at}.proof.tree must be one of ${TREE_KINDS.join(", ")}`;
  if (!isCount(p["index"]) || !isCount(p["size"])) return `${at}.proof.index and .size must be non-negative integers`;
  if (!Array.isArray(p["path"]) || !p["path"].every(isStr)) return `${at}.proof.path must be an array of strings`;
  return undefined;
}

/**
 * Checks one anchor record against the batch it is filed under.
 * @example checkAnchorRecord(anchor, batch, "anchors[0]") // undefined when valid
 */
export function checkAnchorRecord(a: unknown, batch: Pick<BatchFile, "batchId" | "batchRoot">, at: string): string | undefined {
  if (!isObj(a)) return `${at} must be an object`;
  for (const key of ["batchId", "batchRoot"] as const) {
    if (a[key] !== batch[key]) return `${at}.${key} must equal the batch's ${key}`;
  }
  for (const key of ["chain", "tx"] as const) if (!isStr(a[key])) return `${at}.${key} must be a non-empty string`;
  if (!isCount(a["block"])) return `${at}.block must be a non-negative integer`;
  if (!isTime(a["ts"])) return `${at}.ts must be a number`;
  if (!OUTCOMES.has(a["outcome"] as string)) return `${at}.outcome must be verified, pending or rejected`;
  for (const key of ["contract", "sig", "memo", "reason", "superseded_by"] as const) {
    if (a[key] !== undefined && typeof a[key] !== "string") return `${at}.${key} must be a string when present`;
  }
  if (a["digest"] !== undefined && !/^sha256:[0-9a-f]{64}$/.test(a["digest"] as string)) return `${at}.digest must be sha256:<64 hex> when present`;
  if (a["evidence"] !== undefined && !isObj(a["evidence"])) return `${at}.evidence must be an object when present`;
  return undefined;
}

/**
 * Checks a stored checkpoint against its batch: its identity and shape must be the batch's
 * (its signature was verified when it was accepted, docs/STATE.md §Checkpoints).
 * @example checkStoredCheckpoint(file.checkpoint, file) // undefined when it belongs there
 */
export function checkStoredCheckpoint(c: unknown, batch: Pick<BatchFile, "namespace" | "batchId" | "batchRoot" | "createdAt">): string | undefined {
  if (!isObj(c) || c["type"] !== "checkpoint" || c["v"] !== 1) return `"checkpoint" must be a version 1 checkpoint object`;
  for (const key of ["namespace", "batchId", "batchRoot", "createdAt"] as const) if (c[key] !== batch[key]) return `checkpoint.${key} must equal the batch's ${key}`;
  for (const key of ["origin", "signer", "sig"] as const) if (!isStr(c[key])) return `checkpoint.${key} must be a non-empty string`;
  if (!TREE_KINDS.includes(c["tree"] as never)) return `checkpoint.tree must be one of ${TREE_KINDS.join(", ")}`;
  if (!isCount(c["size"]) || !isCount(c["ts"])) return `checkpoint.size and .ts must be non-negative integers`;
  return undefined;
}

/**
 * Checks a version's stored cosignatures: each is about this very version (their signatures were
 * verified before they were stored, docs/STATE.md §Cosignatures), at most MAX_COSIGNATURES_PER_VERSION.
 * @example checkStoredCosignatures(file.cosignatures, file) // undefined when they belong there
 */
export function checkStoredCosignatures(list: unknown, batch: Pick<BatchFile, "namespace" | "batchId" | "batchRoot">): string | undefined {
  if (!Array.isArray(list) || list.length > MAX_COSIGNATURES_PER_VERSION) return `"cosignatures" must be an array of at most ${MAX_COSIGNATURES_PER_VERSION}`;
  for (let i = 0; i < list.length; i++) {
    const c: unknown = list[i];
    if (!isObj(c) || c["type"] !== "cosignature" || c["v"] !== 1) return `cosignatures[${i}] must be a version 1 cosignature object`;
    for (const key of ["namespace", "batchId", "batchRoot"] as const) if (c[key] !== batch[key]) return `cosignatures[${i}].${key} must equal the batch's ${key}`;
    for (const key of ["origin", "checkpoint", "signer", "sig"] as const) if (!isStr(c[key])) return `cosignatures[${i}].${key} must be a non-empty string`;
  }
  return undefined;
}

/**
 * Checks a version's other shapes (docs/STATE.md §Checkpoints): checkpoints of the same origin,
 * batch id and root as its checkpoint, with another size or sealing time, at most MAX_SHAPES_PER_VERSION.
 * @example checkStoredShapes(file.shapes, file) // undefined when they belong there
 */
export function checkStoredShapes(list: unknown, batch: Pick<BatchFile, "namespace" | "batchId" | "batchRoot" | "checkpoint">): string | undefined {
  if (!Array.isArray(list) || list.length > MAX_SHAPES_PER_VERSION) return `"shapes" must be an array of at most ${MAX_SHAPES_PER_VERSION}`;
  if (batch.checkpoint === undefined && list.length > 0) return `"shapes" needs a "checkpoint"`;
  for (let i = 0; i < list.length; i++) {
    const c: unknown = list[i];
    if (!isObj(c) || c["type"] !== "checkpoint" || c["v"] !== 1) return `shapes[${i}] must be a version 1 checkpoint object`;
    for (const key of ["namespace", "batchId", "batchRoot"] as const) if (c[key] !== batch[key]) return `shapes[${i}].${key} must equal the batch's ${key}`;
    if (c["origin"] !== batch.checkpoint?.origin) return `shapes[${i}].origin must equal checkpoint.origin`;
    for (const key of ["signer", "sig"] as const) if (!isStr(c[key])) return `shapes[${i}].${key} must be a non-empty string`;
    if (!TREE_KINDS.includes(c["tree"] as never)) return `shapes[${i}].tree must be one of ${TREE_KINDS.join(", ")}`;
    if (!isCount(c["size"]) || !isCount(c["ts"]) || !isTime(c["createdAt"])) return `shapes[${i}].size, .ts and .createdAt must be numbers`;
  }
  return undefined;
}

/**
 * Checks the batch fields shared by a batch file and a `putBatch` argument.
 * @example checkBatchFields({ namespace: "ns", batchId: "b", batchRoot: "sha256:…", createdAt: 1, receipts: [], anchors: [] }) // undefined
 */
export function checkBatchFields(b: Obj): string | undefined {
  for (const key of ["namespace", "batchId", "batchRoot"] as const) if (!isStr(b[key])) return `"${key}" must be a non-empty string`;
  if (!isTime(b["createdAt"])) return `"createdAt" must be a number`;
  if (!Array.isArray(b["receipts"])) return `"receipts" must be an array`;
  if (!Array.isArray(b["anchors"])) return `"anchors" must be an array`;
  const batch = b as unknown as BatchFile;
  if (b["checkpoint"] !== undefined) {
    const problem = checkStoredCheckpoint(b["checkpoint"], batch);
    if (problem !== undefined) return problem;
  }
  if (b["cosignatures"] !== undefined) {
    const problem = checkStoredCosignatures(b["cosignatures"], batch);
    if (problem !== undefined) return problem;
  }
  if (b["shapes"] !== undefined) {
    const problem = checkStoredShapes(b["shapes"], batch);
    if (problem !== undefined) return problem;
  }
  if (b["leaves"] !== undefined) {
    // docs/STATE.md §Leaves form: the whole version as its leaves, its receipts derived from them.
    if (batch.checkpoint === undefined) return `"leaves" needs a "checkpoint"`;
    if (batch.receipts.length > 0) return `"receipts" must be empty beside "leaves"`;
    const problem = leavesProblem(b["leaves"], batch.checkpoint.size);
    if (problem !== undefined) return `"leaves" ${problem}`;
  }
  for (let i = 0; i < batch.receipts.length; i++) {
    const problem = checkReceipt(batch.receipts[i], batch, `receipts[${i}]`);
    if (problem !== undefined) return problem;
  }
  for (let i = 0; i < batch.anchors.length; i++) {
    const problem = checkAnchorRecord(batch.anchors[i], batch, `anchors[${i}]`);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * Checks a batch file.
 * @example checkBatchFile(JSON.parse(text)) // undefined when valid
 */
export function checkBatchFile(data: unknown): string | undefined {
  if (!isObj(data) || data["kind"] !== "batch") return `"kind" must be "batch"`;
  return checkBatchFields(data);
}
