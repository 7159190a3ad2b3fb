/**
 * The receipts of one batch file, whichever form it holds them in (docs/STATE.md §Leaves form):
 * `receipts` with their paths, or `leaves` beside the checkpoint, the receipts and paths derived
 * here. Every reader of a batch file's receipts goes through these, so both forms read alike.
 */
import { StoreError } from "../errors.js";
import type { Receipt } from "../receipt.js";
import { LeafTree, leafIds, leafReceipt } from "./leaves.js";
import type { BatchFile } from "./schema.js";

type Held = Pick<BatchFile, "receipts" | "leaves" | "checkpoint" | "batchRoot">;

/**
 * The receipts leaves stand for, by id with their leaf index: one per distinct event hash, at its
 * first leaf, as a file of receipts keeps one receipt per id (lib/store/merge.ts).
 */
function leafIndexes(leaves: string): Map<string, number> {
  const out = new Map<string, number>();
  leafIds(leaves).forEach((id, i) => out.has(id) || out.set(id, i));
  return out;
}

/**
 * The distinct ids of each leaves text met lately, so merging, counting and indexing one file
 * decode it once: a write of a Bundle's versions reads each version's ids three times, one version
 * after another, so the cache holds up to a page's worth of leaves (docs/FEDERATION_PROTOCOL.md
 * §Leaves: 32,768), not a fixed few texts.
 */
const recent = new Map<string, Map<string, number>>();
const RECENT_IDS = 32_768;
let recentIds = 0;

function remember(leaves: string, indexes: Map<string, number>): void {
  const old = recent.get(leaves);
  if (old !== undefined) {
    recent.delete(leaves);
    recentIds -= old.size;
  }
  while (recent.size > 0 && recentIds + indexes.size > RECENT_IDS) {
    const [text, gone] = recent.entries().next().value!;
    recent.delete(text);
    recentIds -= gone.size;
  }
  recent.set(leaves, indexes);
  recentIds += indexes.size;
}

/**
 * Each distinct id of checked leaves (`leavesProblem` passed) with its leaf index, the first leaf
 * holding it, in leaf order. The map is shared: read it, never change it.
 * @example leafIndexesOf(file.leaves).get(receipt.id) // its leaf index
 */
export function leafIndexesOf(leaves: string): Map<string, number> {
  let hit = recent.get(leaves);
  if (hit === undefined) {
    hit = leafIndexes(leaves);
    remember(leaves, hit);
  }
  return hit;
}
const indexesOf = leafIndexesOf;

/**
 * Hands the ids of `leaves` to the cache when the caller built them already: `indexes` must be what
 * `leafIndexesOf` would derive, every leaf's `sha256:<lower-case hex>` with its index in leaf order,
 * no id twice (an import that wrote these leaves from receipts it checked, lib/pipeline/receipts-as-leaves.ts).
 * @example rememberLeafIndexes(text, new Map(ids.map((id, i) => [id, i])))
 */
export function rememberLeafIndexes(leaves: string, indexes: Map<string, number>): void {
  remember(leaves, indexes);
}

/**
 * How many receipts a batch file holds.
 * @example receiptCountOf(file) // 1000
 */
export function receiptCountOf(file: Held): number {
  return file.leaves !== undefined ? indexesOf(file.leaves).size : file.receipts.length;
}

/**
 * The receipt ids of a batch file in its order (leaf order for leaves), without deriving any path.
 * @example new Set(receiptIdsOf(file)).has(id)
 */
export function receiptIdsOf(file: Held): string[] {
  return file.leaves !== undefined ? [...indexesOf(file.leaves).keys()] : file.receipts.map((r) => r.id);
}

/**
 * The tree of a leaves-form file, checked against the file's root: leaves that do not make it are
 * STATE_CORRUPT naming `path` (docs/STATE.md §Reads: never repaired), never a wrong path served.
 */
function checkedTree(file: Held, path: string): LeafTree {
  const cp = file.checkpoint!;
  const tree = new LeafTree(cp.tree, file.leaves!);
  if (tree.root !== file.batchRoot) {
    throw new StoreError("STATE_CORRUPT", `${path}: its ${cp.size} leaves rebuild to the ${cp.tree} root ${tree.root}, not the batch's ${file.batchRoot}`, { path });
  }
  return tree;
}

/**
 * Every receipt of a batch file with its path; for leaves, derived from the tree built once.
 * @example receiptsOf(file, path).length === receiptCountOf(file)
 */
export function receiptsOf(file: Held, path: string): Receipt[] {
  if (file.leaves === undefined) return file.receipts;
  const tree = checkedTree(file, path);
  return [...indexesOf(file.leaves)].map(([id, i]) => leafReceipt(file.checkpoint!, tree, id, i));
}

/**
 * Receipts of one batch file by id, read one at a time: for leaves, the tree is built at the first
 * read and each receipt's path derived when it is asked for.
 */
export class FileReceipts {
  readonly #file: Held;
  readonly #path: string;
  readonly #freeze: <T>(x: T) => T;
  #byId: Map<string, Receipt | number> | undefined;
  #tree: LeafTree | undefined;
  #all: Receipt[] | undefined;

  /** `freeze` is applied to every receipt handed out (the cache hands out shared objects). */
  constructor(file: Held, path: string, freeze: <T>(x: T) => T = (x) => x) {
    this.#file = file;
    this.#path = path;
    this.#freeze = freeze;
    if (file.leaves === undefined) this.#all = file.receipts;
  }

  /**
   * The receipt `id`, or undefined when the file does not hold it.
   * @example view.get("sha256:…")?.proof.path
   */
  get(id: string): Receipt | undefined {
    if (this.#byId === undefined) {
      this.#byId = new Map();
      if (this.#file.leaves === undefined) for (const r of this.#file.receipts) this.#byId.set(r.id, r);
      else this.#byId = new Map<string, Receipt | number>(indexesOf(this.#file.leaves));
    }
    const hit = this.#byId.get(id);
    if (typeof hit !== "number") return hit;
    this.#tree ??= checkedTree(this.#file, this.#path);
    const r = this.#freeze(leafReceipt(this.#file.checkpoint!, this.#tree, id, hit));
    this.#byId.set(id, r);
    return r;
  }

  /**
   * Every receipt of the file, in its order (each derived once).
   * @example view.all().length
   */
  all(): Receipt[] {
    if (this.#all === undefined) {
      this.#tree ??= checkedTree(this.#file, this.#path);
      const tree = this.#tree;
      this.#all = this.#freeze([...indexesOf(this.#file.leaves!)].map(([id, i]) => {
        const had = this.#byId?.get(id);
        return typeof had === "object" ? had : leafReceipt(this.#file.checkpoint!, tree, id, i);
      }));
    }
    return this.#all;
  }
}
