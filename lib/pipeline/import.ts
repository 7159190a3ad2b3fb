/**
 * The import pipeline: one path for a local sealer batch and for a peer's bundle
 * (docs/STATE.md, docs/ANCHORS.md §Outcomes, docs/FEDERATION_SEMANTICS.md §3. Conflicts). Receipts are checked for inclusion, anchors are verified
 * with this node's own verifiers, everything is stored with its outcome, and conflict
 * resolution runs over the batch. Receipts of a batch with no verified anchor are kept
 * as held, never dropped; pending anchors are re-checked later.
 */
import { MAX_CLAIMS_PER_VERSION } from "../store/merge.js";
import { isDeepStrictEqual } from "node:util";
import type { Anchor } from "../anchors/anchor.js";
import type { Limiter } from "../anchors/limit.js";
import type { Evidence, VerificationResult } from "../anchors/result.js";
import { anchorKey, claimDigest, claimOf, resolveAnchors } from "../conflict/index.js";
import { verifyBatchInclusion, type InclusionResult } from "../merkle/index.js";
import { sameShape, verifyCheckpoint, type Checkpoint, type OriginKeys } from "../messages/checkpoint.js";
import type { Receipt } from "../receipt.js";
import type { AnchorRecord, BatchInput, PutResult, Store } from "../store/index.js";
import { primaryShape } from "../quorum/shape.js";
import { expandLeafSet } from "../messages/leaves.js";
import { receiptCountOf } from "../store/file-receipts.js";
import { wholeVersionLeaves } from "./receipts-as-leaves.js";

export interface ImportContext {
  store: Store;
  /** Verifies one anchor with this node's endpoints and the namespace's policy. */
  verify(anchor: Anchor, batchRoot: string, previous?: Evidence): Promise<VerificationResult>;
  /** Bounds concurrent endpoint calls. */
  limit: Limiter;
  /** Unix seconds, recorded in evidence. */
  now(): number;
  /** Keys of the origins of this namespace: only their checkpoints are accepted (docs/FEDERATION_SEMANTICS.md §Origins). */
  origins: OriginKeys;
  /** Writes one batch version (default `store.putBatch`); importBundle gathers a Bundle's writes into one transaction. */
  put?: (batch: BatchInput) => Promise<PutResult>;
}

/** One batch version to import: a sealed batch, or one group of a peer's bundle. */
export interface BatchImport {
  namespace: string;
  batchId: string;
  batchRoot: string;
  /** Sealing time; ignored when the batch is already stored (its ts was fixed then, docs/FEDERATION_PROTOCOL.md §Receipt). */
  createdAt: number;
  receipts: Receipt[];
  anchors: Anchor[];
  /**
   * Checkpoints offered for this version (the origin's own, or forwarded by relays). The first
   * that verifies against `ImportContext.origins` fixes tree, size and sealing time; a stored
   * checkpoint always wins over an offered one. Checkpoints of other origins are other versions
   * (docs/FEDERATION_SEMANTICS.md §Checkpoints): `importBundle` imports each on its own.
   */
  checkpoints?: Checkpoint[];
  /**
   * The origin whose version this is: a batch version is (namespace, origin, batchId, batchRoot).
   * Null: the version stored without a checkpoint (0.1.0). Default: the origin of the first
   * offered checkpoint, else the stored version served first.
   */
  origin?: string | null;
  /**
   * The whole version as its leaves with the checkpoint they were checked against
   * (docs/FEDERATION_PROTOCOL.md §Leaves). When that checkpoint is the one this version is held
   * against, the version is stored as its leaves (docs/STATE.md §Leaves form) and no path is
   * derived or checked; otherwise its receipts are derived and imported like any.
   */
  leaves?: { checkpoint: Checkpoint; leaves: string };
}

export interface AnchorReport {
  chain: string;
  tx: string;
  /** The claim's digest: its identity among the batch version's claims (docs/STATE.md §Anchor claims). */
  digest: string;
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
  /** `active` once any anchor of this root is verified; `held` otherwise (docs/ANCHORS.md §Outcomes). */
  status: "active" | "held";
  receiptsAdded: number;
  /** Receipts stored for this batch version after the import. */
  receiptsStored: number;
  rejectedReceipts: Array<{ id: string; reason: string }>;
  anchors: AnchorReport[];
  winner?: string;
  /** The origin of this version signed a checkpoint of another root or shape for the same batchId. */
  equivocation: boolean;
  /** Signer of the checkpoint the receipts were checked against. */
  origin?: string;
  /** Anchor claims not taken: their TSA token is another anchor's, or the version holds MAX_CLAIMS_PER_VERSION claims. */
  ignoredClaims: Array<{ chain: string; tx: string; reason: string }>;
  /** Offered checkpoints that were refused, and why. */
  rejectedCheckpoints: Array<{ origin: string; reason: string }>;
  /** False when the import changed nothing (a re-import). */
  written: boolean;
}

/**
 * Checks receipts against the batch's verified checkpoint and each other; returns the good ones
 * and why the rest failed. Neither tree's root commits to the size, so only the origin's
 * checkpoint may fix tree, size and sealing time (docs/FEDERATION_SEMANTICS.md §Checkpoints).
 */
function checkReceipts(input: BatchImport, checkpoint: Checkpoint | undefined, why: string, wholeVersion: boolean) {
  const good: Receipt[] = [];
  const rejected: Array<{ id: string; reason: string }> = [];
  const byIndex = new Map<number, string>();
  // One rebuilt tree when the receipts hold the whole batch, each verdict still that of verifyInclusion (docs/FEDERATION_SEMANTICS.md).
  // Receipts found to be a whole version (`wholeVersionLeaves`) were each matched against its rebuilt tree already: all included.
  const inclusions = wholeVersion ? input.receipts.map(() => INCLUDED) : verifyBatchInclusion(input.receipts, { root: input.batchRoot, ...(checkpoint === undefined ? {} : { size: checkpoint.size, tree: checkpoint.tree }) }).verdicts;
  for (const [k, r] of input.receipts.entries()) {
    const fail = (reason: string) => rejected.push({ id: r.id, reason });
    if (checkpoint === undefined) {
      fail(why);
      continue;
    }
    const createdAt = checkpoint.createdAt;
    const shape = { size: checkpoint.size, tree: checkpoint.tree };
    if (r.namespace !== input.namespace || r.batchId !== input.batchId || r.batchRoot !== input.batchRoot) {
      fail(`belongs to ${r.namespace} ${r.batchId} ${r.batchRoot}, not to the batch being imported`);
      continue;
    }
    if (r.ts !== createdAt) {
      fail(`ts ${r.ts} is not the batch's sealing time ${createdAt}`);
      continue;
    }
    const inclusion = inclusions[k]!;
    if (!inclusion.ok) {
      fail(inclusion.reason);
      continue;
    }
    if (r.proof.size !== shape.size || r.proof.tree !== shape.tree || r.proof.index >= shape.size) {
      fail(`proof is for leaf ${r.proof.index} of a ${r.proof.tree} batch of ${r.proof.size} leaves; the origin ${checkpoint.origin} signed ${shape.tree} with ${shape.size}`);
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

const INCLUDED: InclusionResult = Object.freeze({ ok: true }) as InclusionResult;

interface ChosenCheckpoint {
  checkpoint?: Checkpoint;
  /** Why no checkpoint could be used, when none could. */
  reason?: string;
  rejected: Array<{ origin: string; reason: string }>;
  /** The stored checkpoint's origin signed another shape for this very version. */
  conflict: boolean;
  conflicting?: Checkpoint;
}

/**
 * Picks the checkpoint receipts are checked against: the stored one if any, else the first
 * offered one that verifies. Offered checkpoints are verified even when one is stored, so an
 * origin that signed two shapes for one root is caught with both signatures as evidence.
 */
function chooseCheckpoint(input: BatchImport, stored: Checkpoint | undefined, origins: OriginKeys, origin: string | undefined): ChosenCheckpoint {
  const out: ChosenCheckpoint = { rejected: [], conflict: false };
  if (stored !== undefined) out.checkpoint = stored;
  for (const cp of input.checkpoints ?? []) {
    if (cp.namespace !== input.namespace || cp.batchId !== input.batchId || cp.batchRoot !== input.batchRoot) {
      out.rejected.push({ origin: cp.origin, reason: "is for another batch version" });
      continue;
    }
    // Another origin's checkpoint of this root is another version, never this one's (docs/STATE.md §Layout).
    if (origin !== undefined && cp.origin !== origin) {
      out.rejected.push({ origin: cp.origin, reason: `is another origin's version of this root, not ${origin}'s: it is imported on its own` });
      continue;
    }
    if (out.checkpoint !== undefined && sameShape(out.checkpoint, cp)) continue;
    const check = verifyCheckpoint(cp, origins);
    if (!check.ok) {
      out.rejected.push({ origin: cp.origin, reason: check.reason });
      continue;
    }
    if (out.checkpoint === undefined) out.checkpoint = cp;
    else if (out.checkpoint.origin === cp.origin && !out.conflict) {
      out.conflict = true;
      out.conflicting = cp;
      out.rejected.push({ origin: cp.origin, reason: `equivocation: ${cp.origin} signed another shape for this root (size ${cp.size} vs ${out.checkpoint.size}, createdAt ${cp.createdAt} vs ${out.checkpoint.createdAt})` });
    } else out.rejected.push({ origin: cp.origin, reason: `another origin's checkpoint (${out.checkpoint.origin}) is already the one this version is held against` });
  }
  if (out.checkpoint === undefined && out.rejected.length > 0) out.reason = `no valid checkpoint: ${out.rejected.map((r) => `${r.origin} ${r.reason}`).join("; ")}`;
  return out;
}

/** Name of the store document holding same-root equivocation evidence (docs/STATE.md §Checkpoints). */
export const CHECKPOINT_CONFLICTS_DOC = "checkpoint-conflicts";

/** Lists an origin's two signed shapes of one root (both are kept in the version's file too, docs/STATE.md §Checkpoints). */
async function recordConflict(store: Store, kept: Checkpoint, other: Checkpoint): Promise<void> {
  // One entry per pair, whichever of the two is the primary now: the document lists equivocations, the version file keeps both.
  const same = (e: { kept: Checkpoint; other: Checkpoint }) => (isDeepStrictEqual(e.kept, kept) && isDeepStrictEqual(e.other, other)) || (isDeepStrictEqual(e.kept, other) && isDeepStrictEqual(e.other, kept));
  await store.updateDoc<Array<{ kept: Checkpoint; other: Checkpoint }>>(CHECKPOINT_CONFLICTS_DOC, (list = []) => (list.some(same) ? list : [...list, { kept, other }]));
}

/**
 * Anchor claims one batch version keeps (docs/FEDERATION_SEMANTICS.md §6. Threat model): each is
 * verified and stored, so a bound keeps a peer from making this node verify and store claims
 * without end. Only verified records fill it: a claim this node did not verify gives way to a
 * new one (lib/store/merge.ts), so bogus claims cannot keep a genuine one out. Claims past it
 * are reported in `ignoredClaims`.
 */
export { MAX_CLAIMS_PER_VERSION };

/**
 * Imports one batch version: inclusion, anchors, store, conflict resolution.
 * Importing the same data again changes nothing and re-verifies nothing already verified.
 * @example const report = await importBatch(sealed, { store, verify, limit, now })
 */
export async function importBatch(batch: BatchImport, ctx: ImportContext): Promise<BatchReport> {
  let input = batch;
  const { store } = ctx;
  const origin = input.origin !== undefined ? input.origin : input.checkpoints?.[0]?.origin;
  let stored = await store.getBatch(input.namespace, input.batchId, input.batchRoot, origin);
  if (stored === undefined && typeof origin === "string") {
    // A 0.1.0 version of this root gains the origin's checkpoint if it has the sealing time the
    // origin signed; one a peer pinned to another time stays apart, unserved (docs/STATE.md §Upgrading from 0.1.0).
    const legacy = await store.getBatch(input.namespace, input.batchId, input.batchRoot, null);
    const offered = legacy === undefined ? undefined : chooseCheckpoint(input, undefined, ctx.origins, origin).checkpoint;
    if (legacy !== undefined && (offered === undefined || offered.createdAt === legacy.createdAt)) stored = legacy;
  }
  let chosen = chooseCheckpoint(input, stored?.checkpoint, ctx.origins, origin ?? stored?.checkpoint?.origin);
  // One origin's two shapes of one root: both are kept with the version, and the same one is its
  // checkpoint on every node, whichever arrived first (docs/FEDERATION_SEMANTICS.md §6. Threat model).
  let evidence: [Checkpoint, Checkpoint] | undefined;
  if (chosen.conflict && stored?.checkpoint !== undefined) {
    const held = stored.checkpoint;
    const other = chosen.conflicting!;
    if ((await store.putShape(input.namespace, other)) === "primary") {
      stored = await store.getBatch(input.namespace, input.batchId, input.batchRoot, other.origin);
      chosen = { ...chosen, checkpoint: other };
      evidence = [other, held];
    } else evidence = [held, other];
  } else if (chosen.conflict && chosen.checkpoint !== undefined) {
    // Both shapes offered for a version not stored yet: the primary is stored, the other kept beside it below.
    const primary = primaryShape(chosen.checkpoint, chosen.conflicting!);
    evidence = primary === chosen.checkpoint ? [chosen.checkpoint, chosen.conflicting!] : [chosen.conflicting!, chosen.checkpoint];
    chosen = { ...chosen, checkpoint: primary };
  }
  const checkpoint = chosen.checkpoint;
  const why = `no checkpoint of batch ${input.batchId} signed by an origin of ${input.namespace}`;
  const createdAt = stored?.createdAt ?? checkpoint?.createdAt ?? input.createdAt;
  // Leaves of the very checkpoint chosen go to the store as they are: it rebuilds the tree and
  // refuses leaves that do not give the root (docs/STATE.md §Leaves form). Any other leaves are
  // taken as the receipts they stand for, each checked like a peer's receipt.
  const asLeaves = input.leaves !== undefined && checkpoint !== undefined && sameShape(checkpoint, input.leaves.checkpoint) ? input.leaves.leaves : undefined;
  if (input.leaves !== undefined && asLeaves === undefined) input = { ...input, receipts: [...input.receipts, ...expandLeafSet({ checkpoint: 0, leaves: input.leaves.leaves }, [input.leaves.checkpoint], `leaves of batch ${input.batchId}`)] };
  // A new version whose receipts are all of its leaves, each path the rebuilt tree's, is kept as
  // its leaves: it reads back as these very receipts (docs/STATE.md §Leaves form). Anything the
  // leaves could not give back keeps the receipts form, and those receipts are checked as before.
  const derived = asLeaves === undefined && stored === undefined && checkpoint !== undefined && !chosen.conflict ? wholeVersionLeaves(input.receipts, checkpoint) : undefined;
  const { good, rejected } = checkReceipts(input, checkpoint, chosen.reason ?? why, derived !== undefined);
  for (const r of good.length === 0 ? [] : (stored?.receipts ?? [])) {
    // A stored receipt at the same index with another id means the peer's proof is for a different leaf.
    const clash = good.findIndex((g) => g.proof.index === r.proof.index && g.id !== r.id);
    if (clash >= 0) rejected.push({ id: good.splice(clash, 1)[0]!.id, reason: `index ${r.proof.index} is already taken by ${r.id}` });
  }

  // Claims are kept apart by the digest of their content (docs/FEDERATION_SEMANTICS.md §4. Merge):
  // a differing claim under a stored record's (chain, tx) is a record of its own, verified on its
  // own, and never replaces the stored one; a verdict update replaces only the record with its digest.
  const existing = new Map((stored?.anchors ?? []).map((a) => [a.digest ?? claimDigest(a), a] as const));
  const incoming = new Map<string, Anchor>();
  const verifiedHeld = [...existing.values()].filter((a) => a.outcome === "verified").length;
  // Nothing is verified for a version no origin vouches for: it would not be stored anyway.
  const vouched = stored !== undefined || checkpoint !== undefined;
  const ignoredClaims: BatchReport["ignoredClaims"] = [];
  for (const a of vouched ? input.anchors : []) {
    if (a.batchId !== input.batchId || a.batchRoot !== input.batchRoot) continue;
    const c = claimOf(a);
    const digest = claimDigest(c);
    const have = existing.get(digest) ?? incoming.get(digest);
    // Same digest, other claim: one TSA token under another name or tx string is one anchor
    // (docs/ANCHORS.md). It may take the place of a rejected record only, once it verifies.
    if (have !== undefined && !isDeepStrictEqual(claimOf(have), c) && (incoming.has(digest) || (have as AnchorRecord).outcome !== "rejected")) {
      ignoredClaims.push({ chain: a.chain, tx: a.tx, reason: `carries the same TSA token as ${anchorKey(have)}` });
      continue;
    }
    if (incoming.has(digest)) continue;
    if (!existing.has(digest) && verifiedHeld + incoming.size >= MAX_CLAIMS_PER_VERSION) {
      ignoredClaims.push({ chain: a.chain, tx: a.tx, reason: `batch version already holds ${MAX_CLAIMS_PER_VERSION} verified anchor claims` });
      continue;
    }
    incoming.set(digest, c);
  }
  const checkedKeys = new Set<string>();
  const records = await Promise.all(
    [...incoming].map(async ([digest, anchor]): Promise<AnchorRecord | undefined> => {
      const have = existing.get(digest);
      const same = have !== undefined && isDeepStrictEqual(claimOf(have), anchor);
      // A verified record changes only through re-verification (verify-online), never through a peer's claim.
      if (have?.outcome === "verified") return undefined;
      if (have !== undefined && have.outcome === "rejected" && same) return undefined;
      const result = await ctx.limit(() => ctx.verify(anchor, input.batchRoot, same ? have?.evidence : undefined));
      // An endpoint that could not be asked proves nothing: a stored verdict stands, unchecked (docs/FEDERATION_SEMANTICS.md §5).
      if (have !== undefined && result.unreachable === true) return undefined;
      if (have !== undefined && !same && result.outcome === "rejected") {
        ignoredClaims.push({ chain: anchor.chain, tx: anchor.tx, reason: `carries the same TSA token as the rejected ${anchorKey(have)} and was rejected too: ${result.reason ?? ""}` });
        return undefined;
      }
      checkedKeys.add(digest);
      const record: AnchorRecord = { ...anchor, outcome: result.outcome, digest };
      if (result.reason !== undefined) record.reason = result.reason;
      record.evidence = { ...(result.evidence ?? {}), checkedAt: ctx.now() };
      // A pending re-check that learned nothing new is not a change worth a write.
      if (have !== undefined && same && have.outcome === result.outcome && have.reason === result.reason) return undefined;
      return record;
    }),
  );
  const changed = records.filter((r): r is AnchorRecord => r !== undefined);

  // Resolve before writing, so the verdicts and the winner marks land in one atomic write:
  // a reader never sees verified anchors of this root without their superseded_by.
  const merged = new Map(existing);
  for (const r of changed) merged.set(r.digest!, r);
  const resolved = merged.size === 0 ? undefined : resolveAnchors([...merged.values()]).batches[0]?.byRoot.find((r) => r.batchRoot === input.batchRoot);
  const changedKeys = new Set(changed.map((r) => r.digest!));
  const toWrite = (resolved?.anchors ?? []).filter((a) => changedKeys.has(a.digest!) || existing.get(a.digest!)?.superseded_by !== a.superseded_by);

  const whole = rejected.length === 0 ? derived : undefined;
  let written = false;
  let receiptsAdded = 0;
  // A version is stored only once an origin's checkpoint vouches for it (or it was stored by 0.1.0).
  const storable = vouched;
  const gainsCheckpoint = stored !== undefined && stored.checkpoint === undefined && checkpoint !== undefined;
  if (storable && (good.length > 0 || asLeaves !== undefined || toWrite.length > 0 || stored === undefined || gainsCheckpoint)) {
    const put = await (ctx.put ?? ((b: BatchInput) => store.putBatch(b)))({ namespace: input.namespace, batchId: input.batchId, batchRoot: input.batchRoot, createdAt, receipts: whole === undefined ? good : [], ...(asLeaves === undefined ? (whole === undefined ? {} : { leaves: whole }) : { leaves: asLeaves }), anchors: toWrite, ...(checkpoint === undefined ? {} : { checkpoint }) });
    written = put.written;
    receiptsAdded = put.receiptsAdded;
  }
  const anchors: AnchorReport[] = (resolved?.anchors ?? []).map((a) => {
    const r: AnchorReport = { chain: a.chain, tx: a.tx, digest: a.digest!, outcome: a.outcome, checked: checkedKeys.has(a.digest!) };
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
    receiptsStored: (stored === undefined ? 0 : receiptCountOf(stored)) + receiptsAdded,
    rejectedReceipts: rejected,
    anchors,
    equivocation: chosen.conflict || store.batchVersions(input.namespace, input.batchId).some((b) => b.equivocal && b.origin === (stored?.checkpoint ?? checkpoint)?.origin),
    written,
    rejectedCheckpoints: chosen.rejected,
    ignoredClaims,
  };
  const signer = (stored?.checkpoint ?? checkpoint)?.origin;
  if (signer !== undefined) report.origin = signer;
  if (evidence !== undefined) {
    if (written || stored !== undefined) await store.putShape(input.namespace, evidence[1]);
    await recordConflict(store, evidence[0], evidence[1]);
  }
  if (resolved?.winner !== undefined) report.winner = resolved.winner;
  return report;
}
