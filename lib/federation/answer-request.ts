/**
 * What a node sends back for a Request (docs/FEDERATION_PROTOCOL.md): the selected receipts,
 * at most one page, and every stored anchor of their batch versions that is not rejected
 * (the receiver re-verifies them all with its own endpoints anyway). A `want` may also name
 * attachment items (docs/ANTI_ENTROPY.md §Attachment items): a checkpoint item with the version's
 * checkpoint, a claim item with that claim whatever this node's verdict on it.
 */
import type { Anchor } from "../anchors/anchor.js";
import { claimDigest, claimOf } from "../conflict/record.js";
import type { Checkpoint } from "../messages/checkpoint.js";
import type { Cosignature } from "../messages/cosignature.js";
import { encodeLeaves, type LeafSet } from "../messages/leaves.js";
import { LIMITS } from "../messages/limits.js";
import type { Request } from "../messages/schema.js";
import type { Receipt } from "../receipt.js";
import type { AnchorRecord, Store, StoredBatch } from "../store/index.js";
import type { VersionItem } from "../reconcile/version-items.js";

/** The attachment items among a want's ids (NamespaceIndexes.items, after prepare). */
export type ItemLookup = (namespace: string, ids: readonly string[]) => VersionItem[];

export interface RequestAnswer {
  /** The stored checkpoint of every batch version a receipt belongs to. */
  checkpoints: Checkpoint[];
  receipts: Receipt[];
  anchors: Anchor[];
  /** The cosignatures of the versions in `checkpoints` and of those asked for by cosignature item, at most LIMITS.maxCosignaturesPerBundle. */
  cosignatures: Cosignature[];
  /**
   * Whole versions as their leaves, for a Request of version 3 (docs/FEDERATION_PROTOCOL.md §Leaves):
   * each version's checkpoint is among `checkpoints`, and none of its receipts is in `receipts`.
   */
  leaves: Array<{ checkpoint: Checkpoint; leaves: string }>;
}

/**
 * A version travels as leaves for a `want` when its size is at most this many times the ids asked
 * of it: a receipt with its path is about as large as 32 leaves (docs/FEDERATION_PROTOCOL.md §Leaves).
 */
export const LEAVES_PER_ASKED = 32;

/**
 * An answer's leaf sets in their wire form: each names its checkpoint by its place in `checkpoints`.
 * @example bundle.leaves = wireLeaves(answer.checkpoints, answer.leaves)
 */
export function wireLeaves(checkpoints: readonly Checkpoint[], leaves: RequestAnswer["leaves"]): LeafSet[] {
  const place = new Map<string, number>();
  checkpoints.forEach((c, i) => {
    // A version's other shapes follow the primaries: the first checkpoint of a key is the one the leaves were read with.
    if (!place.has(versionKey(c))) place.set(versionKey(c), i);
  });
  return leaves.map((l) => ({ checkpoint: place.get(versionKey(l.checkpoint)) ?? -1, leaves: l.leaves })).filter((l) => l.checkpoint >= 0 && checkpoints[l.checkpoint]!.size * 32 === Buffer.byteLength(l.leaves, "base64"));
}

/** A stored version's leaves in their wire form (docs/FEDERATION_PROTOCOL.md §Leaves), or undefined when it does not hold every leaf. */
function leavesOf(batch: StoredBatch | undefined): string | undefined {
  const cp = batch?.checkpoint;
  if (batch === undefined || cp === undefined || cp.size > LIMITS.maxLeavesPerBundle) return undefined;
  // A version the store keeps as its leaves (docs/STATE.md §Leaves form) sends them as they are, no path derived.
  if (batch.leaves !== undefined) return batch.leaves;
  const hashes = eventHashesOf(batch, cp);
  return hashes === undefined ? undefined : encodeLeaves(hashes);
}

/** A version's event hashes in leaf order from its receipts, or undefined when it does not hold every leaf. */
function eventHashesOf(batch: StoredBatch, cp: Checkpoint): string[] | undefined {
  if (batch.receipts.length !== cp.size) return undefined;
  const out = new Array<string>(cp.size);
  for (const r of batch.receipts) {
    if (r.proof.index >= cp.size || out[r.proof.index] !== undefined) return undefined;
    out[r.proof.index] = r.eventHash;
  }
  return out.length === cp.size && !out.includes(undefined as unknown as string) ? out : undefined;
}

/** The wire form of a stored anchor: the claim without this node's verdict or digest. */
export function wireAnchor(record: AnchorRecord): Anchor {
  return claimOf(record);
}

/** True when a Request naming a batch asks for this version (docs/FEDERATION_PROTOCOL.md §Messages). */
function selects(request: Request, v: { batchRoot: string; checkpoint?: Checkpoint }): boolean {
  return (request.batchRoot === undefined || v.batchRoot === request.batchRoot) && (request.origin === undefined || v.checkpoint?.origin === request.origin);
}

/**
 * Reads each version's file once per answer, whatever asks for it (a receipt's checkpoint, its
 * anchors, an item, its cosignatures, its leaves), from the store's cache of parsed files: the
 * caller refreshes the store first, which drops the copies of files changed since
 * (docs/FEDERATION_PROTOCOL.md §Limits: an answer's memory is one page, not several parses of it).
 */
type VersionReader = (v: { batchId: string; batchRoot: string; origin?: string | null }) => Promise<StoredBatch | undefined>;

function versionReader(store: Store, namespace: string): VersionReader {
  const read = new Map<string, Promise<StoredBatch | undefined>>();
  return (v) => {
    const key = `${v.batchId}\u0000${v.batchRoot}\u0000${v.origin ?? ""}`;
    let p = read.get(key);
    if (p === undefined) read.set(key, (p = store.getBatch(namespace, v.batchId, v.batchRoot, v.origin ?? null, { cached: true })));
    return p;
  };
}

/** A receipt with the version it was read from: its origin's checkpoint, if the version has one. */
interface Selected {
  receipt: Receipt;
  checkpoint: Checkpoint | undefined;
}

async function selectReceipts(store: Store, request: Request, versionOf: VersionReader): Promise<Selected[]> {
  const page = LIMITS.maxReceiptsPerBundle;
  const inTs = (r: Receipt) => (request.fromTs === undefined || r.ts >= request.fromTs) && (request.toTs === undefined || r.ts <= request.toTs);
  if (request.batchId !== undefined) {
    // Preferred versions first (active, then with a checkpoint), so a page cut keeps the genuine one (docs/STATE.md §Layout).
    const versions = (await store.getBatchVersions(request.namespace, request.batchId)).filter((v) => selects(request, v));
    const first = (request.page ?? 0) * page;
    const want = request.want === undefined ? undefined : new Set(request.want);
    return versions
      .flatMap((v) => v.receipts.filter((r) => r.proof.index >= first && r.proof.index < first + page).map((receipt) => ({ receipt, checkpoint: v.checkpoint })))
      .filter(({ receipt: r }) => inTs(r) && (want === undefined || want.has(r.id)))
      .slice(0, page);
  }
  const checkpoints = new Map<string, Checkpoint | undefined>();
  const checkpointOf = async (v: { batchId: string; batchRoot: string; origin?: string }) => {
    const key = `${v.batchId}\u0000${v.batchRoot}\u0000${v.origin ?? ""}`;
    if (!checkpoints.has(key)) checkpoints.set(key, v.origin === undefined ? undefined : (await versionOf(v))?.checkpoint);
    return checkpoints.get(key);
  };
  let receipts: Receipt[];
  if (request.want !== undefined) {
    // Every version's copy of each wanted id, served copies first, grouped by batch file so each
    // file is parsed once (docs/ANTI_ENTROPY.md §Catching up): a peer catching up learns every
    // origin's version of a root, not only the one this node serves first (docs/STATE.md §Layout).
    const out: Selected[] = [];
    for (const { receipt, version } of await store.getReceiptCopies(request.namespace, request.want)) {
      if (inTs(receipt) && version.origin !== undefined) out.push({ receipt, checkpoint: await checkpointOf(version) });
    }
    return out.slice(0, page);
  } else {
    const start = request.fromTs === undefined ? 0 : store.receiptPosition(request.namespace, { ts: request.fromTs, id: "" });
    const end = request.toTs === undefined ? store.receiptCount(request.namespace) : store.receiptPosition(request.namespace, { ts: request.toTs + 1, id: "" });
    receipts = await store.receiptsAt(request.namespace, start, Math.min(end, start + page));
  }
  // The store serves each id from its preferred version (an active one first): send the checkpoint of
  // the version this copy belongs to, the preferred one of its root whose sealing time is the copy's ts.
  const out: Selected[] = [];
  for (const receipt of receipts) {
    const v = store.batchVersions(request.namespace, receipt.batchId, receipt.batchRoot).find((x) => x.createdAt === receipt.ts && x.size === receipt.proof.size && x.origin !== undefined);
    if (v !== undefined) out.push({ receipt, checkpoint: await checkpointOf(v) });
  }
  return out;
}

const versionKey = (c: Checkpoint) => `${c.batchId}\u0000${c.batchRoot}\u0000${c.origin}`;

/**
 * Selects receipts and anchors for `request` from the store: each receipt with the checkpoint
 * of the version it was read from, and the non-rejected anchors of those versions.
 * @example const { receipts, anchors } = await answerRequest(store, request)
 */
export async function answerRequest(store: Store, request: Request, items?: ItemLookup): Promise<RequestAnswer> {
  if (request.v === 3 && request.want === undefined && request.batchId === undefined) return answerRangeAsLeaves(store, request);
  const asked = request.want === undefined || request.batchId !== undefined || items === undefined ? [] : items(request.namespace, request.want);
  // Receipts travel only with their origin's checkpoint (docs/FEDERATION_PROTOCOL.md §Checkpoint):
  // a version stored by 0.1.0 without one is held back until one arrives.
  const versionOf = versionReader(store, request.namespace);
  let selected = (await selectReceipts(store, request, versionOf)).filter((s): s is { receipt: Receipt; checkpoint: Checkpoint } => s.checkpoint !== undefined);
  const leaves: RequestAnswer["leaves"] = [];
  if (request.v === 3) {
    const whole = await leafVersions(store, request, selected, versionOf);
    selected = selected.filter((s) => !whole.has(versionKey(s.checkpoint)));
    leaves.push(...whole.values());
    if (request.batchId !== undefined && (request.page ?? 0) > 0) {
      // A version sent whole on page 0 has nothing on the pages after it.
      const sent = await leafVersions(store, { ...request, page: 0 }, [], versionOf);
      selected = selected.filter((s) => !sent.has(versionKey(s.checkpoint)));
    }
  }
  const versions = new Map<string, Checkpoint>();
  for (const l of leaves) versions.set(versionKey(l.checkpoint), l.checkpoint);
  for (const s of selected) versions.set(versionKey(s.checkpoint), s.checkpoint);
  if (request.batchId !== undefined && selected.length === 0) {
    // A batch asked for by id whose receipts are all on other pages still gets its anchors.
    for (const v of await store.getBatchVersions(request.namespace, request.batchId)) if (v.checkpoint !== undefined && selects(request, v)) versions.set(versionKey(v.checkpoint), v.checkpoint);
  }
  const anchors: Anchor[] = [];
  const cosigned = new Map<string, Checkpoint>();
  const sentClaims = new Set<string>();
  const claimKey = (cp: { batchId: string; batchRoot: string; origin?: string }, digest: string) => `${cp.batchId}\u0000${cp.batchRoot}\u0000${cp.origin ?? ""}\u0000${digest}`;
  const shared = new Set<string>();
  for (const cp of versions.values()) {
    // The same claim held by two versions of one root travels once.
    for (const a of (await versionOf(cp))?.anchors ?? []) {
      const digest = a.digest ?? claimDigest(a);
      sentClaims.add(claimKey(cp, digest));
      if (a.outcome === "rejected" || shared.has(digest)) continue;
      shared.add(digest);
      anchors.push(wireAnchor(a));
    }
  }
  // Items asked for by id (docs/ANTI_ENTROPY.md §Attachment items): a checkpoint item brings its
  // version's checkpoint, a claim item that claim.
  for (const item of asked) {
    const version = await versionOf(item);
    if (version?.checkpoint === undefined) continue;
    // A `complete` item is answered with the checkpoint: the receipts travel by their own ids.
    if (item.kind === "checkpoint" || item.kind === "complete") {
      versions.set(versionKey(version.checkpoint), version.checkpoint);
      continue;
    }
    if (item.kind === "cosignature") {
      cosigned.set(versionKey(version.checkpoint), version.checkpoint);
      continue;
    }
    if (sentClaims.has(claimKey(version.checkpoint, item.digest))) continue;
    const record = version.anchors.find((a) => (a.digest ?? claimDigest(a)) === item.digest);
    if (record === undefined) continue;
    sentClaims.add(claimKey(version.checkpoint, item.digest));
    anchors.push(wireAnchor(record));
  }
  // The cosignatures of every version the Bundle names, and of those asked for by cosignature
  // item, travel with it (docs/FEDERATION_PROTOCOL.md §Cosignature).
  for (const [key, cp] of versions) cosigned.set(key, cp);
  const cosignatures: Cosignature[] = [];
  for (const cp of cosigned.values()) cosignatures.push(...((await versionOf(cp))?.cosignatures ?? []));
  // A version's other shapes travel with its checkpoint, so a peer holding another primary learns of the equivocation (docs/ANTI_ENTROPY.md §Attachment items).
  const shapes: Checkpoint[] = [];
  for (const cp of versions.values()) shapes.push(...((await versionOf(cp))?.shapes ?? []));
  return { checkpoints: [...versions.values(), ...shapes].slice(0, LIMITS.maxCheckpointsPerBundle), receipts: selected.map((s) => s.receipt), anchors: anchors.slice(0, LIMITS.maxAnchorsPerBundle), cosignatures: cosignatures.slice(0, LIMITS.maxCosignaturesPerBundle), leaves };
}

/**
 * The versions of a version 3 Request's answer that travel whole as leaves, by version key:
 * for a batch, every selected complete version on page 0; for a `want`, each complete version of
 * at most LEAVES_PER_ASKED leaves per id asked of it. At most LIMITS.maxLeavesPerBundle leaves in all.
 */
async function leafVersions(store: Store, request: Request, selected: ReadonlyArray<{ receipt: Receipt; checkpoint: Checkpoint }>, versionOf: VersionReader): Promise<Map<string, { checkpoint: Checkpoint; leaves: string }>> {
  const out = new Map<string, { checkpoint: Checkpoint; leaves: string }>();
  let budget = LIMITS.maxLeavesPerBundle;
  const take = (batch: StoredBatch | undefined): void => {
    const leaves = leavesOf(batch);
    if (leaves === undefined || batch!.checkpoint!.size > budget) return;
    budget -= batch!.checkpoint!.size;
    out.set(versionKey(batch!.checkpoint!), { checkpoint: batch!.checkpoint!, leaves });
  };
  if (request.batchId !== undefined) {
    if ((request.page ?? 0) !== 0) return out;
    for (const v of await store.getBatchVersions(request.namespace, request.batchId)) if (selects(request, v)) take(v);
    return out;
  }
  const asked = new Map<string, { checkpoint: Checkpoint; n: number }>();
  for (const s of selected) {
    const key = versionKey(s.checkpoint);
    const a = asked.get(key) ?? { checkpoint: s.checkpoint, n: 0 };
    a.n++;
    asked.set(key, a);
  }
  for (const { checkpoint, n } of asked.values()) {
    if (checkpoint.size > LEAVES_PER_ASKED * n) continue;
    take(await versionOf(checkpoint));
  }
  return out;
}

/**
 * A version 3 Request by time range (no `want`, no batch): whole complete versions whose sealing
 * time is in the range, in the store's (createdAt, batchId) order, as leaves, until
 * LIMITS.maxLeavesPerBundle leaves (at least one version). What a node with nothing in the
 * namespace pulls page after page (docs/ANTI_ENTROPY.md §Catching up).
 */
async function answerRangeAsLeaves(store: Store, request: Request): Promise<RequestAnswer> {
  const inTs = (ts: number) => (request.fromTs === undefined || ts >= request.fromTs) && (request.toTs === undefined || ts <= request.toTs);
  const answer: RequestAnswer = { checkpoints: [], receipts: [], anchors: [], cosignatures: [], leaves: [] };
  let budget = LIMITS.maxLeavesPerBundle;
  const claims = new Set<string>();
  for (const v of store.listBatches(request.namespace)) {
    if (!inTs(v.createdAt) || v.origin === undefined || v.size === undefined || v.receiptCount !== v.size || v.size > LIMITS.maxLeavesPerBundle) continue;
    // In order or not at all: the asker pages on from the last sealing time it got.
    if (v.size > budget || answer.checkpoints.length >= LIMITS.maxCheckpointsPerBundle) break;
    // Each version is read once per catch-up: not kept in the store's cache of parsed files, which
    // would only hold (and keep the garbage collector marking) files no one asks for again.
    const batch = await store.getBatch(request.namespace, v.batchId, v.batchRoot, v.origin, { cached: true, retain: false });
    const leaves = leavesOf(batch);
    if (leaves === undefined) continue;
    budget -= batch!.checkpoint!.size;
    answer.checkpoints.push(batch!.checkpoint!);
    answer.leaves.push({ checkpoint: batch!.checkpoint!, leaves });
    for (const a of batch!.anchors) {
      const digest = a.digest ?? claimDigest(a);
      if (a.outcome === "rejected" || claims.has(digest) || answer.anchors.length >= LIMITS.maxAnchorsPerBundle) continue;
      claims.add(digest);
      answer.anchors.push(wireAnchor(a));
    }
    for (const c of batch!.cosignatures ?? []) if (answer.cosignatures.length < LIMITS.maxCosignaturesPerBundle) answer.cosignatures.push(c);
    if (budget === 0) break;
  }
  return answer;
}
