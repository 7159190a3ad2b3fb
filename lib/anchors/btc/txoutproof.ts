/**
 * `verifyTxOutProof` (docs/ANCHORS.md §`verifyTxOutProof(proof, txid)`): checks the CMerkleBlock that Bitcoin Core's
 * `gettxoutproof` returns — an 80-byte header followed by a CPartialMerkleTree —
 * the way Core's `verifytxoutproof` does, plus the header's proof of work
 * against its own bits. Proof bytes are peer/endpoint data: nothing here throws
 * for them; a malformed `txid` argument is the caller's mistake and does.
 */
import { ArgumentError } from "../../errors.js";
import { ByteReader } from "./byte-reader.js";
import { fromDisplayHex, isHashHex, toDisplayHex } from "./hash-order.js";
import { HEADER_LENGTH, blockHashHex, parseBlockHeader } from "./header.js";
import { encodePartialMerkleTree, extractMatches, readPartialMerkleTree, type PartialMerkleTree } from "./partial-merkle-tree.js";
import { proofOfWorkProblem } from "./target.js";

export interface TxOutProofResult {
  outcome: "verified" | "rejected";
  reason?: string;
  /** Display hex of the header's hash (present once the header parsed). */
  blockHash?: string;
  /** Display hex of the header's merkle root (present once the header parsed). */
  merkleRoot?: string;
}

function proofBytes(proof: Uint8Array | string): Uint8Array | undefined {
  if (proof instanceof Uint8Array) return proof;
  const hex = proof.trim();
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  return Uint8Array.from(Buffer.from(hex, "hex"));
}

/**
 * Verifies that `txid` (display hex) is a matched leaf of the proof's partial merkle
 * tree, that the tree recomputes the header's merkle root, and that the header meets
 * the target of its own bits.
 * @example
 * const r = verifyTxOutProof(hexFromGettxoutproof, "220ebc64…d87a");
 * if (r.outcome === "verified") console.log(r.blockHash);
 */
export function verifyTxOutProof(proof: Uint8Array | string, txid: string): TxOutProofResult {
  if (!(proof instanceof Uint8Array) && typeof proof !== "string") throw new ArgumentError("proof", "expected bytes or a hex string");
  if (!isHashHex(txid)) throw new ArgumentError("txid", `expected 64 hex digits, got ${JSON.stringify(String(txid).slice(0, 80))}`);
  const bytes = proofBytes(proof);
  if (bytes === undefined) return { outcome: "rejected", reason: "proof is not a hex string" };

  const reader = new ByteReader(bytes);
  const header = parseBlockHeader(reader.take(HEADER_LENGTH) ?? new Uint8Array(0));
  if (header === undefined) return { outcome: "rejected", reason: `proof is shorter than an ${HEADER_LENGTH}-byte block header` };
  const located = { blockHash: blockHashHex(header), merkleRoot: toDisplayHex(header.merkleRoot) };
  const reject = (reason: string): TxOutProofResult => ({ outcome: "rejected", reason, ...located });

  const powProblem = proofOfWorkProblem(header);
  if (powProblem !== undefined) return reject(powProblem);

  const tree = readPartialMerkleTree(reader);
  if (tree === undefined) return reject("proof's partial merkle tree is truncated or has a non-canonical length");
  if (reader.remaining !== 0) return reject(`proof has ${reader.remaining} trailing bytes after the partial merkle tree`);

  const extracted = extractMatches(tree);
  if (!extracted.ok) return reject(extracted.reason);
  if (!Buffer.from(extracted.merkleRoot).equals(header.merkleRoot)) {
    return reject(`partial merkle tree recomputes root ${toDisplayHex(extracted.merkleRoot)}, header has ${located.merkleRoot}`);
  }
  const wanted = fromDisplayHex(txid, "txid");
  if (!extracted.matches.some((m) => Buffer.from(m).equals(wanted))) {
    return reject(`transaction ${txid.toLowerCase()} is not among the proof's matched transactions`);
  }
  return { outcome: "verified", ...located };
}

/**
 * The CMerkleBlock bytes for an 80-byte header and a partial merkle tree, as `gettxoutproof` returns them.
 * @example encodeTxOutProof(headerBytes, buildPartialMerkleTree(txids, flags))
 */
export function encodeTxOutProof(header: Uint8Array, tree: PartialMerkleTree): Uint8Array {
  if (header.length !== HEADER_LENGTH) throw new ArgumentError("header", `expected ${HEADER_LENGTH} bytes, got ${header.length}`);
  return Uint8Array.from(Buffer.concat([header, encodePartialMerkleTree(tree)]));
}
