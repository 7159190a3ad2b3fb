/**
 * The import pipeline: one path for a local sealer batch and for a peer's bundle
 * (docs/STATE.md, SPEC §4–§5). Receipts are checked for inclusion, anchors are verified
 * with this node's own verifiers, everything is stored with its outcome, and conflict
 * resolution runs over the batch. Receipts of a batch with no verified anchor are kept
 * as held, never dropped; pending anchors are re-checked later.
 */
import { isDeepStrictEqual } from "node:util";
import type { Anchor } from "../anchors/anchor.js";
import type { Limiter } from "../anchors/limit.js";
import type { Evidence, VerificationResult } from "../anchors/result.js";
import { anchorKey, resolveAnchors } from "../conflict/index.js";
import { verifyInclusion } from "../merkle/index.js";
import type { Receipt } from "../receipt.js";
import type { AnchorRecord, Store } from "../store/index.js";

export interface ImportContext {
  store: Store;
  /** Verifies one anchor with this node's endpoints and the namespace's policy. */
  verify(anchor: Anchor, batchRoot: string, previous?: Evidence): Promise<VerificationResult>;
  /** Bounds concurrent endpoint calls. */
  limit: Limiter;
  /** Unix seconds, recorded in evidence. */
  now(): number;
}

/** One batch version to import: a sealed batch, or one group of a peer's bundle. */
export interface BatchImport {
  namespace: string;
  batchId: string;
  batchRoot: string;
  /** Sealing time; ignored when the batch is already stored (its ts was fixed then, SPEC §3). */
  createdAt: number;
  receipts: Receipt[];
  anchors: Anchor[];
}

export interface AnchorReport {
  chain: string;
  tx: string;
  outcome: AnchorRecord["outcome"];
  reason?: string;
  superseded_by?: string;
  /** False when a stored verified record was kept as it was. */
  checked: boolean;
}

export interface BatchReport {
  namespace: string;
  batchId: string;
  batchRoot: string;
  /** `active` once any anchor of this root is verified; `held` otherwise (SPEC §4). */
  status: "active" | "held";
  receiptsAdded: number;
  /** Receipts stored for this batch version after the import. */
  receiptsStored: number;
  rejectedReceipts: Array<{ id: string; reason: string }>;
  anchors: AnchorReport[];
  winner?: string;
  /** Another root is stored for the same namespace + batchId. */
  equivocation: boolean;
  /** False when the import changed nothing (a re-import). */
  written: boolean;
}

/** Checks receipts against the batch and each other; returns the good ones and why the rest failed. */
function checkReceipts(input: BatchImport, pinned: { size: number; tree: string } | undefined, createdAt: number) {
  const good: Receipt[] = [];
  const rejected: Array<{ id: string; reason: string }> = [];
  // Neither tree's root commits to the size, so the first receipt (or the stored batch) pins it.
  let shape = pinned;
  const byIndex = new Map<number, string>();
  for (const r of input.receipts) {
    const fail = (reason: string) => rejected.push({ id: r.id, reason });
    if (r.namespace !== input.namespace || r.batchId !== input.batchId || r.batchRoot !== input.batchRoot) {
      fail(`belongs to ${r.namespace} ${r.batchId} ${r.batchRoot}, not to the batch being imported`);
      continue;
    }
    if (r.ts !== createdAt) {
      fail(`ts ${r.ts} is not the batch's sealing time ${createdAt}`);
      continue;
    }
    const inclusion = verifyInclusion(r);
    if (!inclusion.ok) {
      fail(inclusion.reason);
      continue;
    }
    shape ??= { size: r.proof.size, tree: r.proof.tree };
    if (r.proof.size !== shape.size || r.proof.tree !== shape.tree) {
      fail(`proof is for a ${r.proof.tree} batch of ${r.proof.size} leaves; this batch is ${shape.tree} with ${shape.size}`);
      continue;
    }
    const other = byIndex.get(r.proof.index);
    if (other !== undefined && other !== r.id) {
      fail(`index ${r.proof.index} is already taken by ${other}`);
      continue;
    }
    byIndex.set(r.proof.index, r.id);
    good.push(r);
  }
  return { good, rejected };
}

/** The wire fields of a stored record, for comparing a claim with what is stored. */
function claim(a: Anchor): Anchor {
  const { outcome: _o, reason: _r, evidence: _e, superseded_by: _s, ...fields } = a as AnchorRecord;
  return fields;
}

/**
 * Imports one batch version: inclusion, anchors, store, conflict resolution.
 * Importing the same data again changes nothing and re-verifies nothing already verified.
 * @example const report = await importBatch(sealed, { store, verify, limit, now })
 */
export async function importBatch(input: BatchImport, ctx: ImportContext): Promise<BatchReport> {
  const { store } = ctx;
  const stored = await store.getBatch(input.namespace, input.batchId, input.batchRoot);
  const createdAt = stored?.createdAt ?? input.createdAt;
  const first = stored?.receipts[0];
  const { good, rejected } = checkReceipts(input, first && { size: first.proof.size, tree: first.proof.tree }, createdAt);
  for (const r of stored?.receipts ?? []) {
    // A stored receipt at the same index with another id means the peer's proof is for a different leaf.
    const clash = good.findIndex((g) => g.proof.index === r.proof.index && g.id !== r.id);
    if (clash >= 0) rejected.push({ id: good.splice(clash, 1)[0]!.id, reason: `index ${r.proof.index} is already taken by ${r.id}` });
  }

  const existing = new Map((stored?.anchors ?? []).map((a) => [anchorKey(a), a] as const));
  const incoming = new Map<string, Anchor>();
  for (const a of input.anchors) if (a.batchId === input.batchId && a.batchRoot === input.batchRoot) incoming.set(anchorKey(a), claim(a));
  const checkedKeys = new Set<string>();
  const records = await Promise.all(
    [...incoming].map(async ([key, anchor]): Promise<AnchorRecord | undefined> => {
      const have = existing.get(key);
      // A verified record changes only through re-verification (verify-online), never through a peer's claim.
      if (have?.outcome === "verified") return undefined;
      if (have !== undefined && have.outcome === "rejected" && isDeepStrictEqual(claim(have), anchor)) return undefined;
      const result = await ctx.limit(() => ctx.verify(anchor, input.batchRoot, have?.evidence));
      // An endpoint that could not be asked proves nothing: a stored verdict stands, unchecked (docs/FEDERATION_SEMANTICS.md §5).
      if (have !== undefined && result.unreachable === true) return undefined;
      checkedKeys.add(key);
      const record: AnchorRecord = { ...anchor, outcome: result.outcome };
      if (result.reason !== undefined) record.reason = result.reason;
      record.evidence = { ...(result.evidence ?? {}), checkedAt: ctx.now() };
      // A pending re-check that learned nothing new is not a change worth a write.
      if (have !== undefined && have.outcome === result.outcome && have.reason === result.reason && isDeepStrictEqual(claim(have), anchor)) return undefined;
      return record;
    }),
  );
  const changed = records.filter((r): r is AnchorRecord => r !== undefined);

  // Resolve before writing, so the verdicts and the winner marks land in one atomic write:
  // a reader never sees verified anchors of this root without their superseded_by.
  const merged = new Map(existing);
  for (const r of changed) merged.set(anchorKey(r), r);
  const resolved = merged.size === 0 ? undefined : resolveAnchors([...merged.values()]).batches[0]?.byRoot.find((r) => r.batchRoot === input.batchRoot);
  const changedKeys = new Set(changed.map(anchorKey));
  const toWrite = (resolved?.anchors ?? []).filter((a) => changedKeys.has(anchorKey(a)) || existing.get(anchorKey(a))?.superseded_by !== a.superseded_by);

  let written = false;
  let receiptsAdded = 0;
  if (good.length > 0 || toWrite.length > 0) {
    const put = await store.putBatch({ namespace: input.namespace, batchId: input.batchId, batchRoot: input.batchRoot, createdAt, receipts: good, anchors: toWrite });
    written = put.written;
    receiptsAdded = put.receiptsAdded;
  }
  const anchors: AnchorReport[] = (resolved?.anchors ?? []).map((a) => {
    const r: AnchorReport = { chain: a.chain, tx: a.tx, outcome: a.outcome, checked: checkedKeys.has(anchorKey(a)) };
    if (a.reason !== undefined) r.reason = a.reason;
    if (a.superseded_by !== undefined) r.superseded_by = a.superseded_by;
    return r;
  });
  const report: BatchReport = {
    namespace: input.namespace,
    batchId: input.batchId,
    batchRoot: input.batchRoot,
    status: resolved?.winner !== undefined ? "active" : "held",
    receiptsAdded,
    receiptsStored: (stored?.receipts.length ?? 0) + receiptsAdded,
    rejectedReceipts: rejected,
    anchors,
    equivocation: store.listBatches(input.namespace).filter((b) => b.batchId === input.batchId).length > 1,
    written,
  };
  if (resolved?.winner !== undefined) report.winner = resolved.winner;
  return report;
}
