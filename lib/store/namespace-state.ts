/**
 * What the store keeps in memory for one namespace: a summary per stored batch
 * version (namespace + origin + batchId + batchRoot), the `(ts, id)` receipt index
 * (every version's copy of a receipt, active versions first), and the change
 * counter last seen in the namespace's meta.json.
 */
import { createHash } from "node:crypto";
import type { Outcome } from "../anchors/result.js";
import { StoreError } from "../errors.js";
import type { IdFilter } from "./id-filter.js";
import { messageDigest } from "../messages/canonical.js";
import { attributedClaim, type AttributionPolicy, type WitnessMark } from "../quorum/attribution.js";
import { ReceiptIndex, type IndexedReceipt } from "./receipt-index.js";
import { receiptCountOf, receiptIdsOf } from "./file-receipts.js";
import type { BatchFile } from "./schema.js";
import type { BatchSummary, OutcomeCounts } from "./types.js";

/** In-memory summary of one batch file. */
export interface BatchEntry {
  readonly namespace: string;
  readonly batchId: string;
  readonly batchRoot: string;
  createdAt: number;
  /** Signer of the stored checkpoint; undefined for a 0.1.0 version. */
  origin: string | undefined;
  /** Batch size from the stored checkpoint. */
  size: number | undefined;
  readonly path: string;
  identity: string;
  /** Identity of the batchId directory holding the file, as of the last scan or own write. */
  dirIdentity: string;
  receiptCount: number;
  anchorCount: number;
  /** Witness cosignatures in the file (docs/STATE.md §Cosignatures). */
  cosignatureCount: number;
  outcomes: OutcomeCounts;
  /**
   * Digest of the stored checkpoint and who cosigned what when, read with the receipts (not kept
   * in the manifest): what attribution of a contested root weighs (docs/FEDERATION_SEMANTICS.md §8. Quorum).
   */
  witnessed?: { checkpoint: string; marks: WitnessMark[] };
}

/**
 * How this store attributes contested roots of a namespace: the quorum policy and the key of
 * each witness (two DIDs holding one key count once). Set by the node, which has the configuration.
 */
export interface AttributionRule {
  policy: AttributionPolicy;
  keyOf?: (signer: string) => string;
  /** When a checkpoint (by digest) was witnessed in its origin's log; undefined while unlogged (docs/FEDERATION_SEMANTICS.md §Origin logs). */
  loggedAt?: (checkpoint: string) => number | undefined;
}

/**
 * Counts anchors per outcome.
 * @example countOutcomes([{ outcome: "verified" }]) // { verified: 1, pending: 0, rejected: 0 }
 */
export function countOutcomes(anchors: readonly { outcome: Outcome }[]): OutcomeCounts {
  const c: OutcomeCounts = { verified: 0, pending: 0, rejected: 0 };
  for (const a of anchors) c[a.outcome]++;
  return c;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** batchId, batchRoot, then origin (a version without one first), then file path: a total order of versions. */
const byIdThenRoot = (a: BatchEntry, b: BatchEntry): number =>
  cmp(a.batchId, b.batchId) || cmp(a.batchRoot, b.batchRoot) || (a.origin === b.origin ? 0 : a.origin === undefined ? -1 : b.origin === undefined ? 1 : cmp(a.origin, b.origin)) || cmp(a.path, b.path);

/**
 * A version is active once one of its anchors verified (docs/ANCHORS.md §Outcomes): its copy of
 * a receipt is served before any held version's (docs/FEDERATION_SEMANTICS.md §6. Threat model).
 */
export const isActive = (b: BatchEntry): boolean => b.outcomes.verified > 0;

/**
 * The lot of a version among copies of one event: `sha256(origin NUL batchRoot)`. Neither is the
 * claimant's to pick cheaply (its DID is fixed when it is admitted; the root of a contested
 * version is the genuine one), unlike its `createdAt`, batch id or checkpoint bytes, so every
 * node orders the same copies the same way and no claimant buys the first place
 * (docs/FEDERATION_SEMANTICS.md §6. Threat model).
 */
export function versionLot(b: Pick<BatchEntry, "origin" | "batchRoot">): string {
  return createHash("sha256").update(`${b.origin ?? ""}\u0000${b.batchRoot}`, "utf8").digest("hex");
}

/** Each version's lot, computed once per origin it had (a 0.1.0 version gains one). */
const lots = new WeakMap<BatchEntry, { origin: string | undefined; lot: string }>();
function lotOf(b: BatchEntry): string {
  const had = lots.get(b);
  if (had !== undefined && had.origin === b.origin) return had.lot;
  const lot = versionLot(b);
  lots.set(b, { origin: b.origin, lot });
  return lot;
}

/** Copies of one event in two versions of the same rank: by lot, then batch id, root, origin, path. */
const byLot = (a: BatchEntry, b: BatchEntry): number => cmp(lotOf(a), lotOf(b)) || byIdThenRoot(a, b);

/** The attribution inputs of a batch file: its checkpoint's digest and its cosignatures' marks. */
export function witnessedOf(file: BatchFile): BatchEntry["witnessed"] {
  if (file.checkpoint === undefined) return undefined;
  return { checkpoint: messageDigest(file.checkpoint), marks: (file.cosignatures ?? []).map((c) => ({ signer: c.signer, checkpoint: c.checkpoint, ts: c.ts })) };
}

/**
 * Orders versions of one batch the way a reader without an origin wants them: active first,
 * then with a checkpoint, then by origin and path.
 * @example versions.sort(preferVersion)[0] // the version getBatch returns when no origin is named
 */
export function preferVersion(a: BatchEntry, b: BatchEntry): number {
  if (isActive(a) !== isActive(b)) return isActive(a) ? -1 : 1;
  if ((a.origin === undefined) !== (b.origin === undefined)) return a.origin === undefined ? 1 : -1;
  return byIdThenRoot(a, b);
}

/** One namespace's index. */
export class NamespaceState {
  readonly namespace: string;
  /** Change counter from meta.json as of the last scan or own write. */
  rev = 0;
  readonly batchesByPath = new Map<string, BatchEntry>();
  readonly batchesById = new Map<string, BatchEntry[]>();
  /** Versions by root, across batch ids: two origins (or two shapes) of one root are a contest. */
  readonly batchesByRoot = new Map<string, BatchEntry[]>();
  /** How contests are attributed here; undefined: nothing is attributed (docs/FEDERATION_SEMANTICS.md §8. Quorum). */
  attribution: AttributionRule | undefined;
  /** The attributed version of each contested root weighed so far (null: none); cleared when a version of the root changes. */
  readonly #attributed = new Map<string, BatchEntry | null>();
  receipts = new ReceiptIndex<BatchEntry>(byLot, (b) => this.rank(b));
  /**
   * False while the batch summaries came from the manifest and the receipt keys have not been
   * read from the batch files yet (docs/STATE.md §Manifest); `receipts` is then empty.
   */
  receiptsLoaded = true;
  /** Distinct receipt ids as the manifest counted them; meaningful while `receiptsLoaded` is false. */
  manifestReceipts = 0;
  /** Commits since this namespace's manifest was last written (or found to match). */
  commitsSinceManifest = 0;
  /** The manifest on disk does not describe this state. */
  manifestStale = false;
  /** The open found the manifest missing or stale: the next commit rewrites it. */
  openedStale = false;

  constructor(namespace: string) {
    this.namespace = namespace;
  }

  /** The receipt-id filter at `rev`, while this process holds one (docs/STATE.md §Id filter). */
  idFilter: IdFilter | undefined;
  /** The receipt keys being read while `receiptsLoaded` is false. */
  loading: Promise<void> | undefined;

  /** A new, empty receipt index with this namespace's ordering, for a load to fill. */
  emptyReceiptIndex(): ReceiptIndex<BatchEntry> {
    return new ReceiptIndex<BatchEntry>(byLot, (b) => this.rank(b));
  }

  /**
   * Which version's copy of an event is served first (docs/FEDERATION_SEMANTICS.md §6. Threat
   * model): 0 active and uncontested, or the attributed claim of its contested root; 1 active but
   * one claim of a contested root that is not attributed; 2 held; 3 without a checkpoint.
   */
  rank(b: BatchEntry): number {
    if (b.origin === undefined) return 3;
    if (!isActive(b)) return 2;
    if (!this.contested(b.batchRoot)) return 0;
    return this.attributedVersion(b.batchRoot) === b ? 0 : 1;
  }

  /** True when versions of `batchRoot` were signed by two origins, or by one origin with two shapes (size or createdAt). */
  contested(batchRoot: string): boolean {
    const shapes = new Map<string, string>();
    for (const v of this.batchesByRoot.get(batchRoot) ?? []) {
      if (v.origin === undefined) continue;
      const shape = `${v.createdAt}/${v.size ?? ""}`;
      const had = shapes.get(v.origin);
      if (had !== undefined && had !== shape) return true;
      shapes.set(v.origin, shape);
    }
    return shapes.size > 1;
  }

  /** The version of a contested root that attribution names, if any (needs the receipts loaded: the marks come with them). */
  attributedVersion(batchRoot: string): BatchEntry | undefined {
    if (this.attribution === undefined) return undefined;
    let hit = this.#attributed.get(batchRoot);
    if (hit === undefined || !this.receiptsLoaded) {
      const versions = (this.batchesByRoot.get(batchRoot) ?? []).filter((v) => v.witnessed !== undefined).sort(byIdThenRoot);
      const at = attributedClaim(
        versions.map((v) => {
          const loggedAt = this.attribution!.loggedAt?.(v.witnessed!.checkpoint);
          return { checkpoint: v.witnessed!.checkpoint, cosignatures: v.witnessed!.marks, ...(loggedAt === undefined ? {} : { loggedAt }) };
        }),
        this.attribution.policy,
        this.attribution.keyOf,
      );
      hit = at === undefined ? null : versions[at]!;
      if (this.receiptsLoaded) this.#attributed.set(batchRoot, hit);
    }
    return hit ?? undefined;
  }

  /** Takes a new attribution rule and re-chooses the served copy of every event held twice; returns the keys that entered the order. */
  setAttribution(rule: AttributionRule | undefined): IndexedReceipt<BatchEntry>[] {
    this.attribution = rule;
    this.#attributed.clear();
    return this.receiptsLoaded ? this.receipts.reconsiderWhere(() => true) : [];
  }

  /** Distinct receipt ids, from the index or, before it is loaded, from the manifest. */
  get receiptCount(): number {
    return this.receiptsLoaded ? this.receipts.size : this.manifestReceipts;
  }

  /** Adds a batch summary taken from a checked manifest, without reading its file. */
  addSummary(path: string, summary: Omit<BatchEntry, "path" | "namespace">): void {
    const entry: BatchEntry = { namespace: this.namespace, path, ...summary };
    this.batchesByPath.set(path, entry);
    const versions = this.batchesById.get(entry.batchId);
    if (versions === undefined) this.batchesById.set(entry.batchId, [entry]);
    else versions.push(entry);
    this.#byRoot(entry);
  }

  #byRoot(entry: BatchEntry): void {
    const of = this.batchesByRoot.get(entry.batchRoot);
    if (of === undefined) this.batchesByRoot.set(entry.batchRoot, [entry]);
    else of.push(entry);
  }

  /**
   * Indexes a batch file just read or written at `path`; returns the receipt keys that entered
   * the order (none while the receipt keys are not loaded: loading reads every file anyway).
   * `newIds`: with the keys not loaded, how many of the file's receipt ids the namespace did not
   * hold before (known from its id filter, docs/STATE.md §Id filter); without it, only
   * anchor-only changes may be applied to a namespace whose keys are not loaded.
   */
  apply(path: string, identity: string, file: BatchFile, dirIdentity: string, newIds?: number): IndexedReceipt<BatchEntry>[] {
    let entry = this.batchesByPath.get(path);
    if (!this.receiptsLoaded && newIds !== undefined) this.manifestReceipts += newIds;
    else if (!this.receiptsLoaded && entry?.receiptCount !== receiptCountOf(file)) {
      // Only anchor-only changes may skip the receipt index; the store loads it before any other.
      throw new StoreError("STATE_INDEX_NOT_LOADED", `receipts of namespace ${JSON.stringify(this.namespace)} changed at ${path} before its receipt index was loaded`, { path });
    }
    const origin = file.checkpoint?.origin;
    const twin = origin === undefined ? undefined : this.batchesById.get(file.batchId)?.find((v) => v.path !== path && v.batchRoot === file.batchRoot && v.origin === origin);
    if (twin !== undefined) {
      // One file per version (docs/STATE.md §Layout): a second one is never written by the store, so it was put there by hand.
      throw new StoreError("STATE_CORRUPT", `${path} holds the same batch version (origin ${origin}) as ${twin.path}; move one of them away`, { path });
    }
    if (entry === undefined) {
      entry = {
        namespace: file.namespace,
        batchId: file.batchId,
        batchRoot: file.batchRoot,
        createdAt: file.createdAt,
        origin: file.checkpoint?.origin,
        size: file.checkpoint?.size,
        path,
        identity,
        dirIdentity,
        receiptCount: 0,
        anchorCount: 0,
        cosignatureCount: 0,
        outcomes: countOutcomes([]),
      };
      this.batchesByPath.set(path, entry);
      const versions = this.batchesById.get(file.batchId);
      if (versions === undefined) this.batchesById.set(file.batchId, [entry]);
      else versions.push(entry);
      this.#byRoot(entry);
    }
    const wasRank = this.rank(entry);
    // The origin's other shape of this root became the version's checkpoint: receipts that do not fit it left the file.
    const reshaped = entry.witnessed !== undefined && file.checkpoint !== undefined && entry.witnessed.checkpoint !== messageDigest(file.checkpoint);
    entry.identity = identity;
    entry.createdAt = file.createdAt;
    entry.origin = file.checkpoint?.origin;
    entry.size = file.checkpoint?.size;
    // Every version of this batchId shares the directory: what one write changed, all see.
    for (const v of this.batchesById.get(file.batchId) ?? []) v.dirIdentity = dirIdentity;
    // Both forms of a file (docs/STATE.md §Leaves form) give their ids without deriving a path.
    const ids = receiptIdsOf(file);
    entry.receiptCount = ids.length;
    entry.anchorCount = file.anchors.length;
    entry.cosignatureCount = file.cosignatures?.length ?? 0;
    entry.outcomes = countOutcomes(file.anchors);
    entry.witnessed = witnessedOf(file);
    this.#attributed.delete(file.batchRoot);
    const batch = entry;
    if (!this.receiptsLoaded) return [];
    const added = this.receipts.insert(ids.map((id) => ({ ts: file.createdAt, id, batch })));
    if (reshaped) {
      const kept = new Set(ids);
      added.push(...this.receipts.remove(batch, this.receipts.idsOf(batch).filter((id) => !kept.has(id))));
    }
    // A version of a root held more than once can change the attribution of every version of it:
    // their copies are weighed again (docs/FEDERATION_SEMANTICS.md §8. Quorum).
    if ((this.batchesByRoot.get(file.batchRoot)?.length ?? 0) > 1) added.push(...this.receipts.reconsiderWhere((b) => b.batchRoot === file.batchRoot));
    // A version that became active (or stopped being) changes which copy of its receipts is preferred.
    else if (wasRank !== this.rank(entry)) added.push(...this.receipts.reconsider(ids));
    return added;
  }

  /**
   * The stored version of `batchRoot` signed by `origin`; with `origin` null, the version stored
   * without a checkpoint (0.1.0); with `origin` undefined, the preferred one (`preferVersion`).
   */
  version(batchId: string, batchRoot: string, origin?: string | null): BatchEntry | undefined {
    const of = (this.batchesById.get(batchId) ?? []).filter((v) => v.batchRoot === batchRoot);
    if (origin === undefined) return of.sort(preferVersion)[0];
    return of.find((v) => v.origin === (origin ?? undefined));
  }

  /** The stored versions of `batchId` (of one root, when given), preferred first (`preferVersion`). */
  versions(batchId: string, batchRoot?: string): BatchEntry[] {
    return (this.batchesById.get(batchId) ?? []).filter((v) => batchRoot === undefined || v.batchRoot === batchRoot).sort(preferVersion);
  }

  /** Summary of one batch version as returned by the store. */
  summary(entry: BatchEntry): BatchSummary {
    return {
      namespace: entry.namespace,
      batchId: entry.batchId,
      batchRoot: entry.batchRoot,
      createdAt: entry.createdAt,
      receiptCount: entry.receiptCount,
      anchorCount: entry.anchorCount,
      cosignatureCount: entry.cosignatureCount,
      fileIdentity: entry.identity,
      outcomes: { ...entry.outcomes },
      ...(entry.origin === undefined ? {} : { origin: entry.origin }),
      ...(entry.size === undefined ? {} : { size: entry.size }),
      equivocal: this.equivocal(entry.batchId, entry.origin),
    };
  }

  /**
   * True when `origin` signed checkpoints of more than one root of `batchId`: an equivocation,
   * with the two signed checkpoints as evidence (docs/FEDERATION_SEMANTICS.md §Equivocation).
   * Versions of other origins, and 0.1.0 versions without a checkpoint, never count.
   */
  equivocal(batchId: string, origin: string | undefined): boolean {
    if (origin === undefined) return false;
    let n = 0;
    for (const v of this.batchesById.get(batchId) ?? []) if (v.origin === origin) n++;
    return n > 1;
  }

  /** Origins that signed several roots of `batchId`. */
  equivocatingOrigins(batchId: string): string[] {
    const seen = new Set<string>();
    const out = new Set<string>();
    for (const v of this.batchesById.get(batchId) ?? []) {
      if (v.origin === undefined) continue;
      if (seen.has(v.origin)) out.add(v.origin);
      seen.add(v.origin);
    }
    return [...out].sort();
  }

  /** Every batch version, ordered by createdAt, batchId, batchRoot. */
  summaries(): BatchSummary[] {
    return [...this.batchesByPath.values()]
      .sort((a, b) => (a.createdAt !== b.createdAt ? a.createdAt - b.createdAt : byIdThenRoot(a, b)))
      .map((e) => this.summary(e));
  }

  /** Number of (origin, batchId) with checkpoints of more than one root. */
  equivocations(): number {
    let n = 0;
    for (const batchId of this.batchesById.keys()) n += this.equivocatingOrigins(batchId).length;
    return n;
  }
}
