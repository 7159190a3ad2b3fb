/**
 * When this node last completed a sync with each peer, per namespace: written by `sync` and
 * by serve's anti-entropy timer, read by `status`. One small document in the store.
 */
import type { Store } from "../store/index.js";

const DOC = "sync-state";

/** peer DID → namespace → unix seconds of the last successful sync. */
type SyncState = Record<string, Record<string, number>>;

/**
 * Records a successful sync with `peer` for `namespace` at `ts`.
 * @example await recordSync(store, "did:vm:node:b", "dao:vaultmesh", now)
 */
export async function recordSync(store: Pick<Store, "updateDoc">, peer: string, namespace: string, ts: number): Promise<void> {
  await store.updateDoc<SyncState>(DOC, (current) => {
    const next: SyncState = { ...(current ?? {}) };
    next[peer] = { ...(next[peer] ?? {}), [namespace]: Math.max(ts, next[peer]?.[namespace] ?? 0) };
    return next;
  });
}

/**
 * Every recorded last sync, by peer.
 * @example (await lastSyncs(store)).get("did:vm:node:b")?.["dao:vaultmesh"]
 */
export async function lastSyncs(store: Pick<Store, "getDoc">): Promise<Map<string, Record<string, number>>> {
  const doc = (await store.getDoc<SyncState>(DOC)) ?? {};
  return new Map(Object.entries(doc));
}
