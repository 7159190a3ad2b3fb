/**
 * Anchors: where a batch root was attested (docs/FEDERATION_PROTOCOL.md §Anchor). The shape is the sealer's
 * receipt `anchor` object plus `batchId` and `batchRoot`, as carried on the wire (docs/FEDERATION_PROTOCOL.md §Anchor).
 */

/** The three anchoring rails, strongest finality first (docs/FEDERATION_SEMANTICS.md §3. Conflicts). */
export type Rail = "btc" | "eip155" | "rfc3161";

export const BTC_NETWORKS = ["mainnet", "testnet", "signet", "regtest"] as const;
export type BtcNetwork = (typeof BTC_NETWORKS)[number];

export interface Anchor {
  /** Sealer batch id this anchor attests. */
  batchId: string;
  /** `sha256:<hex>` root the anchor commits to. */
  batchRoot: string;
  /** `btc:<network>`, `eip155:<chainId>` or `rfc3161:<tsa name>`. */
  chain: string;
  /** EVM only: address of the contract that emitted `BatchAnchored`. */
  contract?: string;
  /** BTC txid (display hex), EVM tx hash (0x…), or for TSA an identifier chosen by the sealer. */
  tx: string;
  /** Block height (BTC), block number (EVM), 0 for TSA. */
  block: number;
  /** Unix seconds at which the sealer recorded the anchor. */
  ts: number;
  /** TSA only: base64 DER of the TimeStampResp or bare TimeStampToken. */
  sig?: string;
  memo?: string;
}

export interface ChainId {
  rail: Rail;
  /** `mainnet`… for btc, the decimal chain id for eip155, the TSA name for rfc3161. */
  network: string;
}

const CHAIN_PATTERNS: ReadonlyArray<[Rail, RegExp]> = [
  ["btc", /^btc:(mainnet|testnet|signet|regtest)$/],
  ["eip155", /^eip155:([1-9][0-9]{0,18})$/],
  ["rfc3161", /^rfc3161:([A-Za-z0-9][A-Za-z0-9._-]{0,63})$/],
];

/**
 * Splits an anchor `chain` string into rail and network; `undefined` when it is not one of the forms of docs/FEDERATION_PROTOCOL.md §Anchor.
 * @example parseChainId("eip155:8453") // { rail: "eip155", network: "8453" }
 */
export function parseChainId(chain: string): ChainId | undefined {
  for (const [rail, re] of CHAIN_PATTERNS) {
    const m = re.exec(chain);
    if (m) return { rail, network: m[1]! };
  }
  return undefined;
}
