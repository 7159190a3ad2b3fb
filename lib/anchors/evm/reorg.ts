/**
 * Reorg detection on re-verification (docs/ANCHORS.md §Outcomes): the block hash recorded by an
 * earlier check is compared with the block now at that number, and with the
 * block the receipt now names. The note produced here prefixes every later
 * reason, so an operator sees why an anchor that verified before no longer does.
 */
import { BlockNotFoundError, type Hex, type PublicClient } from "viem";
import type { Evidence } from "../result.js";

const HASH = /^0x[0-9a-fA-F]{64}$/;

/** The earlier evidence worth comparing: a block hash and the number it was at. */
export interface RecordedBlock {
  blockHash: string;
  blockNumber: number;
}

/**
 * The recorded block in `previous`, if it has a usable hash; `fallbackNumber`
 * stands in for evidence that recorded a hash without its number.
 * @example recordedBlock({ blockHash: "0x…", blockNumber: 12 }, 12) // { blockHash: "0x…", blockNumber: 12 }
 */
export function recordedBlock(previous: Evidence | undefined, fallbackNumber: number): RecordedBlock | undefined {
  if (!previous || typeof previous.blockHash !== "string" || !HASH.test(previous.blockHash)) return undefined;
  const n = previous.blockNumber;
  const blockNumber = typeof n === "number" && Number.isSafeInteger(n) && n >= 0 ? n : fallbackNumber;
  return { blockHash: previous.blockHash.toLowerCase(), blockNumber };
}

/**
 * `"reorg: block 12 was 0x… and is now 0x…"` when the canonical block at the recorded
 * number changed or vanished; `undefined` when it is the same block.
 * RPC failures propagate: the caller turns them into `pending`.
 * @example await canonicalBlockNote(client, { blockHash: "0xab…", blockNumber: 12 })
 */
export async function canonicalBlockNote(client: PublicClient, recorded: RecordedBlock): Promise<string | undefined> {
  let now: Hex | null;
  try {
    now = (await client.getBlock({ blockNumber: BigInt(recorded.blockNumber) })).hash;
  } catch (error) {
    if (error instanceof BlockNotFoundError) return `reorg: block ${recorded.blockNumber} was ${recorded.blockHash} and is no longer in the chain`;
    throw error;
  }
  if (now !== null && now.toLowerCase() === recorded.blockHash) return undefined;
  return `reorg: block ${recorded.blockNumber} was ${recorded.blockHash} and is now ${now ?? "unknown"}`;
}

/**
 * A note when the receipt now points at another block than the recorded one,
 * for the case where the block at the recorded number itself did not change.
 * @example movedReceiptNote(recorded, "0xcd…", 14) // "reorg: block 12 was 0xab…; the transaction is now in block 14 (0xcd…)"
 */
export function movedReceiptNote(recorded: RecordedBlock, receiptBlockHash: string, receiptBlockNumber: number): string | undefined {
  if (receiptBlockHash.toLowerCase() === recorded.blockHash) return undefined;
  return `reorg: block ${recorded.blockNumber} was ${recorded.blockHash}; the transaction is now in block ${receiptBlockNumber} (${receiptBlockHash})`;
}
