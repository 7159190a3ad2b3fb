/**
 * How an endpoint proves which Bitcoin network it serves: Bitcoin Core names it
 * in `getblockchaininfo.chain`; Esplora is asked for its genesis block hash.
 * `btc:testnet` is testnet3 (the anchor chains are main/test/signet/regtest only, docs/FEDERATION_PROTOCOL.md §Anchor).
 */
import type { BtcNetwork } from "../anchor.js";

/** Genesis block hashes (display hex), Core chainparams.cpp. */
export const GENESIS_HASHES: Readonly<Record<BtcNetwork, string>> = {
  mainnet: "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
  testnet: "000000000933ea01ad0ee984209779baaec3ced90fa3f408719526f8d77f4943",
  signet: "00000008819873e925422c1ff0f99f7cc9bbb232af63a077a480a3633bee1ef6",
  regtest: "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206",
};

/** `getblockchaininfo.chain` values. */
export const CORE_CHAIN_NAMES: Readonly<Record<BtcNetwork, string>> = {
  mainnet: "main",
  testnet: "test",
  signet: "signet",
  regtest: "regtest",
};

/**
 * The network whose genesis block hash is `hash`, if any.
 * @example networkOfGenesis("0f9188f1…2206") // "regtest"
 */
export function networkOfGenesis(hash: string): BtcNetwork | undefined {
  const h = hash.trim().toLowerCase();
  return (Object.keys(GENESIS_HASHES) as BtcNetwork[]).find((n) => GENESIS_HASHES[n] === h);
}

/**
 * The network Core calls `chain`, if any.
 * @example networkOfCoreChain("main") // "mainnet"
 */
export function networkOfCoreChain(chain: string): BtcNetwork | undefined {
  return (Object.keys(CORE_CHAIN_NAMES) as BtcNetwork[]).find((n) => CORE_CHAIN_NAMES[n] === chain);
}
