/**
 * Applies conflict resolution (SPEC §5) to what the store holds for one batch id, writing
 * back only the anchors whose `superseded_by` changed.
 */
import { isDeepStrictEqual } from "node:util";
import { resolveAnchors, type RootResolution } from "../conflict/index.js";
import type { AnchorRecord, Store } from "../store/index.js";

export interface StoredResolution {
  byRoot: RootResolution[];
  equivocation: boolean;
  /** True when any record had to be rewritten. */
  written: boolean;
}

/**
 * Resolves every stored version of `batchId` and stores the result.
 * @example const { byRoot, equivocation } = await resolveStoredBatch(store, "dao:vaultmesh", "b1")
 */
export async function resolveStoredBatch(store: Store, namespace: string, batchId: string): Promise<StoredResolution> {
  const stored = await store.anchors(namespace, batchId);
  if (stored.length === 0) {
    const versions = await store.getBatchVersions(namespace, batchId);
    return { byRoot: versions.map((v) => ({ batchRoot: v.batchRoot, anchors: [] })), equivocation: versions.length > 1, written: false };
  }
  const resolution = resolveAnchors(stored);
  const batch = resolution.batches[0]!;
  const before = new Map(stored.map((a) => [`${a.batchRoot}\u0000${a.chain}\u0000${a.tx}`, a] as const));
  const changed: AnchorRecord[] = [];
  for (const root of batch.byRoot) {
    for (const a of root.anchors) {
      const old = before.get(`${a.batchRoot}\u0000${a.chain}\u0000${a.tx}`);
      if (old === undefined || !isDeepStrictEqual(old.superseded_by, a.superseded_by)) changed.push(a as AnchorRecord);
    }
  }
  if (changed.length > 0) await store.putAnchors(namespace, batchId, changed);
  // Versions with receipts but no anchors are part of the equivocation picture too.
  const versions = store.listBatches(namespace).filter((b) => b.batchId === batchId);
  const byRoot = versions.map((v) => batch.byRoot.find((r) => r.batchRoot === v.batchRoot) ?? { batchRoot: v.batchRoot, anchors: [] });
  return { byRoot, equivocation: versions.length > 1 || batch.equivocation, written: changed.length > 0 };
}
