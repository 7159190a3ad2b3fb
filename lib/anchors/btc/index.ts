/**
 * The Bitcoin anchor verifier: `verifyBtcAnchor` for the checks of docs/ANCHORS.md §Bitcoin anchors against
 * Bitcoin Core or Esplora, `verifyTxOutProof` for the library API (README.md §Development), and the pieces they
 * are built from for scripts that need one check alone.
 */
export { verifyBtcAnchor, type BtcVerifyContext } from "./verify-anchor.js";
export { verifyTxOutProof, encodeTxOutProof, type TxOutProofResult } from "./txoutproof.js";
export {
  buildPartialMerkleTree,
  encodePartialMerkleTree,
  extractMatches,
  readPartialMerkleTree,
  MAX_BLOCK_TRANSACTIONS,
  type ExtractedMatches,
  type PartialMerkleTree,
} from "./partial-merkle-tree.js";
export { parseBlockHeader, blockHashHex, HEADER_LENGTH, type BlockHeader } from "./header.js";
export { decodeCompactTarget, proofOfWorkProblem, powLimitProblem, POW_LIMITS, type CompactTarget } from "./target.js";
export { foldMerkleBranch } from "./merkle-branch.js";
export { parseTransaction, opReturnData, findRootCommitment, RV_TAG, type ParsedTransaction, type RootCommitment } from "./anchor-output.js";
export { GENESIS_HASHES, CORE_CHAIN_NAMES, networkOfGenesis, networkOfCoreChain } from "./networks.js";
export { sha256d, toDisplayHex, fromDisplayHex, isHashHex } from "./hash-order.js";
export { ByteReader, encodeCompactSize } from "./byte-reader.js";
export { DIFFICULTY_CHECKPOINTS, FLOOR_MARGIN, difficultyFloor, difficultyFloorProblem, type DifficultyCheckpoint } from "./difficulty-floor.js";
