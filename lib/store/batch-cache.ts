/**
 * A small least-recently-used cache of parsed batch files, so that reading many
 * receipts of one batch parses its file once while memory stays bounded by the
 * cache size, not by the store size.
 */
import { FileReceipts } from "./file-receipts.js";
import type { BatchFile } from "./schema.js";

/** A parsed batch file with its receipts by id (derived from its leaves when it holds them, docs/STATE.md §Leaves form). */
export interface CachedBatch {
  file: BatchFile;
  receipts: FileReceipts;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === "object" && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * LRU of parsed batch files keyed by path. Cached files are deep-frozen: callers get them
 * without a copy, and a caller mutating a receipt gets a TypeError instead of changing what
 * later readers see.
 */
export class BatchCache {
  readonly #max: number;
  readonly #items = new Map<string, CachedBatch>();
  /**
   * How often each path's entry was set by a write or dropped, and how often the whole cache was
   * cleared: a read that began before either must not put its older copy back. (A write's copy
   * was set while a slow read of the same file was still parsing; that read, finishing later, put
   * the file back as it was before the write, and answers served it so.)
   */
  readonly #changes = new Map<string, number>();
  #clears = 0;

  constructor(max: number) {
    this.#max = Math.max(0, max);
  }

  get(path: string): CachedBatch | undefined {
    const hit = this.#items.get(path);
    if (hit !== undefined) {
      this.#items.delete(path);
      this.#items.set(path, hit);
    }
    return hit;
  }

  /** Taken when a read of `path` from disk begins, and given back to `set` with what it read. */
  mark(path: string): string {
    return `${this.#clears}:${this.#changes.get(path) ?? 0}`;
  }

  /**
   * Keeps `file` for `path`. A write's copy (no `readSince`) always replaces the entry; a copy read
   * from disk since `readSince` (a `mark`) is kept only when nothing set or dropped the path since.
   */
  set(path: string, file: BatchFile, readSince?: string): CachedBatch {
    const entry = { file: deepFreeze(file), receipts: new FileReceipts(file, path, deepFreeze) };
    if (readSince !== undefined && readSince !== this.mark(path)) return entry;
    if (readSince === undefined) this.#changes.set(path, (this.#changes.get(path) ?? 0) + 1);
    this.#items.delete(path);
    if (this.#max === 0) return entry;
    this.#items.set(path, entry);
    while (this.#items.size > this.#max) this.#items.delete(this.#items.keys().next().value!);
    return entry;
  }

  /** `file` as a cache entry, neither frozen nor kept: a copy one reader parsed for itself. */
  static unkept(path: string, file: BatchFile): CachedBatch {
    return { file, receipts: new FileReceipts(file, path) };
  }

  delete(path: string): void {
    this.#changes.set(path, (this.#changes.get(path) ?? 0) + 1);
    this.#items.delete(path);
  }

  clear(): void {
    this.#clears++;
    this.#items.clear();
  }
}
