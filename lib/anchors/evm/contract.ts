/**
 * The sealer's EVM anchoring contract as docs/ANCHORS.md §The contract fixes it: the `BatchAnchored`
 * event, the `anchor` function, and the topic values a verifier looks for.
 * Pure: no I/O.
 */
import { keccak256, stringToBytes, type Hex } from "viem";
import { digestBytes } from "../../digest.js";
import { ArgumentError } from "../../errors.js";

/** Canonical event signature (docs/ANCHORS.md §The contract). */
export const BATCH_ANCHORED_SIGNATURE = "BatchAnchored(bytes32,bytes32,string)";

/** topic0 of every `BatchAnchored` log: keccak256 of the signature. */
export const BATCH_ANCHORED_TOPIC: Hex = keccak256(stringToBytes(BATCH_ANCHORED_SIGNATURE));

/**
 * ABI of the anchoring contract's public surface: the event, `anchor`, and the
 * optional `anchoredAt` lookup and errors of the reference implementation
 * (test/fixtures/evm/BatchAnchor.sol). Typed `as const` for viem.
 */
export const BATCH_ANCHOR_ABI = [
  {
    type: "event",
    name: "BatchAnchored",
    anonymous: false,
    inputs: [
      { name: "root", type: "bytes32", indexed: true },
      { name: "batchId", type: "bytes32", indexed: true },
      { name: "memo", type: "string", indexed: false },
    ],
  },
  {
    type: "function",
    name: "anchor",
    stateMutability: "nonpayable",
    inputs: [
      { name: "root", type: "bytes32" },
      { name: "batchId", type: "bytes32" },
      { name: "memo", type: "string" },
      { name: "persist", type: "bool" },
    ],
    outputs: [],
  },
  {
    type: "function",
    name: "anchoredAt",
    stateMutability: "view",
    inputs: [{ name: "", type: "bytes32" }],
    outputs: [{ name: "", type: "uint256" }],
  },
  { type: "error", name: "ZeroRoot", inputs: [] },
  {
    type: "error",
    name: "AlreadyAnchored",
    inputs: [
      { name: "root", type: "bytes32" },
      { name: "blockNumber", type: "uint256" },
    ],
  },
] as const;

/**
 * topic1 of a `BatchAnchored` log: the 32 raw bytes of a `sha256:<hex>` batch root.
 * @example rootTopic("sha256:" + "ab".repeat(32)) // "0xabab…ab"
 */
export function rootTopic(batchRoot: string): Hex {
  return `0x${Buffer.from(digestBytes(batchRoot, "batchRoot")).toString("hex")}`;
}

/**
 * topic2 of a `BatchAnchored` log: keccak256 of the batch id's UTF-8 bytes (docs/ANCHORS.md §The contract).
 * @example batchIdTopic("2026-11-24T19:00Z-0001") // "0x…" (32 bytes)
 */
export function batchIdTopic(batchId: string): Hex {
  if (typeof batchId !== "string" || batchId.length === 0) throw new ArgumentError("batchId", "expected a non-empty string");
  return keccak256(stringToBytes(batchId));
}
