/**
 * Finds the `BatchAnchored` log that proves an anchor among a receipt's logs
 * (docs/ANCHORS.md §The contract): emitted by the expected contract, topic0 the event, topic1 the
 * root bytes, topic2 keccak256 of the batch id. A log with the right topics from
 * any other address proves nothing: anyone can deploy a contract that emits it.
 */
import type { Hex } from "viem";
import { BATCH_ANCHORED_TOPIC } from "./contract.js";
import type { EvmClaim } from "./claim.js";

/** The parts of a receipt log the match needs (viem's `Log` satisfies it). */
export interface ReceiptLog {
  address: string;
  topics: readonly (Hex | string)[];
  logIndex: number | bigint | null;
}

export type LogMatch = { logIndex: number } | { reason: string };

const same = (a: string | undefined, b: string): boolean => a !== undefined && a.toLowerCase() === b.toLowerCase();

/**
 * The matching log's index, or the reason none matches.
 * @example matchAnchorLog(receipt.logs, claim) // { logIndex: 0 }
 */
export function matchAnchorLog(logs: readonly ReceiptLog[], claim: EvmClaim): LogMatch {
  const events = logs.filter((log) => same(log.topics[0], BATCH_ANCHORED_TOPIC));
  const fromContract = events.filter((log) => same(log.address, claim.contract));
  const exact = (log: ReceiptLog): boolean => same(log.topics[1], claim.rootTopic) && same(log.topics[2], claim.batchIdTopic);

  const hit = fromContract.find(exact);
  if (hit) return { logIndex: Number(hit.logIndex ?? -1) };

  const sameRoot = fromContract.find((log) => same(log.topics[1], claim.rootTopic));
  if (sameRoot) {
    return { reason: `batchId mismatch: the BatchAnchored log from ${claim.contract} carries batchId topic ${String(sameRoot.topics[2])}, expected ${claim.batchIdTopic}` };
  }
  const first = fromContract[0];
  if (first) return { reason: `root mismatch: the BatchAnchored log from ${claim.contract} carries root ${String(first.topics[1])}, expected ${claim.rootTopic}` };

  const elsewhere = events.find(exact);
  if (elsewhere) return { reason: `the BatchAnchored log for this root was emitted by ${elsewhere.address}, not by the contract ${claim.contract}` };
  return { reason: `no BatchAnchored log from the contract ${claim.contract} in transaction ${claim.tx}` };
}
