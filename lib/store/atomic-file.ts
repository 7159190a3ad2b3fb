/**
 * A lowdb adapter for one JSON file that never leaves a half-written file behind
 * (docs/STATE.md §Writes: atomic and durable): write a temp file in the same directory, fsync it, rename it over
 * the target, fsync the directory. Reading never repairs: a file that does not
 * parse or fails its schema check is a StoreError naming the path, and stays as it is.
 */
import { randomBytes } from "node:crypto";
import { mkdir, open, readFile, rename, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Adapter } from "lowdb";
import { StoreError } from "../errors.js";
import { parsePeerJsonInSlices } from "../messages/json-slices.js";

/** Returns a description of what is wrong with `data`, or undefined when it is valid. */
export type SchemaCheck = (data: unknown) => string | undefined;

/**
 * True for names this module gives its temp files: never data, safe to delete
 * when no writer holds the store lock.
 * @example isTempFile(".b.json.123.ab12.tmp") // true
 */
export function isTempFile(name: string): boolean {
  return name.startsWith(".") && name.endsWith(".tmp");
}

/**
 * fsyncs a directory so a rename or a new entry in it survives a power loss.
 * @example await fsyncDir("/var/lib/vmsh/v1")
 */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Creates `dir` and any missing parents, fsyncing each parent whose entries changed.
 * @example await ensureDir("/var/lib/vmsh/v1/namespaces/x6e73")
 */
export async function ensureDir(dir: string): Promise<void> {
  for (const parent of await makeDir(dir)) await fsyncDir(parent);
}

/** Creates `dir` and any missing parents; returns the parents that gained an entry, deepest first. */
async function makeDir(dir: string): Promise<string[]> {
  let first: string | undefined;
  try {
    first = await mkdir(dir, { recursive: true });
  } catch (err) {
    throw new StoreError("STATE_UNWRITABLE", `cannot create directory ${dir}: ${(err as Error).message}`, { path: dir, cause: err });
  }
  const parents: string[] = [];
  if (first === undefined) return parents;
  // Every directory from `first` down to `dir` is new: its parent gained an entry.
  for (let d = dir; ; d = dirname(d)) {
    parents.push(dirname(d));
    if (d === first || dirname(d) === d) break;
  }
  return parents;
}

/**
 * Replaces `file` with `text` (UTF-8) or bytes atomically and durably.
 * @example await writeFileAtomic("/s/FORMAT", '{"version":1}\n')
 */
export async function writeFileAtomic(file: string, text: string | Uint8Array): Promise<void> {
  const dir = dirname(file);
  const temp = join(dir, `.${basename(file)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  const handle = await open(temp, "wx", 0o644);
  try {
    try {
      await (typeof text === "string" ? handle.writeFile(text, "utf8") : handle.writeFile(text));
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (err) {
    await unlink(temp).catch(() => undefined);
    throw new StoreError("STATE_WRITE_FAILED", `cannot write ${file}: ${(err as Error).message}`, { path: file, cause: err });
  }
  await fsyncDir(dir);
}

/**
 * Replaces several files, each atomically and durably, with one round of waits instead of one
 * per file (docs/STATE.md §Writes: atomic and durable): missing directories are created and each
 * changed parent fsynced once; each file's text is made (`text()`) and its temp file written and
 * fsynced while the next text is being made; all are renamed over their targets, and each
 * directory that gained a rename is fsynced once. When it returns, every file is durable; a
 * crash before leaves each target either as it was or wholly replaced. On an error, temp files
 * not yet renamed are removed and the first failure (in the order given) is thrown.
 * @example await writeFilesAtomic([{ path: "/s/a.json", text: () => "{}\n" }, { path: "/s/b.json", text: () => "{}\n" }])
 */
export async function writeFilesAtomic(files: ReadonlyArray<{ path: string; text: () => string }>): Promise<void> {
  const dirs = [...new Set(files.map((f) => dirname(f.path)))];
  const parents = new Set<string>();
  await Promise.all(
    dirs.map(async (dir) => {
      for (const parent of await makeDir(dir)) parents.add(parent);
    }),
  );
  await Promise.all([...parents].map(fsyncDir));
  const temps = files.map((f) => join(dirname(f.path), `.${basename(f.path)}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`));
  const created = new Set<number>();
  const renamed = new Set<number>();
  const writeTemp = async (i: number, text: string): Promise<void> => {
    const handle = await open(temps[i]!, "wx", 0o644);
    created.add(i);
    try {
      await handle.writeFile(text, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
  };
  let at = 0;
  try {
    // Each outcome is caught where it is made, so no rejection waits unhandled while the next text is made.
    const written: Array<Promise<unknown>> = [];
    for (let i = 0; i < files.length; i++) {
      let text: string;
      try {
        text = files[i]!.text();
      } catch (err) {
        written.push(Promise.resolve(err instanceof Error ? err : new Error(String(err))));
        break;
      }
      written.push(writeTemp(i, text).then(() => undefined, (err: unknown) => (err instanceof Error ? err : new Error(String(err)))));
      // Let the I/O just started move on (its open, write and fsync continue on the event loop).
      if (i < files.length - 1) await new Promise((resolve) => setImmediate(resolve));
    }
    const outcomes = await Promise.all(written);
    const failed = outcomes.findIndex((o) => o !== undefined);
    if (failed >= 0) {
      at = failed;
      throw outcomes[failed];
    }
    for (at = 0; at < files.length; at++) {
      await rename(temps[at]!, files[at]!.path);
      renamed.add(at);
    }
  } catch (err) {
    await Promise.all(temps.map((t, i) => (created.has(i) && !renamed.has(i) ? unlink(t).catch(() => undefined) : undefined)));
    const file = files[at]!.path;
    throw new StoreError("STATE_WRITE_FAILED", `cannot write ${file}: ${(err as Error).message}`, { path: file, cause: err });
  }
  await Promise.all(dirs.map(fsyncDir));
}

/**
 * Reads and validates one JSON file: `null` when it does not exist.
 * @example const data = await readJsonFile("/s/FORMAT", checkFormat)
 */
export async function readJsonFile<T>(file: string, check: SchemaCheck): Promise<T | null> {
  let text: string;
  try {
    // Decoded in one piece: readFile's own utf8 decoding joins 512 KiB chunks into a string whose
    // characters are slower to read one by one, and the parse below reads each (a batch file is ~1 MB).
    text = (await readFile(file)).toString("utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw new StoreError("STATE_UNREADABLE", `cannot read ${file}: ${(err as Error).message}`, { path: file, cause: err });
  }
  let data: unknown;
  try {
    data = await parsePeerJsonInSlices(text, { maxDepth: 64 }); // a batch file (~1 MB) in slices (lib/messages/json-slices.ts)
  } catch (err) {
    throw new StoreError("STATE_CORRUPT", `${file} is not valid JSON (${(err as Error).message}); it was left untouched`, { path: file, cause: err });
  }
  const problem = check(data);
  if (problem !== undefined) {
    throw new StoreError("STATE_CORRUPT", `${file} fails its schema check: ${problem}; it was left untouched`, { path: file });
  }
  return data as T;
}

/**
 * lowdb `Adapter` over one JSON file with atomic, fsynced writes and schema-checked reads.
 * @example
 * const db = new Low(new AtomicJsonFile<Doc>(path, checkDoc), null);
 * await db.read();
 */
export class AtomicJsonFile<T> implements Adapter<T> {
  readonly path: string;
  readonly #check: SchemaCheck;
  readonly #readOnly: boolean;

  constructor(path: string, check: SchemaCheck, options: { readOnly?: boolean } = {}) {
    this.path = path;
    this.#check = check;
    this.#readOnly = options.readOnly ?? false;
  }

  read(): Promise<T | null> {
    return readJsonFile<T>(this.path, this.#check);
  }

  async write(data: T): Promise<void> {
    if (this.#readOnly) throw new StoreError("STATE_READ_ONLY", `store opened read-only; refusing to write ${this.path}`, { path: this.path });
    // Refuse to persist what could not be read back: a bug here must not create a corrupt file.
    const problem = this.#check(data);
    if (problem !== undefined) throw new StoreError("STATE_INVALID_WRITE", `refusing to write ${this.path}: ${problem}`, { path: this.path });
    await ensureDir(dirname(this.path));
    await writeFileAtomic(this.path, `${JSON.stringify(data)}\n`);
  }
}
