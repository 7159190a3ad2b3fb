/**
 * The origin log's files under `<state_dir>/v1/origin-log/` (docs/STATE.md §Origin log): tiles
 * and entry bundles at their tlog-tiles paths, the signed `checkpoint`, and a `LOCK` held for
 * one append. Every file is written like the rest of the state (lib/store/atomic-file.ts): temp
 * file, fsync, rename, fsync of the directory.
 */
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { StoreError } from "../errors.js";
import { ensureDir, writeFileAtomic } from "../store/atomic-file.js";
import type { TileStorage } from "../tlog/tiled-log.js";

/**
 * The origin log's directory in a state directory.
 * @example originLogDir("/var/lib/vmsh") // "/var/lib/vmsh/v1/origin-log"
 */
export function originLogDir(stateDir: string): string {
  return join(stateDir, "v1", "origin-log");
}

/** Replaces `file` with `data` atomically and durably (lib/store/atomic-file.ts), creating its directory. */
export async function writeBytesAtomic(file: string, data: Uint8Array | string): Promise<void> {
  await ensureDir(dirname(file));
  try {
    await writeFileAtomic(file, data);
  } catch (err) {
    if (err instanceof StoreError) throw err;
    throw new StoreError("STATE_WRITE_FAILED", `cannot write ${file}: ${(err as Error).message}`, { path: file, cause: err });
  }
}

/** A file's bytes, or null when it does not exist. */
export async function readBytes(file: string): Promise<Uint8Array | null> {
  try {
    return Uint8Array.from(await readFile(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new StoreError("STATE_UNREADABLE", `cannot read ${file}: ${(err as Error).message}`, { path: file, cause: err });
  }
}

/**
 * TileStorage over the files of `dir`; paths come only from lib/tlog/tile.ts (`tile/…`), never
 * from a request as they are.
 * @example new TiledLog(fileTileStorage(originLogDir(stateDir)), size)
 */
export function fileTileStorage(dir: string): TileStorage {
  const at = (path: string): string => {
    if (!/^tile\/[a-z0-9]+(\/x[0-9]{3})*\/[0-9]{3}(\.p\/[0-9]{1,3})?$/.test(path)) throw new StoreError("STATE_INVALID_WRITE", `not a tile path: ${path}`);
    return join(dir, ...path.split("/"));
  };
  return {
    read: (path) => readBytes(at(path)),
    async write(files) {
      for (const f of files) await writeBytesAtomic(at(f.path), f.data);
    },
  };
}
