/**
 * The public API of vmsh-federation (README.md §Development): the core that scripts and other services
 * use to verify anchors, time-stamp tokens, Bitcoin proofs and receipts, sign and check
 * federation messages, and resolve anchor conflicts. A test pins this list
 * (test/api/exports.test.ts): changing it is a visible, reviewed act.
 *
 * @example
 * import { verifyAnchor, verifyInclusion, resolveAnchors } from "vmsh-federation";
 */

// Anchors (docs/ANCHORS.md)
export { verifyAnchor, type VerifyAnchorContext } from "./anchors/verify.js";
export { parseChainId, type Anchor, type ChainId, type Rail, type BtcNetwork } from "./anchors/anchor.js";
export type { Outcome, Evidence, VerificationResult } from "./anchors/result.js";
export { verifyTimestampToken, verifyTsaAnchor, type TimestampExpectation, type TimestampOptions, type TimestampVerification, type TsaAnchorContext } from "./anchors/tsa/index.js";
export { verifyTxOutProof, verifyBtcAnchor, type BtcVerifyContext } from "./anchors/btc/index.js";
export { verifyEvmAnchor, type EvmVerifyContext, BATCH_ANCHOR_ABI, BATCH_ANCHORED_TOPIC } from "./anchors/evm/index.js";

// Receipts and Merkle trees (docs/FEDERATION_SEMANTICS.md §1. Receipts, §2. Merkle rules)
export { verifyInclusion, merkleRoot, inclusionProof, receiptsForBatch, indexInBatch, type InclusionResult, type SealerBatch } from "./merkle/index.js";
export type { Receipt, InclusionProof, TreeKind } from "./receipt.js";

// Messages (docs/FEDERATION_PROTOCOL.md §Messages)
export { signMessage, authenticate, type AuthenticateContext, type AuthenticateResult, type KnownPeer, type Role } from "./messages/authenticate.js";
export { verifyMessage, type VerifyMessageContext } from "./messages/verify-message.js";
export { parseAnnounce, parseRequest, parseBundle, parseMessage, type Announce, type Request, type Bundle, type Message } from "./messages/schema.js";
export { canonicalJson, messageDigest } from "./messages/canonical.js";
export { ReplayCache } from "./messages/replay.js";

// Conflict resolution (docs/FEDERATION_SEMANTICS.md §3. Conflicts)
export { resolveAnchors, mergeAnchors, compareAnchors, anchorKey, type AnchorRecord, type Resolution, type BatchResolution, type RootResolution } from "./conflict/index.js";

// Proof files downloaded from the explorer (docs/EXPLORER.md §Proof files)
export { parseProofFile, proofFile, type ProofFile } from "./proof/file.js";
export { trustPolicy, trustFile, type TrustPolicy, type TrustFile } from "./proof/trust.js";
export { verifyProof, type ProofVerdict, type AnchorCheck } from "./proof/verify.js";

// Identity
export { generateNodeKey, publicKeyFromRaw, type NodeKey } from "./identity/keys.js";
export { formatKeyLine, parseKeyLine, isDid } from "./identity/did.js";

// Errors
export { VmshError, ConfigError, ProtocolError, StoreError, UsageError, ArgumentError } from "./errors.js";
export type { ErrorCode, WireErrorCode, PeerErrorCode, StoreErrorCode, LocalErrorCode } from "./errors.js";

// Running a node without the command line (docs/ARCHITECTURE.md)
export { openRuntime, NodeRuntime, type RuntimeOptions } from "./federation/runtime.js";
export { startDaemon, type DaemonOptions, type RunningDaemon } from "./federation/daemon.js";
export { loadConfig } from "./config/load.js";
