/**
 * An append-only RFC 9162 log kept as tlog-tiles (docs/FEDERATION_PROTOCOL.md §Origin log):
 * level-0 tiles of leaf hashes, level-L tiles of the hashes of full level-(L−1) tiles, and entry
 * bundles of the leaves themselves. Storage is a parameter (files in lib/store/origin-log-files.ts,
 * a Map in tests), so this file touches no disk. Full tiles never change once a checkpoint covers
 * them; a partial tile is a new file per width, so a crash between writing tiles and the signed
 * checkpoint leaves what that checkpoint names intact.
 */
import { ArgumentError } from "../errors.js";
import { rfc9162LeafHash } from "../merkle/rfc9162.js";
import { treeHash, type HashReader } from "./proof.js";
import { HASH_SIZE, levelHashCount, subtreeHash, TILE_HEIGHT, TILE_WIDTH, tileHashes, tilePath, parseTilePath, type Tile } from "./tile.js";

/** Where tiles live: paths are tlog-tiles paths below the log prefix (`tile/0/000`). */
export interface TileStorage {
  read(path: string): Promise<Uint8Array | null>;
  /** Writes every file durably before resolving. */
  write(files: readonly { path: string; data: Uint8Array }[]): Promise<void>;
}

/** Entries we log are 32-byte checkpoint digests; the bundle format allows up to 65535 bytes. */
const MAX_ENTRY_BYTES = 0xffff;

/**
 * A tiled log of `size` leaves over `storage`.
 * @example const log = new TiledLog(storage, 0); await log.append([digestBytes]); await log.rootHash()
 */
export class TiledLog {
  #size: number;
  readonly #storage: TileStorage;
  /** Tiles read since the last append, by path; tiles of a fixed size never change. */
  readonly #cache = new Map<string, Uint8Array[]>();
  #index: Map<string, number> | undefined;

  constructor(storage: TileStorage, size: number) {
    if (!Number.isSafeInteger(size) || size < 0) throw new ArgumentError("size", `not a tree size: ${size}`);
    this.#storage = storage;
    this.#size = size;
  }

  get size(): number {
    return this.#size;
  }

  /** The hashes of complete subtrees of the current tree, read from its tiles. */
  readonly reader: HashReader = {
    subtree: (height, index) => this.#subtree(height, index),
  };

  /** MTH of the whole tree. */
  rootHash(): Promise<Uint8Array> {
    return treeHash(this.#size, this.reader);
  }

  /** The tile at (level, tile index) as the current size has it: full, or partial of its width. */
  #tileAt(level: number, index: number, size = this.#size): Tile {
    const count = levelHashCount(level, size);
    const width = Math.min(TILE_WIDTH, count - index * TILE_WIDTH);
    if (width <= 0) throw new ArgumentError("index", `tile ${level}/${index} is beyond size ${size}`);
    return { level, index, width };
  }

  async #hashesOf(tile: Tile): Promise<Uint8Array[]> {
    const path = tilePath(tile);
    const cached = this.#cache.get(path);
    if (cached) return cached;
    const data = await this.#storage.read(path);
    const hashes = data === null ? undefined : tileHashes(data, tile.width);
    if (hashes === undefined) throw new Error(`origin log tile ${path} is ${data === null ? "missing" : `${data.length} bytes, not ${tile.width * HASH_SIZE}`}`);
    this.#cache.set(path, hashes);
    return hashes;
  }

  async #subtree(height: number, index: number): Promise<Uint8Array> {
    // A subtree of height h is 2^(h mod 8) consecutive hashes of one level-floor(h/8) tile.
    const level = Math.floor(height / TILE_HEIGHT);
    const span = 2 ** (height % TILE_HEIGHT);
    const first = index * span;
    if ((index + 1) * 2 ** height > this.#size) throw new ArgumentError("index", `subtree ${height}/${index} is beyond size ${this.#size}`);
    const hashes = await this.#hashesOf(this.#tileAt(level, Math.floor(first / TILE_WIDTH)));
    const at = first % TILE_WIDTH;
    return subtreeHash(hashes.slice(at, at + span));
  }

  /**
   * Appends `entries` (each hashed as an RFC 9162 leaf) and writes the tiles and entry bundles
   * they change. The caller then signs and stores the checkpoint of the new size: that is the
   * commit.
   * @example await log.append([cpDigest1, cpDigest2]) // the new size
   */
  async append(entries: readonly Uint8Array[]): Promise<number> {
    if (entries.length === 0) return this.#size;
    for (const e of entries) if (e.length === 0 || e.length > MAX_ENTRY_BYTES) throw new ArgumentError("entries", `an entry is ${e.length} bytes (1..${MAX_ENTRY_BYTES})`);
    const oldSize = this.#size;
    const newSize = oldSize + entries.length;
    const files: { path: string; data: Uint8Array }[] = [];
    // Level by level: the hashes new at this level, then those that complete a tile go up.
    let added = entries.map((e) => rfc9162LeafHash(e));
    for (let level = 0; added.length > 0; level++) {
      const oldCount = levelHashCount(level, oldSize);
      const startTile = Math.floor(oldCount / TILE_WIDTH);
      const carried = oldCount % TILE_WIDTH === 0 ? [] : await this.#hashesOf(this.#tileAt(level, startTile, oldSize));
      const row = [...carried, ...added];
      const up: Uint8Array[] = [];
      for (let t = 0; t * TILE_WIDTH < row.length; t++) {
        const hashes = row.slice(t * TILE_WIDTH, (t + 1) * TILE_WIDTH);
        files.push({ path: tilePath({ level, index: startTile + t, width: hashes.length }), data: concat(hashes) });
        if (hashes.length === TILE_WIDTH) up.push(subtreeHash(hashes));
      }
      added = up;
    }
    // Entry bundles follow the level-0 tiles.
    const oldBundle = Math.floor(oldSize / TILE_WIDTH);
    const carried = oldSize % TILE_WIDTH === 0 ? [] : await this.readEntries(oldBundle, oldSize % TILE_WIDTH);
    const row = [...carried, ...entries];
    for (let t = 0; t * TILE_WIDTH < row.length; t++) {
      const bundle = row.slice(t * TILE_WIDTH, (t + 1) * TILE_WIDTH);
      files.push({ path: tilePath({ level: "entries", index: oldBundle + t, width: bundle.length }), data: encodeBundle(bundle) });
    }
    await this.#storage.write(files);
    this.#size = newSize;
    this.#cache.clear();
    if (this.#index) entries.forEach((e, i) => this.#index!.set(Buffer.from(e).toString("hex"), oldSize + i));
    return newSize;
  }

  /** The entries of bundle `index` of width `width`. */
  async readEntries(index: number, width: number): Promise<Uint8Array[]> {
    const path = tilePath({ level: "entries", index, width });
    const data = await this.#storage.read(path);
    const entries = data === null ? undefined : decodeBundle(data);
    if (entries === undefined || entries.length !== width) throw new Error(`origin log entry bundle ${path} is missing or malformed`);
    return entries;
  }

  /**
   * The leaf index of `entry`, or undefined when the log does not hold it. The first call reads
   * every entry bundle once.
   * @example await log.indexOf(cpDigest) // 41
   */
  async indexOf(entry: Uint8Array): Promise<number | undefined> {
    if (this.#index === undefined) {
      const index = new Map<string, number>();
      for (let t = 0; t * TILE_WIDTH < this.#size; t++) {
        const width = Math.min(TILE_WIDTH, this.#size - t * TILE_WIDTH);
        (await this.readEntries(t, width)).forEach((e, i) => {
          const key = Buffer.from(e).toString("hex");
          if (!index.has(key)) index.set(key, t * TILE_WIDTH + i);
        });
      }
      this.#index = index;
    }
    return this.#index.get(Buffer.from(entry).toString("hex"));
  }

  /**
   * The bytes at a tlog-tiles path, when the current tree has that tile (a partial tile of an
   * earlier size is served too, as tlog-tiles asks); null otherwise.
   * @example await log.readTile("tile/0/000.p/5")
   */
  async readTile(path: string): Promise<Uint8Array | null> {
    const tile = parseTilePath(path);
    if (tile === undefined) return null;
    const count = tile.level === "entries" ? this.#size : levelHashCount(tile.level, this.#size);
    if (tile.index * TILE_WIDTH + tile.width > count) return null;
    return this.#storage.read(tilePath(tile));
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** tlog-tiles §Log entries: big-endian uint16 length, then the entry. */
function encodeBundle(entries: readonly Uint8Array[]): Uint8Array {
  return concat(entries.flatMap((e) => [Uint8Array.of(e.length >> 8, e.length & 0xff), e]));
}

function decodeBundle(data: Uint8Array): Uint8Array[] | undefined {
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < data.length) {
    if (at + 2 > data.length) return undefined;
    const n = (data[at]! << 8) | data[at + 1]!;
    at += 2;
    if (at + n > data.length) return undefined;
    out.push(data.subarray(at, at + n));
    at += n;
  }
  return out;
}
