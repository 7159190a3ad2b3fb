/**
 * Keeps one `ReconcileIndex` per namespace in step with a receipt store (docs/ANTI_ENTROPY.md §Index):
 * built on first use from the store's sorted keys, then fed by its `onReceiptsAdded`
 * events. The store can move a receipt to another ts (lib/store/receipt-index.ts serves an
 * active version's copy first, then the earliest) without announcing the removal; a size check
 * after every event catches that and rebuilds the namespace from the store's keys.
 */
import type { ReceiptKey, ReceiptsAddedListener } from "../store/types.js";
import { ReconcileIndex } from "./reconcile-index.js";

/** What this needs from `Store` (lib/store/store.ts); a Store satisfies it as is. */
export interface ReceiptKeySource {
  receiptKeys(namespace: string): readonly ReceiptKey[];
  receiptCount(namespace: string): number;
  onReceiptsAdded(listener: ReceiptsAddedListener): () => void;
}

/**
 * Lazily built, continuously updated indexes over a store.
 * @example const indexes = new NamespaceIndexes(store); respond((ns) => indexes.get(ns), parts, { random })
 */
export class NamespaceIndexes {
  readonly #source: ReceiptKeySource;
  readonly #indexes = new Map<string, ReconcileIndex>();
  readonly #stop: () => void;
  #rebuilds = 0;

  constructor(source: ReceiptKeySource) {
    this.#source = source;
    this.#stop = source.onReceiptsAdded((namespace, keys) => this.#added(namespace, keys));
  }

  #added(namespace: string, keys: readonly ReceiptKey[]): void {
    const index = this.#indexes.get(namespace);
    if (index === undefined) return; // built from the store's keys when first asked for
    index.insert(keys);
    if (index.size !== this.#source.receiptCount(namespace)) this.#build(namespace);
  }

  #build(namespace: string): ReconcileIndex {
    const index = ReconcileIndex.fromSorted(this.#source.receiptKeys(namespace));
    this.#indexes.set(namespace, index);
    this.#rebuilds++;
    return index;
  }

  /**
   * The index of `namespace`, built from the store on first use.
   * @example indexes.get("dao:vaultmesh").size === store.receiptCount("dao:vaultmesh")
   */
  get(namespace: string): ReconcileIndex {
    return this.#indexes.get(namespace) ?? this.#build(namespace);
  }

  /** How many times an index was built from the store's keys (first use plus rebuilds). */
  get builds(): number {
    return this.#rebuilds;
  }

  /** Stops listening to the store. */
  close(): void {
    this.#stop();
    this.#indexes.clear();
  }
}
