/**
 * Bitcoin Core's CPartialMerkleTree (merkleblock.h/.cpp, BIP 37): a depth-first
 * walk of the block's merkle tree with one flag bit per visited node and a hash
 * for every node not descended into. Extraction follows Core's ExtractMatches
 * check for check, so a proof Core would refuse is refused here too:
 * zero or impossible transaction counts, more hashes than transactions, running
 * out of bits or hashes, identical left/right children (CVE-2012-2459), unused
 * hashes, and unused flag bytes (Core compares used bits by whole bytes).
 */
import { ByteReader, encodeCompactSize } from "./byte-reader.js";
import { sha256d } from "./hash-order.js";

/** MAX_BLOCK_WEIGHT / MIN_TRANSACTION_WEIGHT (consensus.h): no block holds more transactions. */
export const MAX_BLOCK_TRANSACTIONS = Math.floor(4_000_000 / 240);

export interface PartialMerkleTree {
  transactions: number;
  /** Internal byte order. */
  hashes: Uint8Array[];
  /** One flag per visited node, in traversal order. */
  bits: boolean[];
}

export type ExtractedMatches =
  | { ok: true; merkleRoot: Uint8Array; matches: Uint8Array[]; indexes: number[] }
  | { ok: false; reason: string };

function treeWidth(transactions: number, height: number): number {
  return Math.floor((transactions + 2 ** height - 1) / 2 ** height);
}

function treeHeight(transactions: number): number {
  let height = 0;
  while (treeWidth(transactions, height) > 1) height++;
  return height;
}

/**
 * Reads the CPartialMerkleTree serialization (nTransactions, vHash, flag bytes) from `reader`.
 * @example readPartialMerkleTree(new ByteReader(bytes))?.transactions
 */
export function readPartialMerkleTree(reader: ByteReader): PartialMerkleTree | undefined {
  const transactions = reader.u32();
  const hashCount = reader.compactSize();
  if (transactions === undefined || hashCount === undefined || hashCount * 32 > reader.remaining) return undefined;
  const hashes: Uint8Array[] = [];
  for (let i = 0; i < hashCount; i++) hashes.push(reader.take(32)!);
  const byteCount = reader.compactSize();
  if (byteCount === undefined) return undefined;
  const flagBytes = reader.take(byteCount);
  if (flagBytes === undefined) return undefined;
  const bits: boolean[] = [];
  for (let p = 0; p < flagBytes.length * 8; p++) bits.push((flagBytes[p >> 3]! & (1 << (p & 7))) !== 0);
  return { transactions, hashes, bits };
}

/**
 * Recomputes the merkle root and lists the matched txids (internal order) with their
 * positions, or says which of Core's checks failed.
 * @example extractMatches(tree) // { ok: true, merkleRoot, matches: [txid], indexes: [3] }
 */
export function extractMatches(tree: PartialMerkleTree): ExtractedMatches {
  const { transactions, hashes, bits } = tree;
  if (transactions === 0) return { ok: false, reason: "partial merkle tree claims zero transactions" };
  if (transactions > MAX_BLOCK_TRANSACTIONS) return { ok: false, reason: `partial merkle tree claims ${transactions} transactions, more than a block can hold` };
  if (hashes.length > transactions) return { ok: false, reason: `partial merkle tree has ${hashes.length} hashes for ${transactions} transactions` };
  if (bits.length < hashes.length) return { ok: false, reason: "partial merkle tree has fewer flag bits than hashes" };

  let bitsUsed = 0;
  let hashesUsed = 0;
  let bad: string | undefined;
  const matches: Uint8Array[] = [];
  const indexes: number[] = [];

  const walk = (height: number, pos: number): Uint8Array => {
    if (bitsUsed >= bits.length) {
      bad ??= "partial merkle tree ran out of flag bits";
      return new Uint8Array(32);
    }
    const parentOfMatch = bits[bitsUsed++]!;
    if (height === 0 || !parentOfMatch) {
      if (hashesUsed >= hashes.length) {
        bad ??= "partial merkle tree ran out of hashes";
        return new Uint8Array(32);
      }
      const hash = hashes[hashesUsed++]!;
      if (height === 0 && parentOfMatch) {
        matches.push(hash);
        indexes.push(pos);
      }
      return hash;
    }
    const left = walk(height - 1, pos * 2);
    let right = left;
    if (pos * 2 + 1 < treeWidth(transactions, height - 1)) {
      right = walk(height - 1, pos * 2 + 1);
      // CVE-2012-2459: a duplicated subtree would let a tree with extra leaves share the root.
      if (Buffer.from(left).equals(right)) bad ??= "partial merkle tree has identical left and right children (CVE-2012-2459)";
    }
    return sha256d(left, right);
  };

  const merkleRoot = walk(treeHeight(transactions), 0);
  if (bad !== undefined) return { ok: false, reason: bad };
  if (Math.ceil(bitsUsed / 8) !== Math.ceil(bits.length / 8)) return { ok: false, reason: "partial merkle tree has unused flag bytes" };
  if (hashesUsed !== hashes.length) return { ok: false, reason: `partial merkle tree has ${hashes.length - hashesUsed} unused hashes` };
  return { ok: true, merkleRoot, matches, indexes };
}

/**
 * Builds the tree for a block's txids (internal order) and a match flag per tx,
 * as Core's CPartialMerkleTree constructor does.
 * @example buildPartialMerkleTree(txids, txids.map((_, i) => i === 3))
 */
export function buildPartialMerkleTree(txids: readonly Uint8Array[], matched: readonly boolean[]): PartialMerkleTree {
  const transactions = txids.length;
  const hashes: Uint8Array[] = [];
  const bits: boolean[] = [];
  const height = treeHeight(transactions);

  const hashAt = (h: number, pos: number): Uint8Array => {
    if (h === 0) return txids[pos]!;
    const left = hashAt(h - 1, pos * 2);
    const right = pos * 2 + 1 < treeWidth(transactions, h - 1) ? hashAt(h - 1, pos * 2 + 1) : left;
    return sha256d(left, right);
  };

  const build = (h: number, pos: number): void => {
    let parentOfMatch = false;
    for (let p = pos * 2 ** h; p < (pos + 1) * 2 ** h && p < transactions; p++) parentOfMatch ||= matched[p] === true;
    bits.push(parentOfMatch);
    if (h === 0 || !parentOfMatch) {
      hashes.push(hashAt(h, pos));
      return;
    }
    build(h - 1, pos * 2);
    if (pos * 2 + 1 < treeWidth(transactions, h - 1)) build(h - 1, pos * 2 + 1);
  };

  if (transactions > 0) build(height, 0);
  return { transactions, hashes, bits };
}

/**
 * The CPartialMerkleTree serialization of `tree`.
 * @example encodePartialMerkleTree(buildPartialMerkleTree(txids, flags))
 */
export function encodePartialMerkleTree(tree: PartialMerkleTree): Uint8Array {
  const count = Buffer.alloc(4);
  count.writeUInt32LE(tree.transactions >>> 0, 0);
  const flagBytes = new Uint8Array(Math.ceil(tree.bits.length / 8));
  tree.bits.forEach((bit, p) => {
    if (bit) flagBytes[p >> 3]! |= 1 << (p & 7);
  });
  return Uint8Array.from(
    Buffer.concat([count, encodeCompactSize(tree.hashes.length), ...tree.hashes, encodeCompactSize(flagBytes.length), flagBytes]),
  );
}
