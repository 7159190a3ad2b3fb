/**
 * A batch version kept as its leaves (docs/STATE.md §Leaves form): the version's event hashes in
 * leaf order, 32 raw bytes each, base64 in one string, beside the origin's checkpoint. The
 * receipts it stands for (namespace, batch id, root, `ts`, tree, size and index are the
 * checkpoint's) and their inclusion paths are derived when something reads them; every
 * derivation rebuilds the tree and checks it gives the checkpoint's root first, so a path is
 * never served from leaves that do not make the signed root.
 */
import { formatDigest } from "../digest.js";
import { rfc9162LeafHash, rfc9162NodeHash, rfc9162TreeHead } from "../merkle/rfc9162.js";
import { vmshDupLevels, vmshDupPath } from "../merkle/vmsh-dup.js";
import type { Checkpoint } from "../messages/checkpoint.js";
import type { Receipt, TreeKind } from "../receipt.js";

/** Bytes of one leaf: a SHA-256 event hash. */
const LEAF_BYTES = 32;

/**
 * Base64 characters of `n` leaves.
 * @example leavesChars(1) // 44
 */
export function leavesChars(n: number): number {
  return Math.ceil((n * LEAF_BYTES) / 3) * 4;
}

/**
 * What is wrong with `text` as the leaves of a version of `size` leaves, or undefined: it must be
 * the canonical standard base64 (RFC 4648 §4, padded) of exactly `size` 32-byte hashes.
 * @example leavesProblem("", 1) // "holds 0 base64 characters; 1 leaves are 44"
 */
export function leavesProblem(text: unknown, size: number): string | undefined {
  if (typeof text !== "string") return "must be a base64 string";
  if (!Number.isSafeInteger(size) || size < 1) return `needs a checkpoint of at least one leaf (size ${size})`;
  if (text.length !== leavesChars(size)) return `holds ${text.length} base64 characters; ${size} leaves are ${leavesChars(size)}`;
  // Decoding skips what is not base64 and encoding gives the canonical form: equal text is both.
  if (Buffer.from(text, "base64").toString("base64") !== text) return "is not canonical base64";
  return undefined;
}

/**
 * The event hashes (`sha256:<hex>`, each a receipt's id) of checked leaves, in leaf order.
 * @example leafIds(text)[0] // "sha256:…"
 */
export function leafIds(text: string): string[] {
  const hex = Buffer.from(text, "base64").toString("hex");
  const out = new Array<string>(hex.length / 64);
  for (let i = 0; i < out.length; i++) out[i] = `sha256:${hex.slice(i * 64, i * 64 + 64)}`;
  return out;
}

/** The leaves as 32-byte views, in order. */
function leafBytes(text: string): Uint8Array[] {
  const bytes = Buffer.from(text, "base64");
  const out: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += LEAF_BYTES) out.push(bytes.subarray(i, i + LEAF_BYTES));
  return out;
}

/**
 * The Merkle tree of one version's leaves under its tree rule, built once: its root, and the
 * inclusion path of any leaf read from it without building it again.
 */
export class LeafTree {
  readonly tree: TreeKind;
  readonly size: number;
  /** The root the leaves rebuild to, `sha256:<hex>`. */
  readonly root: string;
  readonly #leaves: Uint8Array[];
  #levels: Uint8Array[][] | undefined;
  /** rfc9162: the hash of every subtree [lo, hi) met while hashing the root, by `lo:hi`. */
  #subtrees: Map<string, Uint8Array> | undefined;

  /**
   * Builds the tree of checked leaves (see `leavesProblem`).
   * @example new LeafTree("rfc9162-sha256", text).root
   */
  constructor(tree: TreeKind, text: string) {
    this.tree = tree;
    this.#leaves = leafBytes(text);
    this.size = this.#leaves.length;
    if (tree === "rfc9162-sha256") {
      this.#subtrees = new Map();
      this.root = formatDigest(this.size === 0 ? rfc9162TreeHead([]) : this.#subtree(this.#leaves.map(rfc9162LeafHash), 0, this.size));
    } else {
      this.#levels = vmshDupLevels(this.#leaves);
      this.root = formatDigest(this.#levels[this.#levels.length - 1]![0]!);
    }
  }

  #subtree(hashes: readonly Uint8Array[], lo: number, hi: number): Uint8Array {
    let h: Uint8Array;
    if (hi - lo === 1) h = hashes[lo]!;
    else {
      const mid = lo + split(hi - lo);
      h = rfc9162NodeHash(this.#subtree(hashes, lo, mid), this.#subtree(hashes, mid, hi));
    }
    this.#subtrees!.set(`${lo}:${hi}`, h);
    return h;
  }

  /**
   * The inclusion path of leaf `index`, bottom-up, as `sha256:<hex>` (the shape a receipt carries,
   * docs/FEDERATION_PROTOCOL.md §Receipt).
   * @example tree.path(0)
   */
  path(index: number): string[] {
    return this.#pathNodes(index).map(formatDigest);
  }

  /**
   * Whether `path` is exactly the inclusion path of leaf `index` (0 ≤ index < size), element for
   * element as `sha256:<hex>` text. Each node's text is made once per tree, as one flat string: an
   * import compares every node with the path of each receipt below it.
   * @example tree.samePath(3, receipt.proof.path) // true for the receipt the tree derives
   */
  samePath(index: number, path: readonly unknown[]): boolean {
    if (this.#levels !== undefined) return this.#sameDupPath(index, path);
    const nodes = this.#pathNodes(index);
    if (path.length !== nodes.length) return false;
    this.#texts ??= new Map();
    for (let i = 0; i < nodes.length; i++) {
      let text = this.#texts.get(nodes[i]!);
      if (text === undefined) this.#texts.set(nodes[i]!, (text = formatDigest(nodes[i]!)));
      if (path[i] !== text) return false;
    }
    return true;
  }

  #texts: Map<Uint8Array, string> | undefined;

  /**
   * `samePath` under vmsh-dup: the sibling at each level as `vmshDupPath` picks it (the last node
   * of an odd level is its own sibling), its text kept by level and position.
   */
  #sameDupPath(index: number, path: readonly unknown[]): boolean {
    const levels = this.#levels!;
    if (path.length !== levels.length - 1) return false;
    const texts = (this.#levelTexts ??= levels.map((level) => new Array<string | undefined>(level.length)));
    let i = index;
    for (let l = 0; l < levels.length - 1; l++) {
      const level = levels[l]!;
      const j = i % 2 === 1 ? i - 1 : i + 1 < level.length ? i + 1 : i;
      let text = texts[l]![j];
      if (text === undefined) {
        text = formatDigest(level[j]!);
        texts[l]![j] = text;
      }
      if (path[l] !== text) return false;
      i = Math.floor(i / 2);
    }
    return true;
  }

  #levelTexts: Array<Array<string | undefined>> | undefined;

  /** The sibling nodes of leaf `index`, bottom-up. */
  #pathNodes(index: number): Uint8Array[] {
    if (this.#levels !== undefined) return vmshDupPath(this.#levels, index);
    // RFC 9162 §2.1.3.1 PATH(m, D[lo:hi]): the sibling subtree at every split on the way down, listed bottom-up.
    const down: Uint8Array[] = [];
    let lo = 0;
    let hi = this.size;
    while (hi - lo > 1) {
      const mid = lo + split(hi - lo);
      if (index < mid) {
        down.push(this.#subtrees!.get(`${mid}:${hi}`)!);
        hi = mid;
      } else {
        down.push(this.#subtrees!.get(`${lo}:${mid}`)!);
        lo = mid;
      }
    }
    return down.reverse();
  }
}

/** Largest power of two strictly below n (n ≥ 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/**
 * The receipt of leaf `index` of a version held as leaves, its path read from `tree` (built from
 * the same leaves and checked against the checkpoint's root by the caller).
 * @example leafReceipt(checkpoint, tree, ids[3], 3)
 */
export function leafReceipt(checkpoint: Checkpoint, tree: LeafTree, id: string, index: number): Receipt {
  return { id, namespace: checkpoint.namespace, batchId: checkpoint.batchId, batchRoot: checkpoint.batchRoot, eventHash: id, ts: checkpoint.createdAt, proof: { tree: checkpoint.tree, index, size: checkpoint.size, path: tree.path(index) } };
}

/**
 * What is wrong with `leaves` as the whole of the version `checkpoint` signs, or undefined: the
 * text must be well formed (`leavesProblem`) and rebuild under the checkpoint's tree rule to its
 * root. The message names the count and both roots.
 * @example leavesRootProblem(text, checkpoint) // undefined when the leaves make the signed root
 */
export function leavesRootProblem(leaves: unknown, checkpoint: Checkpoint): string | undefined {
  const problem = leavesProblem(leaves, checkpoint.size);
  if (problem !== undefined) return problem;
  // The same leaves checked a moment ago (a Bundle's, when it was authenticated) are not hashed again.
  if (rebuilt.get(leaves as string) === `${checkpoint.tree} ${checkpoint.batchRoot}`) return undefined;
  const tree = rebuildChecked(leaves as string, checkpoint);
  return typeof tree === "string" ? tree : undefined;
}

/**
 * The tree of `leaves` when they are the whole of the version `checkpoint` signs (as
 * `leavesRootProblem` checks: well formed, rebuilding under its tree rule to its root), else what
 * is wrong with them. The rebuild is remembered as `leavesRootProblem`'s is, so storing the same
 * leaves right after does not hash them again (an import of receipts with paths, lib/pipeline).
 * @example const tree = checkedLeafTree(text, checkpoint); if (typeof tree !== "string") tree.samePath(0, path)
 */
export function checkedLeafTree(leaves: unknown, checkpoint: Checkpoint): LeafTree | string {
  const problem = leavesProblem(leaves, checkpoint.size);
  return problem ?? rebuildChecked(leaves as string, checkpoint);
}

/** The tree of well-formed leaves (`leavesProblem` passed) if it gives the checkpoint's root, remembered; else why not. */
function rebuildChecked(text: string, checkpoint: Checkpoint): LeafTree | string {
  const tree = new LeafTree(checkpoint.tree, text);
  if (tree.root !== checkpoint.batchRoot) return `${checkpoint.size} leaves rebuild to the ${checkpoint.tree} root ${tree.root}, but the checkpoint of batch ${checkpoint.batchId} signs ${checkpoint.batchRoot}`;
  if (rebuilt.size >= REBUILT_KEPT) rebuilt.delete(rebuilt.keys().next().value!);
  rebuilt.set(text, `${checkpoint.tree} ${checkpoint.batchRoot}`);
  return tree;
}

/**
 * Leaves this process rebuilt lately and the tree rule and root they gave, so one page's leaves are
 * hashed once between the Bundle check and the store's (a page holds at most 32,768 leaves, in at
 * most this many versions). Only a rebuild here adds to it.
 */
const rebuilt = new Map<string, string>();
const REBUILT_KEPT = 256;
