/**
 * Proof of work: the compact "nBits" target as Bitcoin Core's
 * arith_uint256::SetCompact decodes it, and CheckProofOfWork's comparison.
 * A header proves work only against its own bits; whether those bits are the
 * chain's difficulty needs the header chain, which the endpoint vouches for.
 */
import { BTC_NETWORKS, type BtcNetwork } from "../anchor.js";
import type { BlockHeader } from "./header.js";

export type CompactTarget = { ok: true; target: bigint } | { ok: false; reason: string };

const hex8 = (bits: number): string => `0x${(bits >>> 0).toString(16).padStart(8, "0")}`;

/**
 * Decodes compact bits; negative, overflowing and zero targets are refused,
 * as CheckProofOfWork refuses them.
 * @example decodeCompactTarget(0x207fffff) // { ok: true, target: 0x7fffff << 232 }
 */
export function decodeCompactTarget(bits: number): CompactTarget {
  const size = bits >>> 24;
  let word = bits & 0x007fffff;
  let target: bigint;
  if (size <= 3) {
    word >>>= 8 * (3 - size);
    target = BigInt(word);
  } else {
    target = BigInt(word) << BigInt(8 * (size - 3));
  }
  if (word !== 0 && (bits & 0x00800000) !== 0) return { ok: false, reason: `header bits ${hex8(bits)} encode a negative target` };
  if (word !== 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32))) {
    return { ok: false, reason: `header bits ${hex8(bits)} overflow 256 bits` };
  }
  if (target === 0n) return { ok: false, reason: `header bits ${hex8(bits)} encode a zero target` };
  return { ok: true, target };
}

/**
 * The header hash read as Core's uint256: a little-endian 256-bit integer.
 * @example hashAsInteger(header.hash) <= target
 */
export function hashAsInteger(internal: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(internal).reverse().toString("hex")}`);
}

/**
 * `undefined` when the header's hash is at or below the target of its own bits,
 * else the reason it is not.
 * @example proofOfWorkProblem(parseBlockHeader(bytes)!) // undefined for a mined header
 */
export function proofOfWorkProblem(header: BlockHeader): string | undefined {
  const decoded = decodeCompactTarget(header.bits);
  if (!decoded.ok) return decoded.reason;
  if (hashAsInteger(header.hash) > decoded.target) return `header hash does not meet the target of its own bits ${hex8(header.bits)}`;
  return undefined;
}

/** Each network's powLimit (Core chainparams.cpp): the easiest target a header may claim. */
export const POW_LIMITS: Readonly<Record<BtcNetwork, bigint>> = {
  mainnet: (1n << 224n) - 1n,
  testnet: (1n << 224n) - 1n,
  signet: 0x00000377ae000000000000000000000000000000000000000000000000000000n,
  regtest: 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffn,
};

/**
 * `undefined` when the header's bits claim no easier target than `network` allows.
 * @example powLimitProblem(header, "mainnet") // "header bits 0x207fffff exceed the btc:mainnet proof-of-work limit"
 */
export function powLimitProblem(header: BlockHeader, network: BtcNetwork): string | undefined {
  if (!BTC_NETWORKS.includes(network)) return `unknown network ${network}`;
  const decoded = decodeCompactTarget(header.bits);
  if (!decoded.ok) return decoded.reason;
  return decoded.target > POW_LIMITS[network] ? `header bits ${hex8(header.bits)} exceed the btc:${network} proof-of-work limit` : undefined;
}
