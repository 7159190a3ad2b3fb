/**
 * One read of every batch file at start-up for everything that needs a little of each version
 * (docs/STATE.md §Start-up pass): the store's index reads every file to load the receipt keys, and
 * hands this, per version, its attachment items (the reconcile index, docs/ANTI_ENTROPY.md
 * §Attachment items) and its checkpoint (the origin-log backfill, docs/FEDERATION_PROTOCOL.md
 * §Origin log), each at the file identity it was read at. A consumer takes a version's parts only
 * while the store still lists that version at the same identity, and reads the file otherwise, so
 * what it ends with is what reading the files would give. Nothing is written: a restart reads
 * again, and a crash loses nothing.
 */
import type { Checkpoint } from "../messages/checkpoint.js";
import type { BatchFileRead, BatchSummary } from "../store/index.js";
import { versionItems, type VersionItem } from "../reconcile/version-items.js";

/** A version's key: batch id, root and origin ("" for a 0.1.0 version without a checkpoint). */
const keyOf = (v: { batchId: string; batchRoot: string; checkpoint?: Checkpoint; origin?: string }): string => `${v.batchId}\u0000${v.batchRoot}\u0000${v.origin ?? v.checkpoint?.origin ?? ""}`;

interface Heard {
  stamp: string;
  items: VersionItem[];
  checkpoint: Checkpoint | undefined;
}

/**
 * What the store's reads handed over, per namespace and version, until the consumers took it.
 * @example
 * const pass = new StartupPass();
 * const store = await openStore(dir, { onBatchFileRead: pass.hear });
 * pass.items(store.listBatches(ns)[0]!) // the version's items, or undefined: read its file
 */
export class StartupPass {
  readonly #byNamespace = new Map<string, Map<string, Heard>>();
  #released = false;
  /** How many versions the store's reads handed over (for tests and logs). */
  heard = 0;

  /** The store's `onBatchFileRead`: keeps what the consumers need of the file just read; false once released (the store stops calling). */
  readonly hear = (read: BatchFileRead): boolean => {
    if (this.#released) return false;
    let versions = this.#byNamespace.get(read.namespace);
    if (versions === undefined) this.#byNamespace.set(read.namespace, (versions = new Map()));
    // The count stands for the receipts: versionItems reads only their number.
    const items = versionItems({ ...read, receipts: { length: read.receiptCount } });
    versions.set(keyOf(read), { stamp: read.fileIdentity, items, checkpoint: read.checkpoint });
    this.heard++;
    return true;
  };

  #at(summary: BatchSummary): Heard | undefined {
    const heard = this.#byNamespace.get(summary.namespace)?.get(keyOf(summary));
    return heard !== undefined && heard.stamp === summary.fileIdentity ? heard : undefined;
  }

  /**
   * The attachment items of the version `summary` describes, as its file read at that identity
   * gives them; undefined when the store's reads did not hand that file over (read it).
   * @example pass.items(summary)?.map((i) => i.kind) // ["checkpoint", "claim", "complete"]
   */
  items(summary: BatchSummary): VersionItem[] | undefined {
    return this.#at(summary)?.items;
  }

  /**
   * The checkpoint of the version `summary` describes, read at its identity; null when that
   * file holds none; undefined when it was not handed over (read it).
   * @example pass.checkpoint(summary)?.signer
   */
  checkpoint(summary: BatchSummary): Checkpoint | null | undefined {
    const heard = this.#at(summary);
    return heard === undefined ? undefined : (heard.checkpoint ?? null);
  }

  /** Forgets everything and stops keeping: the start-up work is done, later reads go to the files. */
  release(): void {
    this.#released = true;
    this.#byNamespace.clear();
  }
}
