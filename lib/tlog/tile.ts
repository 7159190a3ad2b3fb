/**
 * Tiles of a Merkle log (c2sp.org/tlog-tiles; docs/FEDERATION_PROTOCOL.md §Origin log):
 * level-L tile N holds up to 256 hashes, each the RFC 6962 hash of 256^L consecutive leaves;
 * a partial tile, the rightmost of its level, holds fewer and is named with `.p/<W>`. Paths,
 * widths, and the work of appending leaves. Pure.
 */
import { ArgumentError } from "../errors.js";
import { rfc9162NodeHash } from "../merkle/rfc9162.js";

/** Hashes per full tile (tlog-tiles §Merkle Tree). */
export const TILE_WIDTH = 256;
/** Tree levels one tile spans: log2(TILE_WIDTH). */
export const TILE_HEIGHT = 8;
export const HASH_SIZE = 32;

/** A tile: level, index within the level, width (256 for a full tile). */
export interface Tile {
  level: number;
  index: number;
  width: number;
}

/**
 * The index part of a tile path: 3-digit groups, all but the last prefixed `x`.
 * @example tileIndexPath(1234067) // "x001/x234/067"
 */
export function tileIndexPath(index: number): string {
  if (!Number.isSafeInteger(index) || index < 0) throw new ArgumentError("index", `not a tile index: ${index}`);
  let rest = Math.floor(index / 1000);
  let path = String(index % 1000).padStart(3, "0");
  while (rest > 0) {
    path = `x${String(rest % 1000).padStart(3, "0")}/${path}`;
    rest = Math.floor(rest / 1000);
  }
  return path;
}

/**
 * The path of a tile below the log prefix: `tile/<L>/<N>[.p/<W>]`; `entries` for an entry bundle.
 * @example tilePath({ level: 1, index: 1234067, width: 17 }) // "tile/1/x001/x234/067.p/17"
 */
export function tilePath(tile: Tile | (Omit<Tile, "level"> & { level: "entries" })): string {
  if (tile.level !== "entries" && (!Number.isInteger(tile.level) || tile.level < 0 || tile.level > 63)) throw new ArgumentError("level", `not a tile level: ${tile.level}`);
  if (!Number.isInteger(tile.width) || tile.width < 1 || tile.width > TILE_WIDTH) throw new ArgumentError("width", `not a tile width: ${tile.width}`);
  return `tile/${tile.level}/${tileIndexPath(tile.index)}${tile.width < TILE_WIDTH ? `.p/${tile.width}` : ""}`;
}

/**
 * Reads a tile path (strictly: no leading zeroes, `x` on every group but the last, widths
 * 1..255); undefined for anything else.
 * @example parseTilePath("tile/0/x001/x234/067") // { level: 0, index: 1234067, width: 256 }
 */
export function parseTilePath(path: string): (Omit<Tile, "level"> & { level: number | "entries" }) | undefined {
  const m = /^tile\/(entries|0|[1-9][0-9]?)\/((?:x[0-9]{3}\/)*)([0-9]{3})(?:\.p\/([1-9][0-9]{0,2}))?$/.exec(path);
  if (m === null) return undefined;
  const level = m[1] === "entries" ? "entries" : Number(m[1]);
  if (level !== "entries" && level > 63) return undefined;
  const groups = [...m[2]!.split("/").filter((g) => g.length > 0).map((g) => g.slice(1)), m[3]!];
  // A leading all-zero group would give two paths for one index.
  if (groups.length > 1 && groups[0] === "000") return undefined;
  if (groups.length > 6) return undefined;
  const index = groups.reduce((n, g) => n * 1000 + Number(g), 0);
  const width = m[4] === undefined ? TILE_WIDTH : Number(m[4]);
  if (m[4] !== undefined && width >= TILE_WIDTH) return undefined;
  return { level, index, width };
}

/**
 * Hashes of level `level` a tree of `size` leaves has: floor(size / 256^level).
 * @example levelHashCount(1, 70000) // 273
 */
export function levelHashCount(level: number, size: number): number {
  return Math.floor(size / TILE_WIDTH ** level);
}

/**
 * The tiles a tree of `size` leaves is made of at `level`: full ones, then the partial one of
 * width floor(size / 256^level) mod 256 when that is not zero (tlog-tiles §Partial Tiles).
 * @example tilesAtLevel(1, 70000).at(-1) // { level: 1, index: 1, width: 17 }
 */
export function tilesAtLevel(level: number, size: number): Tile[] {
  const n = levelHashCount(level, size);
  const tiles: Tile[] = [];
  for (let i = 0; i < Math.floor(n / TILE_WIDTH); i++) tiles.push({ level, index: i, width: TILE_WIDTH });
  if (n % TILE_WIDTH > 0) tiles.push({ level, index: Math.floor(n / TILE_WIDTH), width: n % TILE_WIDTH });
  return tiles;
}

/**
 * The levels a tree of `size` leaves has tiles at (0 for an empty tree: none).
 * @example tileLevels(70000) // 3
 */
export function tileLevels(size: number): number {
  let levels = 0;
  while (levelHashCount(levels, size) > 0) levels++;
  return levels;
}

/**
 * The tiles that change when a tree grows from `oldSize` to `newSize`: at every level, the
 * tiles that newly became full and the new rightmost partial tile. Ordered by level.
 * @example tilesToWrite(255, 256) // [{ level: 0, index: 0, width: 256 }, { level: 1, index: 0, width: 1 }]
 */
export function tilesToWrite(oldSize: number, newSize: number): Tile[] {
  if (!(newSize > oldSize)) throw new ArgumentError("newSize", `must exceed oldSize ${oldSize}`);
  const out: Tile[] = [];
  for (let level = 0; levelHashCount(level, newSize) > 0; level++) {
    const oldN = levelHashCount(level, oldSize);
    const newN = levelHashCount(level, newSize);
    if (newN === oldN) continue;
    const first = Math.floor(oldN / TILE_WIDTH);
    for (const t of tilesAtLevel(level, newSize)) if (t.index >= first) out.push(t);
  }
  return out;
}

/**
 * The RFC 6962 hash of `hashes`, a power-of-two count of sibling subtree hashes of one height.
 * @example subtreeHash([a, b]) // rfc9162NodeHash(a, b)
 */
export function subtreeHash(hashes: readonly Uint8Array[]): Uint8Array {
  if (hashes.length === 0 || (hashes.length & (hashes.length - 1)) !== 0) throw new ArgumentError("hashes", `expected a power-of-two count, got ${hashes.length}`);
  let level = hashes.slice();
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(rfc9162NodeHash(level[i]!, level[i + 1]!));
    level = next;
  }
  return level[0]!;
}

/** The hashes of a tile's bytes (32 each); undefined when the length is not width × 32. */
export function tileHashes(data: Uint8Array, width: number): Uint8Array[] | undefined {
  if (data.length !== width * HASH_SIZE) return undefined;
  const out: Uint8Array[] = [];
  for (let i = 0; i < width; i++) out.push(data.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
  return out;
}
