/**
 * A small least-recently-used cache of parsed batch files, so that reading many
 * receipts of one batch parses its file once while memory stays bounded by the
 * cache size, not by the store size.
 */
import type { Receipt } from "../receipt.js";
import type { BatchFile } from "./schema.js";

/** A parsed batch file with its receipts by id. */
export interface CachedBatch {
  file: BatchFile;
  byId: Map<string, Receipt>;
}

/** LRU of parsed batch files keyed by path. */
export class BatchCache {
  readonly #max: number;
  readonly #items = new Map<string, CachedBatch>();

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

  set(path: string, file: BatchFile): CachedBatch {
    const entry = { file, byId: new Map(file.receipts.map((r) => [r.id, r] as const)) };
    this.#items.delete(path);
    if (this.#max === 0) return entry;
    this.#items.set(path, entry);
    while (this.#items.size > this.#max) this.#items.delete(this.#items.keys().next().value!);
    return entry;
  }

  delete(path: string): void {
    this.#items.delete(path);
  }

  clear(): void {
    this.#items.clear();
  }
}
