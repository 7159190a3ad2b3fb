/**
 * Inclusion of many receipts of one batch at once (docs/FEDERATION_SEMANTICS.md,
 * "Merkle rules"). When the receipts name every leaf of the batch, the tree is
 * rebuilt once from their event hashes (n hashes) and each receipt's path is
 * compared with the rebuilt one, instead of walking every path (n·log n hashes).
 * Anything else — a partial batch, a rebuilt root that differs, a receipt of
 * another shape, a path that differs from the rebuilt one — is checked receipt
 * by receipt with verifyInclusion, so each verdict is exactly the one
 * verifyInclusion gives, reason included. Receipts come from peers: nothing throws.
 */
import { hash } from "node:crypto";
import { formatDigest, isDigest } from "../digest.js";
import type { Receipt, TreeKind } from "../receipt.js";
import { shapeProblem, verifyInclusion, type InclusionResult } from "./verify.js";

/** The batch the receipts claim: its root, and the tree rule and size its proofs must carry. */
export interface BatchShape {
  root: string;
  /** Rule of the batch; when absent, that of the first receipt with a well-formed proof. */
  tree?: TreeKind;
  /** Leaf count of the batch; when absent, that of the first receipt with a well-formed proof. */
  size?: number;
}

/** The verdicts, and whether the tree was rebuilt and matched `root` (else every path was walked). */
export interface BatchInclusion {
  verdicts: InclusionResult[];
  rebuilt: boolean;
}

const OK: InclusionResult = Object.freeze({ ok: true }) as InclusionResult;
const scratch = Buffer.alloc(65);

/** sha256(a || b) of two 32-byte nodes, optionally after one prefix byte (RFC 9162 §2.1.1). */
function node(prefix: number | undefined, a: Uint8Array, b: Uint8Array | undefined): Buffer {
  let at = 0;
  if (prefix !== undefined) scratch[at++] = prefix;
  scratch.set(a, at);
  if (b === undefined) return hash("sha256", scratch.subarray(0, at + 32), "buffer");
  scratch.set(b, at + 32);
  return hash("sha256", scratch.subarray(0, at + 64), "buffer");
}

/** `sha256:<hex>` of a rebuilt node, flat (lib/digest.ts `formatDigest`). */
const hex = formatDigest;

/** A rebuilt tree: does `path` equal the rebuilt path of leaf `index`? */
type PathCheck = (index: number, path: readonly string[]) => boolean;

/**
 * The vmsh-dup-sha256 tree over `leaves` (docs/FEDERATION_SEMANTICS.md: the last node of
 * an odd level pairs with itself and the path carries that copy), as `sha256:<hex>` levels.
 */
function vmshDupTree(leaves: readonly Buffer[], leafHex: readonly string[]): { root: string; check: PathCheck } {
  const levels: (readonly string[])[] = [leafHex];
  let level: readonly Buffer[] = leaves;
  while (level.length > 1) {
    const next: Buffer[] = new Array(Math.ceil(level.length / 2));
    for (let i = 0; i < level.length; i += 2) next[i / 2] = node(undefined, level[i]!, level[i + 1] ?? level[i]!);
    level = next;
    levels.push(next.map(hex));
  }
  const height = levels.length - 1;
  return {
    root: levels[height]![0]!,
    check: (index, path) => {
      if (path.length !== height) return false;
      let i = index;
      for (let l = 0; l < height; l++) {
        const nodes = levels[l]!;
        if (path[l] !== (i % 2 === 1 ? nodes[i - 1] : (nodes[i + 1] ?? nodes[i]))) return false;
        i = Math.floor(i / 2);
      }
      return true;
    },
  };
}

/** The same for rfc9162-sha256 (RFC 9162 §2.1.1 and §2.1.3.1: split at the largest power of two below n). */
function rfc9162Tree(leaves: readonly Buffer[]): { root: string; check: PathCheck } {
  const paths: string[][] = leaves.map(() => []);
  const build = (lo: number, hi: number): { bytes: Buffer; text: string } => {
    if (hi - lo === 1) {
      const bytes = node(0x00, leaves[lo]!, undefined);
      return { bytes, text: hex(bytes) };
    }
    let k = 1;
    while (k * 2 < hi - lo) k *= 2;
    const left = build(lo, lo + k);
    const right = build(lo + k, hi);
    for (let i = lo; i < lo + k; i++) paths[i]!.push(right.text);
    for (let i = lo + k; i < hi; i++) paths[i]!.push(left.text);
    const bytes = node(0x01, left.bytes, right.bytes);
    return { bytes, text: hex(bytes) };
  };
  return {
    root: build(0, leaves.length).text,
    check: (index, path) => {
      const expected = paths[index]!;
      if (path.length !== expected.length) return false;
      for (let j = 0; j < path.length; j++) if (path[j] !== expected[j]) return false;
      return true;
    },
  };
}

/**
 * One verdict per receipt, in order, each what `verifyInclusion(receipt)` answers. When the
 * receipts of `batch.root` with the batch's tree and size hold every index 0..size−1 (one event
 * hash per index), the tree is rebuilt once and a receipt is accepted when its path equals the
 * rebuilt one; otherwise, and for every receipt that does not match, its own path is walked.
 * @example
 * verifyBatchInclusion(receiptsForBatch(sealed, "dao:vaultmesh"), { root: sealed.root })
 * // { verdicts: [{ ok: true }, { ok: true }, …], rebuilt: true }
 */
export function verifyBatchInclusion(receipts: readonly Receipt[], batch: BatchShape): BatchInclusion {
  const verdicts: (InclusionResult | undefined)[] = new Array(receipts.length);
  let tree = batch.tree;
  let size = batch.size;
  const candidates: number[] = [];
  for (let k = 0; k < receipts.length; k++) {
    const r = receipts[k]!;
    const problem = shapeProblem(r);
    if (problem !== undefined) {
      verdicts[k] = { ok: false, reason: problem };
      continue;
    }
    tree ??= r.proof.tree;
    size ??= r.proof.size;
    if (r.batchRoot === batch.root && r.proof.tree === tree && r.proof.size === size) candidates.push(k);
  }
  const fast = tree !== undefined && size !== undefined && isDigest(batch.root) ? rebuild(receipts, candidates, tree, size, batch.root) : undefined;
  if (fast !== undefined) {
    for (const k of candidates) {
      const r = receipts[k]!;
      if (fast(r.proof.index, r.proof.path)) verdicts[k] = OK;
    }
  }
  for (let k = 0; k < receipts.length; k++) verdicts[k] ??= verifyInclusion(receipts[k]!);
  return { verdicts: verdicts as InclusionResult[], rebuilt: fast !== undefined };
}

/**
 * The rebuilt tree's path check, when the candidates cover every leaf exactly once
 * and the rebuilt root is `root`; undefined otherwise (then every path is walked).
 */
function rebuild(receipts: readonly Receipt[], candidates: readonly number[], tree: TreeKind, size: number, root: string): PathCheck | undefined {
  if (candidates.length < size) return undefined;
  const leafHex: string[] = new Array(size);
  let filled = 0;
  for (const k of candidates) {
    const { index } = receipts[k]!.proof;
    const event = receipts[k]!.eventHash;
    const have = leafHex[index];
    if (have === undefined) {
      leafHex[index] = event;
      filled++;
    } else if (have !== event) {
      return undefined; // two event hashes claim one position: only the walked paths can tell which holds
    }
  }
  if (filled !== size) return undefined;
  const leaves = leafHex.map((h) => Buffer.from(h.slice(7), "hex"));
  const built = tree === "vmsh-dup-sha256" ? vmshDupTree(leaves, leafHex) : rfc9162Tree(leaves);
  return built.root === root ? built.check : undefined;
}
