/**
 * Attachment items anti-entropy stops going round for (docs/ANTI_ENTROPY.md §Attachment items):
 * a witness cosignature whose signer this node's namespace does not list is dropped on arrival,
 * so without a memory it would be fetched again, and offered again by the peer that holds it,
 * every round, each round logged as a closed gap. Kept in the store document
 * `anti-entropy-skips/<namespace>`, so a CLI `sync` and the daemon share it:
 * - `refused`: item id → the signer this node refused; not fetched again while that signer is
 *   still not a witness here (listing it later makes the item wanted again);
 * - `offered`: peer DID → item ids this node holds and the peer lacked after they were offered
 *   once; not counted or offered to that peer again.
 */
import type { Store } from "../store/index.js";

interface SkipDoc {
  refused: Record<string, string>;
  offered: Record<string, string[]>;
}

/** At most this many ids per list: the memory stays small whatever a peer holds. */
const MAX_IDS = 4096;

const docName = (namespace: string): string => `anti-entropy-skips/${namespace}`;

function read(doc: unknown): SkipDoc {
  const o = (doc ?? {}) as Partial<SkipDoc>;
  const refused: Record<string, string> = {};
  for (const [id, signer] of Object.entries(o.refused ?? {})) if (typeof signer === "string") refused[id] = signer;
  const offered: Record<string, string[]> = {};
  for (const [peer, ids] of Object.entries(o.offered ?? {})) if (Array.isArray(ids)) offered[peer] = ids.filter((x): x is string => typeof x === "string");
  return { refused, offered };
}

/** What one namespace's rounds skip, read once per round. */
export class ItemSkips {
  private constructor(
    private readonly store: Pick<Store, "getDoc" | "updateDoc">,
    private readonly namespace: string,
    private readonly doc: SkipDoc,
  ) {}

  /**
   * Reads the namespace's memory.
   * @example const skips = await ItemSkips.load(store, "dao:vaultmesh")
   */
  static async load(store: Pick<Store, "getDoc" | "updateDoc">, namespace: string): Promise<ItemSkips> {
    return new ItemSkips(store, namespace, read(await store.getDoc(docName(namespace))));
  }

  /** True when `id` was refused here for a signer that `isWitness` still says is not one. */
  refusedStill(id: string, isWitness: (signer: string) => boolean): boolean {
    const signer = this.doc.refused[id];
    return signer !== undefined && !isWitness(signer);
  }

  /** True when `id` was offered to `peer` before and the peer still lacks it. */
  offeredTo(peer: string, id: string): boolean {
    return this.doc.offered[peer]?.includes(id) === true;
  }

  /** Records refused items (id → signer) and the items `peer` lacks now (replacing the earlier list). */
  async save(refused: ReadonlyMap<string, string>, peer: string, lacking: readonly string[]): Promise<void> {
    const before = JSON.stringify(this.doc);
    for (const [id, signer] of refused) this.doc.refused[id] = signer;
    const ids = Object.keys(this.doc.refused);
    for (const id of ids.slice(0, Math.max(0, ids.length - MAX_IDS))) delete this.doc.refused[id];
    if (lacking.length === 0) delete this.doc.offered[peer];
    else this.doc.offered[peer] = [...new Set(lacking)].sort().slice(0, MAX_IDS);
    if (JSON.stringify(this.doc) !== before) await this.store.updateDoc<SkipDoc>(docName(this.namespace), () => this.doc);
  }
}
