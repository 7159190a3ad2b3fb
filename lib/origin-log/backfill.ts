/**
 * Puts into this node's origin log every checkpoint it signed that the log does not hold yet
 * (docs/FEDERATION_PROTOCOL.md §Origin log): the versions stored before the log existed, or
 * signed by a process that stopped before appending. Oldest first (createdAt, namespace,
 * batch id, root), so two runs over the same store append in the same order. Each version's
 * checkpoint comes from `known` when the store's own start-up read of that file handed it over at
 * the identity the store still lists (docs/STATE.md §Start-up pass), from the file otherwise.
 */
import type { Checkpoint } from "../messages/checkpoint.js";
import type { BatchSummary, Store } from "../store/index.js";
import type { OriginLog } from "./origin-log.js";

/** Checkpoints of versions read already: null when that file holds none, undefined when unknown (read it). */
export interface KnownCheckpoints {
  checkpoint(summary: BatchSummary): Checkpoint | null | undefined;
}

/**
 * @example await backfillOriginLog(store, await service.log(), me.did) // checkpoints appended
 */
export async function backfillOriginLog(store: Store, log: OriginLog, did: string, known?: KnownCheckpoints): Promise<number> {
  const mine = store
    .namespaces()
    .flatMap((ns) => store.listBatches(ns).filter((s) => s.origin === did))
    .sort((a, b) => a.createdAt - b.createdAt || cmp(a.namespace, b.namespace) || cmp(a.batchId, b.batchId) || cmp(a.batchRoot, b.batchRoot));
  const checkpoints: Checkpoint[] = [];
  for (const s of mine) {
    const heard = known?.checkpoint(s);
    const cp = heard !== undefined ? (heard ?? undefined) : (await store.getBatch(s.namespace, s.batchId, s.batchRoot, did))?.checkpoint;
    if (cp !== undefined && cp.signer === did) checkpoints.push(cp);
  }
  return log.append(checkpoints);
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
