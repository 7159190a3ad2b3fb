/**
 * Loads receipt bodies for index keys from their batch files, through a small
 * LRU of parsed files, so reading a range parses each batch file once.
 */
import { StoreError } from "../errors.js";
import type { Receipt } from "../receipt.js";
import { readJsonFile } from "./atomic-file.js";
import { BatchCache, type CachedBatch } from "./batch-cache.js";
import type { BatchEntry } from "./namespace-state.js";
import type { IndexedReceipt } from "./receipt-index.js";
import { checkBatchFile, type BatchFile } from "./schema.js";

/**
 * A parsed batch file: from the cache unless `fresh`, else from disk (refreshing the cache; with
 * `retain` false, leaving the cache as it was).
 * @example const batch = await loadBatch(cache, path, true)
 */
export async function loadBatch(cache: BatchCache, path: string, fresh: boolean, retain = true): Promise<CachedBatch | undefined> {
  if (!retain) {
    // A read that will not come back for the file (a catch-up's range answer): served from the
    // cache when there, else parsed for this caller alone, so the cache's files stay its own.
    const hit = fresh ? undefined : cache.get(path);
    if (hit !== undefined) return hit;
    const file = await readJsonFile<BatchFile>(path, checkBatchFile);
    return file === null ? undefined : BatchCache.unkept(path, file);
  }
  // What the cache was told about the file when this read began: a write's copy set meanwhile is
  // newer than what this read parses, and stays (BatchCache.set).
  const mark = cache.mark(path);
  if (!fresh) {
    const hit = cache.get(path);
    if (hit !== undefined) return hit;
    // A want page asks for many receipts of one batch at once: they share one read of its file,
    // unless the file was written or dropped since that read began.
    const pending = reading.get(path);
    if (pending !== undefined && pending.cache === cache && pending.mark === mark) return pending.read;
  }
  const read = readJsonFile<BatchFile>(path, checkBatchFile).then((file) => (file === null ? undefined : cache.set(path, file, mark)));
  const entry = { cache, mark, read };
  reading.set(path, entry);
  try {
    return await read;
  } finally {
    if (reading.get(path) === entry) reading.delete(path);
  }
}

/** Reads in flight, by path, shared by callers that accept a cached copy of the same cache. */
const reading = new Map<string, { cache: BatchCache; mark: string; read: Promise<CachedBatch | undefined> }>();

/**
 * The receipts named by `keys`, in the same order.
 * @example await readReceipts(cache, index.keys().slice(0, 10))
 */
export async function readReceipts(cache: BatchCache, keys: readonly IndexedReceipt<BatchEntry>[]): Promise<Receipt[]> {
  const out: Receipt[] = [];
  for (const key of keys) {
    let r = (await loadBatch(cache, key.batch.path, false))?.receipts.get(key.id);
    // The cached copy may predate receipts another process added to the same batch.
    r ??= (await loadBatch(cache, key.batch.path, true))?.receipts.get(key.id);
    if (r === undefined) throw new StoreError("STATE_CORRUPT", `${key.batch.path} no longer holds receipt ${key.id}`, { path: key.batch.path });
    out.push(r);
  }
  return out;
}
