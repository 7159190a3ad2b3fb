/**
 * A batch version's leaves on the wire (docs/FEDERATION_PROTOCOL.md §Leaves): instead of one
 * receipt with its own Merkle path per event, a Bundle of version 4 may carry a version's event
 * hashes in leaf order, 32 raw bytes each, base64 in one string, next to the origin's signed
 * checkpoint. The receiver rebuilds the tree, checks that it gives the checkpoint's root, and
 * derives every receipt and its path itself. A leaf list that does not rebuild to that root is
 * refused whole: nothing of the Bundle is taken.
 */
import { formatDigest } from "../digest.js";
import { ProtocolError } from "../errors.js";
import { rfc9162InclusionPaths, rfc9162TreeHead } from "../merkle/rfc9162.js";
import { vmshDupLevels, vmshDupPath } from "../merkle/vmsh-dup.js";
import type { Receipt } from "../receipt.js";
import type { Checkpoint } from "./checkpoint.js";
import { integer, malformed, object, string } from "./fields.js";
import { LIMITS } from "./limits.js";

/** One batch version's leaves: `checkpoint` indexes the Bundle's `checkpoints`. */
export interface LeafSet {
  checkpoint: number;
  /** base64 (RFC 4648 §4, padded) of the version's `size` event hashes, 32 bytes each, in leaf order. */
  leaves: string;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/** Base64 characters of `n` leaves. */
export function leafChars(n: number): number {
  return Math.ceil((n * 32) / 3) * 4;
}

/**
 * The wire form of a version's leaves: event hashes (`sha256:<hex>`) in leaf order.
 * @example encodeLeaves(["sha256:" + "ab".repeat(32)]).length // 44
 */
export function encodeLeaves(eventHashes: readonly string[]): string {
  const out = Buffer.allocUnsafe(eventHashes.length * 32);
  eventHashes.forEach((h, i) => out.write(h.slice(7), i * 32, 32, "hex"));
  return out.toString("base64");
}

/**
 * Validates one `leaves` entry of a Bundle against the Bundle's checkpoints: the checkpoint it
 * names exists, and the string is canonical base64 of exactly `size` hashes.
 */
export function parseLeafSet(value: unknown, path: string, checkpoints: readonly Checkpoint[]): LeafSet {
  const o = object(value, path, ["checkpoint", "leaves"]);
  const checkpoint = integer(o, "checkpoint", path, 0, Math.max(0, checkpoints.length - 1));
  if (checkpoints.length === 0) throw malformed(`${path}.checkpoint`, "the bundle has no checkpoints");
  const size = checkpoints[checkpoint]!.size;
  if (size > LIMITS.maxLeavesPerBundle) throw malformed(`${path}.checkpoint`, `names a version of ${size} leaves; at most ${LIMITS.maxLeavesPerBundle} travel as leaves`);
  const leaves = string(o, "leaves", path, leafChars(LIMITS.maxLeavesPerBundle), BASE64);
  if (leaves.length !== leafChars(size)) throw malformed(`${path}.leaves`, `holds ${leaves.length} base64 characters; ${size} leaves (the checkpoint's size) are ${leafChars(size)}`);
  return { checkpoint, leaves };
}

/** The Merkle rule's leaves and per-leaf paths as `sha256:<hex>`, and the root, for `hashes`. */
function rebuild(tree: Checkpoint["tree"], hashes: Uint8Array[]): { root: string; paths: string[][] } {
  if (tree === "rfc9162-sha256") {
    const paths = rfc9162InclusionPaths(hashes);
    return { root: formatDigest(rfc9162TreeHead(hashes)), paths: paths.map((p) => p.map(formatDigest)) };
  }
  const levels = vmshDupLevels(hashes);
  return { root: formatDigest(levels[levels.length - 1]![0]!), paths: hashes.map((_, i) => vmshDupPath(levels, i).map(formatDigest)) };
}

/**
 * The receipts a version's leaves stand for, each with the path derived here, after checking that
 * the leaves rebuild to the checkpoint's root. Throws ProtocolError PEER_LEAVES_MISMATCH (502)
 * naming the entry when they do not.
 * @example expandLeafSet(bundle.leaves[0], bundle.checkpoints, "bundle.leaves[0]")
 */
export function expandLeafSet(set: LeafSet, checkpoints: readonly Checkpoint[], path: string): Receipt[] {
  const cp = checkpoints[set.checkpoint]!;
  const bytes = Buffer.from(set.leaves, "base64");
  if (bytes.length !== cp.size * 32 || bytes.toString("base64") !== set.leaves) throw new ProtocolError("PEER_LEAVES_MISMATCH", 502, `${path}: not the canonical base64 of ${cp.size} leaves`);
  const hashes: Uint8Array[] = [];
  for (let i = 0; i < cp.size; i++) hashes.push(bytes.subarray(i * 32, i * 32 + 32));
  const { root, paths } = rebuild(cp.tree, hashes);
  if (root !== cp.batchRoot) throw new ProtocolError("PEER_LEAVES_MISMATCH", 502, `${path}: ${cp.size} leaves rebuild to the ${cp.tree} root ${root}, but the checkpoint of batch ${cp.batchId} signs ${cp.batchRoot}; the bundle is refused whole`);
  return hashes.map((h, index) => {
    const eventHash = formatDigest(h);
    return { id: eventHash, namespace: cp.namespace, batchId: cp.batchId, batchRoot: cp.batchRoot, eventHash, ts: cp.createdAt, proof: { tree: cp.tree, index, size: cp.size, path: paths[index]! } };
  });
}

/**
 * Every receipt of `sets`, all or nothing: one entry that does not rebuild refuses them all.
 * @example const receipts = expandLeaves(bundle.leaves ?? [], bundle.checkpoints)
 */
export function expandLeaves(sets: readonly LeafSet[], checkpoints: readonly Checkpoint[]): Receipt[] {
  const out: Receipt[] = [];
  sets.forEach((s, i) => {
    for (const r of expandLeafSet(s, checkpoints, `bundle.leaves[${i}]`)) out.push(r);
  });
  return out;
}
