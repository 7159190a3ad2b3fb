/**
 * What the anchor verifier asks of a Bitcoin endpoint, independent of whether
 * Bitcoin Core JSON-RPC or Esplora REST answers. Each step either yields a value
 * or ends the verification with a `pending`/`rejected` result; none throws.
 */
import type { BtcNetwork } from "../anchor.js";
import type { VerificationResult } from "../result.js";
import type { BlockHeader } from "./header.js";

export type Step<T> = { ok: true; value: T } | { ok: false; result: VerificationResult };

/** The anchor transaction as the endpoint holds it. */
export interface LocatedTransaction {
  /** Raw bytes; the txid is recomputed from them by the verifier. */
  raw: Uint8Array;
  /** Display hex of the block the endpoint says holds it; absent while unconfirmed. */
  blockHash?: string;
}

export interface BtcSource {
  /** The endpoint without credentials, for reason texts. */
  readonly label: string;
  /** The network the endpoint serves, or a description of what it serves instead. */
  network(): Promise<Step<{ network?: BtcNetwork; seen: string }>>;
  /** Height of the endpoint's best block. */
  tipHeight(): Promise<Step<number>>;
  /** The raw transaction and its block; `heightHint` is the anchor's claimed height (for nodes without a tx index). */
  transaction(txid: string, heightHint: number): Promise<Step<LocatedTransaction>>;
  /**
   * The header of `blockHash` after the endpoint's inclusion proof for `txid` was checked
   * against that header's merkle root.
   */
  inclusion(txid: string, blockHash: string): Promise<Step<BlockHeader>>;
  /** Height of the named block. */
  blockHeight(blockHash: string): Promise<Step<number>>;
  /** Hash of the active chain's block at `height` (display hex). */
  hashAtHeight(height: number): Promise<Step<string>>;
}
