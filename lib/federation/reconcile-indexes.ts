/**
 * One reconciliation index per namespace (SPEC §6), built from the store's `(ts, id)` keys
 * on first use and kept current through the store's receipts-added notifications, so a
 * fingerprint never rescans the set.
 */
import { ReconcileIndex } from "../reconcile/reconcile-index.js";
import type { Store } from "../store/index.js";

export class ReconcileIndexes {
  readonly #store: Store;
  readonly #indexes = new Map<string, ReconcileIndex>();
  readonly #unsubscribe: () => void;

  constructor(store: Store) {
    this.#store = store;
    this.#unsubscribe = store.onReceiptsAdded((namespace, keys) => {
      // Namespaces not built yet are built from the store when first asked for.
      this.#indexes.get(namespace)?.insert(keys);
    });
  }

  /**
   * The index of `namespace` (empty if nothing is stored).
   * @example indexes.get("dao:vaultmesh").size
   */
  get(namespace: string): ReconcileIndex {
    let index = this.#indexes.get(namespace);
    if (index === undefined) {
      index = ReconcileIndex.fromSorted(this.#store.receiptKeys(namespace));
      this.#indexes.set(namespace, index);
    }
    return index;
  }

  close(): void {
    this.#unsubscribe();
  }
}
