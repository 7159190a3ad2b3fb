/**
 * The per-peer gauges of GET /metrics that are read from the store when scraped: outbox
 * depth per peer and the last successful sync per peer and namespace (docs/FEDERATION_OPERATIONS.md,
 * "Monitoring"). Read-only; a CLI `sync` or `announce` on the same state shows up at the next scrape.
 */
import type { Store } from "../store/index.js";
import { OUTBOX_INDEX_DOC, queueDocName, readIndex, readQueue } from "./outbox-queue.js";
import { lastSyncs } from "./sync-state.js";

export interface StoreGauges {
  /** peer DID → announces queued for it. */
  outboxDepth: Map<string, number>;
  /** peer DID → namespace → unix seconds of the last successful sync. */
  lastSync: Map<string, Record<string, number>>;
}

/**
 * Reads the outbox depths and last syncs of every peer.
 * @example const { outboxDepth } = await readStoreGauges(store); outboxDepth.get("did:vm:node:b") // 3
 */
export async function readStoreGauges(store: Pick<Store, "getDoc">): Promise<StoreGauges> {
  const outboxDepth = new Map<string, number>();
  for (const did of readIndex(await store.getDoc(OUTBOX_INDEX_DOC)).peers) {
    outboxDepth.set(did, readQueue(await store.getDoc(queueDocName(did)), did).entries.length);
  }
  return { outboxDepth, lastSync: await lastSyncs(store) };
}
