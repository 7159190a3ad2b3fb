/**
 * Merkle inclusion for receipts: both tree kinds of docs/FEDERATION_SEMANTICS.md §2. Merkle rules, proof building and
 * verification, and the bridge from sealer batch files to wire receipts.
 * Rules and their weaknesses: docs/FEDERATION_SEMANTICS.md.
 */
export { merkleRoot, inclusionProof, inclusionProofs, MAX_TREE_SIZE, EMPTY_RFC9162_ROOT } from "./tree.js";
export { verifyInclusion, type InclusionResult } from "./verify.js";
export { verifyBatchInclusion, type BatchShape, type BatchInclusion } from "./batch-verify.js";
export { indexInBatch, receiptsForBatch, type SealerBatch, type ReceiptsForBatchOptions } from "./batch.js";
export {
  rfc9162LeafHash,
  rfc9162NodeHash,
  rfc9162TreeHead,
  rfc9162InclusionPaths,
  rfc9162PathLength,
  rfc9162RootFromPath,
} from "./rfc9162.js";
export { vmshDupLevels, vmshDupRoot, vmshDupPath, vmshDupPathLength, vmshDupRootFromPath, type RootFromPath } from "./vmsh-dup.js";
