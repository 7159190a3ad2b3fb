/**
 * Walks the state tree (docs/STATE.md) and lists what is there, sorted:
 * namespace directories, batch files with a cheap identity (inode, size, mtime)
 * used to notice files another process replaced, leftover temp files, and
 * anything else, which is never taken for data.
 */
import { readdirSync, statSync, type Dirent } from "node:fs";
import { join } from "node:path";
import { StoreError } from "../errors.js";
import { isTempFile } from "./atomic-file.js";
import { isBatchFileName, isEncodedName } from "./layout.js";

/** A data file and its identity: a rename-replaced file always gets a new one. */
export interface ScannedFile {
  path: string;
  identity: string;
  /** Identity of the directory holding it, taken before listing that directory. */
  dirIdentity: string;
}

/** What one directory level holds. */
export interface DirListing {
  /** Entries whose names `encodeName` can produce (directories or `<encoded>.json` files). */
  names: string[];
  /** Leftover `.…tmp` files from a writer that died. */
  temp: string[];
  /** Anything else: reported by `checkIntegrity`, ignored by the store. */
  unexpected: string[];
}

/**
 * Lists `dir`, splitting encoded entries (directories if `want` is "dir", else `.json` files) from temp and stray files.
 * A missing directory lists as empty.
 * @example await listDir("/s/v1/namespaces", "dir") // { names: ["x6e73"], temp: [], unexpected: [] }
 */
export async function listDir(dir: string, want: "dir" | "json" | "batch", extra: readonly string[] = []): Promise<DirListing> {
  return listDirNow(dir, want, extra);
}

/**
 * listDir with synchronous calls. A namespace of 5,000 batches is 5,000 directories and 5,000
 * files: one promise per call made that listing take 2–4 s on a loaded machine, the synchronous
 * calls a tenth of it (docs/STATE.md §Manifest), at the price of holding the event loop that long.
 */
export function listDirNow(dir: string, want: "dir" | "json" | "batch", extra: readonly string[] = []): DirListing {
  const out: DirListing = { names: [], temp: [], unexpected: [] };
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return out;
    throw new StoreError("STATE_UNREADABLE", `cannot list ${dir}: ${(err as Error).message}`, { path: dir, cause: err });
  }
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isFile() && isTempFile(e.name)) out.temp.push(full);
    else if (extra.includes(e.name)) continue;
    else if (want === "dir" && e.isDirectory() && isEncodedName(e.name)) out.names.push(e.name);
    else if (want === "json" && e.isFile() && e.name.endsWith(".json") && isEncodedName(e.name.slice(0, -5))) out.names.push(e.name);
    else if (want === "batch" && e.isFile() && isBatchFileName(e.name)) out.names.push(e.name);
    else out.unexpected.push(full);
  }
  out.names.sort();
  return out;
}

/**
 * The identity of a file or directory as `ino:size:mtimeMs:ctimeMs` (sub-millisecond, as
 * fractions), or undefined when it is gone. The ctime cannot be set back by `touch` or `utimes`,
 * so a file rewritten in place with its size and mtime restored still gets a new identity; a
 * directory's changes whenever an entry is created, renamed into it or removed.
 * @example await fileIdentity("/s/FORMAT") // "1234:41:1732470000000.123:1732470000000.123"
 */
export async function fileIdentity(path: string): Promise<string | undefined> {
  return fileIdentityNow(path);
}

export function fileIdentityNow(path: string): string | undefined {
  try {
    // Not bigint: allocating four BigInts per call made the 5,000-file check at open 2.5× slower.
    const s = statSync(path);
    return `${s.ino}:${s.size}:${s.mtimeMs}:${s.ctimeMs}`;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new StoreError("STATE_UNREADABLE", `cannot stat ${path}: ${(err as Error).message}`, { path, cause: err });
  }
}

/** Everything found under one namespace directory. */
export interface NamespaceListing {
  batchFiles: ScannedFile[];
  temp: string[];
  unexpected: string[];
}

/**
 * Lists the batch files of one namespace directory (`batches/<batchId>/<batchRoot>[.<origin>].json`).
 * @example const { batchFiles } = await listNamespace("/s/v1/namespaces/x6e73")
 */
export async function listNamespace(nsDir: string): Promise<NamespaceListing> {
  const top = listDirNow(nsDir, "json", ["batches"]);
  const out: NamespaceListing = { batchFiles: [], temp: [...top.temp], unexpected: top.unexpected };
  // meta.json, manifest.json and ids.json (docs/STATE.md §Id filter) are the only files expected
  // beside batches/; isEncodedName rejects these names, so they land in unexpected.
  const own = new Set([join(nsDir, "meta.json"), join(nsDir, "manifest.json"), join(nsDir, "ids.json")]);
  out.unexpected = out.unexpected.filter((p) => !own.has(p));
  const batchesDir = join(nsDir, "batches");
  const ids = listDirNow(batchesDir, "dir");
  out.temp.push(...ids.temp);
  out.unexpected.push(...ids.unexpected);
  for (const id of ids.names) {
    // Stat before listing: a change landing in between makes the recorded identity older than the listing, never newer.
    const dirIdentity = fileIdentityNow(join(batchesDir, id)) ?? "";
    const roots = listDirNow(join(batchesDir, id), "batch");
    out.temp.push(...roots.temp);
    out.unexpected.push(...roots.unexpected);
    for (const name of roots.names) {
      const path = join(batchesDir, id, name);
      const identity = fileIdentityNow(path);
      if (identity !== undefined) out.batchFiles.push({ path, identity, dirIdentity });
    }
  }
  return out;
}
