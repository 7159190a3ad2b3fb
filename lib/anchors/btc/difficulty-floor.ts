/**
 * The lowest difficulty a block header may have at a given height, per network
 * (docs/ANCHORS.md §Difficulty floor). Each network's powLimit is the floor of the
 * genesis block; a checkpoint raises it from its height on. A checkpoint's floor is its
 * block's real target made FLOOR_MARGIN times easier, so that the floor stays below the
 * chain's real difficulty even after the largest drops seen so far (at most about 30 %
 * between two retargets), while a header meeting it still costs about 2^67 hashes on
 * mainnet from height 592,920 on, far beyond one GPU.
 *
 * How to refresh (docs/ANCHORS.md §Difficulty floor): take a block at least a few thousand
 * blocks deep, read its `bits` (`bitcoin-cli getblockheader <hash>` or Esplora
 * `/block/:hash`), check the header's hash against two independent sources, and append
 * `{ height, bits, source }` in height order.
 */
import type { BtcNetwork } from "../anchor.js";
import type { BlockHeader } from "./header.js";
import { POW_LIMITS, decodeCompactTarget } from "./target.js";

export interface DifficultyCheckpoint {
  height: number;
  /** The compact bits of the block at `height`. */
  bits: number;
  /** Where `bits` was read. */
  source: string;
}

/** A checkpoint's floor is its target times this: 256× easier than the chain was then. */
export const FLOOR_MARGIN = 256n;

/**
 * Per-network checkpoints, in height order. Only values read from block headers this
 * repository carries or that are well known: testnet3 allows minimum-difficulty blocks after
 * 20 minutes without one, signet blocks prove a signature rather than work, and regtest has
 * no difficulty, so those three keep their powLimit as the only floor.
 */
export const DIFFICULTY_CHECKPOINTS: Readonly<Record<BtcNetwork, readonly DifficultyCheckpoint[]>> = {
  mainnet: [
    { height: 0, bits: 0x1d00ffff, source: "genesis block header (Bitcoin Core chainparams.cpp, nBits of the genesis block)" },
    { height: 592_920, bits: 0x171a213e, source: "block 592920 header, test/fixtures/real/btc/mainnet-592920-opreturn.json (hash 00000000000000000016633b…0c4d)" },
  ],
  testnet: [],
  signet: [],
  regtest: [],
};

const hex8 = (bits: number): string => `0x${(bits >>> 0).toString(16).padStart(8, "0")}`;

/**
 * The easiest target a header at `height` may claim, and the checkpoint that sets it.
 * @example difficultyFloor("mainnet", 600_000).checkpoint?.height // 592920
 */
export function difficultyFloor(network: BtcNetwork, height: number, table: readonly DifficultyCheckpoint[] = DIFFICULTY_CHECKPOINTS[network]): { target: bigint; checkpoint?: DifficultyCheckpoint } {
  let checkpoint: DifficultyCheckpoint | undefined;
  for (const c of table) if (c.height <= height && (checkpoint === undefined || c.height >= checkpoint.height)) checkpoint = c;
  const limit = POW_LIMITS[network];
  if (checkpoint === undefined) return { target: limit };
  const decoded = decodeCompactTarget(checkpoint.bits);
  if (!decoded.ok) throw new Error(`difficulty checkpoint at height ${checkpoint.height} has invalid bits ${hex8(checkpoint.bits)}`);
  const target = decoded.target * FLOOR_MARGIN;
  return { target: target < limit ? target : limit, checkpoint };
}

/**
 * `undefined` when the header's bits are at least as hard as the floor for `height`, else why not.
 * @example difficultyFloorProblem(header, 600_000, "mainnet") // undefined for a real block
 */
export function difficultyFloorProblem(header: BlockHeader, height: number, network: BtcNetwork, table?: readonly DifficultyCheckpoint[]): string | undefined {
  const decoded = decodeCompactTarget(header.bits);
  if (!decoded.ok) return decoded.reason;
  const floor = difficultyFloor(network, height, table);
  if (decoded.target <= floor.target) return undefined;
  const from = floor.checkpoint === undefined ? "its proof-of-work limit" : `the floor set at height ${floor.checkpoint.height} (bits ${hex8(floor.checkpoint.bits)} / ${FLOOR_MARGIN})`;
  return `header bits ${hex8(header.bits)} at height ${height} are easier than btc:${network} allows: ${from}`;
}
