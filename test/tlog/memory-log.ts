/** A TiledLog over a Map, shared by the tlog tests and bench (no disk). */
import { createHash } from "node:crypto";
import { TiledLog, type TileStorage } from "../../lib/tlog/tiled-log.js";

export function memoryStorage(): TileStorage & { files: Map<string, Uint8Array>; writes: number } {
  const files = new Map<string, Uint8Array>();
  const s = {
    files,
    writes: 0,
    read: async (path: string) => files.get(path) ?? null,
    write: async (list: readonly { path: string; data: Uint8Array }[]) => {
      for (const f of list) files.set(f.path, f.data);
      s.writes += list.length;
    },
  };
  return s;
}

/** The i-th test entry: 32 bytes. */
export function entry(i: number): Uint8Array {
  return Uint8Array.from(createHash("sha256").update(`checkpoint-${i}`).digest());
}

/** A log of `n` test entries appended in batches of `batch`. */
export async function memoryLog(n: number, batch = 7): Promise<{ log: TiledLog; storage: ReturnType<typeof memoryStorage>; entries: Uint8Array[] }> {
  const storage = memoryStorage();
  const log = new TiledLog(storage, 0);
  const entries = Array.from({ length: n }, (_, i) => entry(i));
  for (let i = 0; i < n; i += batch) await log.append(entries.slice(i, i + batch));
  return { log, storage, entries };
}
