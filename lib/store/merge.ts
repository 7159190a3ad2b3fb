/**
 * How a write combines with what a batch file already holds, so that re-putting
 * the same data changes nothing: receipts are added by id (a stored receipt is
 * never altered: its `ts` was fixed at first ingestion, docs/FEDERATION_PROTOCOL.md §Receipt), anchor records
 * are keyed by the digest of their claim (docs/STATE.md §Anchor claims): a record with a stored
 * digest and the same claim replaces it (a new verdict), a differing claim is a new record.
 * Inputs are plain JSON values (the store round-trips them), so deep equality
 * is content equality. Pure: no file, no clock.
 */
import { isDeepStrictEqual } from "node:util";
import { claimOf, withDigest } from "../conflict/record.js";
import { resolveAnchors } from "../conflict/resolve.js";
import type { Receipt } from "../receipt.js";
import { leafIndexesOf, receiptIdsOf, receiptsOf } from "./file-receipts.js";
import type { BatchFile } from "./schema.js";
import type { AnchorRecord, BatchInput } from "./types.js";

/**
 * Anchor claims one batch version keeps (docs/FEDERATION_SEMANTICS.md §6. Threat model). Past it,
 * records this node did not verify give way, rejected ones first, then pending ones, the least
 * recently checked first; a verified record is never dropped.
 */
export const MAX_CLAIMS_PER_VERSION = 64;

const checkedAt = (a: AnchorRecord): number => (typeof a.evidence?.["checkedAt"] === "number" ? (a.evidence["checkedAt"] as number) : 0);

/** Drops unverified records past MAX_CLAIMS_PER_VERSION, keeping those in `keep`; returns how many went. */
function evictPastCap(anchors: AnchorRecord[], keep: ReadonlySet<string>): number {
  let over = anchors.length - MAX_CLAIMS_PER_VERSION;
  if (over <= 0) return 0;
  const rank = (a: AnchorRecord) => (a.outcome === "rejected" ? 0 : 1);
  const victims = anchors
    .filter((a) => a.outcome !== "verified" && !keep.has(a.digest!))
    .sort((a, b) => rank(a) - rank(b) || checkedAt(a) - checkedAt(b))
    .slice(0, over);
  const gone = new Set(victims);
  for (let i = anchors.length - 1; i >= 0 && over > 0; i--) {
    if (gone.has(anchors[i]!)) {
      anchors.splice(i, 1);
      over--;
    }
  }
  return gone.size;
}

/** The merged file and what changed; `changed` false means nothing needs writing. */
export interface MergeResult {
  file: BatchFile;
  changed: boolean;
  receiptsAdded: number;
  anchorsChanged: number;
}

/**
 * Merges incoming anchor records into stored ones by claim digest. A verdict update replaces
 * only the record with the same digest and the same claim; an incoming record whose digest is
 * stored under another claim (one TSA token under another label) changes nothing, unless the
 * stored one is rejected and the incoming one is not (docs/STATE.md §Anchor claims). Every
 * returned record carries its digest.
 * @example mergeAnchors([], [record]) // { anchors: [{ ...record, digest }], changed: 1 }
 */
export function mergeAnchors(stored: readonly AnchorRecord[], incoming: readonly AnchorRecord[]): { anchors: AnchorRecord[]; changed: number } {
  const anchors = stored.map((a) => withDigest(a));
  const at = new Map(anchors.map((a, i) => [a.digest!, i] as const));
  let changed = 0;
  const arriving = new Set<string>();
  for (const raw of incoming) {
    const a = withDigest(raw);
    arriving.add(a.digest!);
    const i = at.get(a.digest!);
    if (i === undefined) {
      at.set(a.digest!, anchors.length);
      anchors.push(a);
      changed++;
    } else if (!isDeepStrictEqual(anchors[i], a) && (isDeepStrictEqual(claimOf(anchors[i]!), claimOf(a)) || (anchors[i]!.outcome === "rejected" && a.outcome !== "rejected"))) {
      anchors[i] = a;
      changed++;
    }
  }
  // The bound is on what is kept, whoever sent it: what just arrived stays, older unverified records go.
  evictPastCap(anchors, arriving);
  // Unless too few older ones can go (another process stored verified claims since the sender's
  // room was counted): then unverified arrivals give way too, and the bound still holds.
  evictPastCap(anchors, new Set());
  return { anchors, changed };
}

/**
 * Merges a `putBatch` argument into the stored file of the same version (namespace, origin, batchId, batchRoot), or none.
 * `path` names that file in an error about its leaves (lib/store/file-receipts.ts).
 * @example mergeBatch(null, input).changed // true
 */
export function mergeBatch(stored: BatchFile | null, input: BatchInput, path = "(new batch file)"): MergeResult {
  const base: BatchFile = stored ?? {
    kind: "batch",
    namespace: input.namespace,
    batchId: input.batchId,
    batchRoot: input.batchRoot,
    createdAt: input.createdAt,
    receipts: [],
    anchors: [],
    ...(input.checkpoint === undefined ? {} : { checkpoint: input.checkpoint }),
  };
  // The first checkpoint stored for a version stays: a 0.1.0 version gains one, none is replaced.
  const gainsCheckpoint = stored !== null && stored.checkpoint === undefined && input.checkpoint !== undefined;
  const held = mergeReceipts(base, input, path);
  const merged = mergeAnchors(base.anchors, input.anchors);
  const { anchors } = merged;
  // The winner marks are made again from what the file holds once merged, inside the write: two
  // imports of one version side by side each resolved against the file as it was before the
  // other's write, and the later write could leave a superseded anchor unmarked beside the winner.
  const anchorsChanged = merged.changed + (merged.changed > 0 ? remarkSuperseded(anchors) : 0);
  const changed = stored === null || held.added > 0 || anchorsChanged > 0 || gainsCheckpoint;
  const { leaves: _form, ...rest } = base;
  return {
    file: changed ? { ...rest, ...(gainsCheckpoint ? { checkpoint: input.checkpoint! } : {}), receipts: held.receipts, ...(held.leaves === undefined ? {} : { leaves: held.leaves }), anchors } : base,
    changed,
    receiptsAdded: held.added,
    anchorsChanged,
  };
}

/**
 * The receipts of a version once `input`'s are added to what `base` holds, in either form (docs/STATE.md
 * §Leaves form). A version stays or becomes leaves when the leaves cover every receipt it holds,
 * each at the leaf of its own index (the first of its id); anything else is kept as receipts with
 * their paths, the leaves' derived for the purpose. A stored receipt is never altered or lost.
 */
function mergeReceipts(base: BatchFile, input: BatchInput, path: string): { receipts: Receipt[]; leaves?: string; added: number } {
  if (base.leaves !== undefined) {
    // Held whole as leaves: what they stand for is held; anything beyond them is added as receipts.
    const have = new Set(receiptIdsOf(base));
    const extra = distinctNew(have, input.leaves !== undefined ? [] : input.receipts);
    if (extra.length === 0) return { receipts: [], leaves: base.leaves, added: 0 };
    return { receipts: [...receiptsOf(base, path), ...extra], added: extra.length };
  }
  if (input.leaves !== undefined && input.checkpoint !== undefined) {
    const leafAt = leafIndexesOf(input.leaves);
    const cp = input.checkpoint;
    const covered = base.receipts.every((r) => r.eventHash === r.id && r.proof.tree === cp.tree && r.proof.size === cp.size && leafAt.get(r.id) === r.proof.index);
    if (covered) return { receipts: [], leaves: input.leaves, added: leafAt.size - base.receipts.length };
    const have = new Set(base.receipts.map((r) => r.id));
    const extra = distinctNew(have, receiptsOf({ ...input, receipts: [] }, path));
    return { receipts: extra.length === 0 ? base.receipts : [...base.receipts, ...extra], added: extra.length };
  }
  const extra = distinctNew(new Set(base.receipts.map((r) => r.id)), input.receipts);
  return { receipts: extra.length === 0 ? base.receipts : [...base.receipts, ...extra], added: extra.length };
}

/** The receipts of `incoming` whose ids are not in `have`, each id once (`have` gains them). */
function distinctNew(have: Set<string>, incoming: readonly Receipt[]): Receipt[] {
  const added: Receipt[] = [];
  for (const r of incoming) {
    if (have.has(r.id)) continue;
    have.add(r.id);
    added.push(r);
  }
  return added;
}

/**
 * Sets each record's `superseded_by` to what resolving all of them gives (docs/FEDERATION_SEMANTICS.md
 * §3. Conflicts), in place and in the stored order; returns how many records changed.
 * @example remarkSuperseded(file.anchors) // 1: the older verified anchor is marked superseded
 */
export function remarkSuperseded(anchors: AnchorRecord[]): number {
  if (anchors.length === 0) return 0;
  const marks = new Map<string, string | undefined>();
  for (const batch of resolveAnchors(anchors).batches) for (const root of batch.byRoot) for (const a of root.anchors) marks.set(withDigest(a).digest!, a.superseded_by);
  let changed = 0;
  anchors.forEach((a, i) => {
    const digest = withDigest(a).digest!;
    if (!marks.has(digest)) return;
    const want = marks.get(digest);
    if (a.superseded_by === want) return;
    const { superseded_by: _old, ...rest } = a;
    anchors[i] = want === undefined ? rest : { ...rest, superseded_by: want };
    changed++;
  });
  return changed;
}
