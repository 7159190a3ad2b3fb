/**
 * The generic document area (`v1/docs/<name>.json`): small JSON values other
 * subsystems keep, such as the daemon's per-peer outbox and last-sync times.
 * Each document is its own lowdb file; reads go to disk every time, so a value
 * another process wrote is always seen.
 */
import { isDeepStrictEqual } from "node:util";
import { Low } from "lowdb";
import { ArgumentError, StoreError } from "../errors.js";
import { AtomicJsonFile } from "./atomic-file.js";
import { docPath, type Layout } from "./layout.js";
import { checkDocFile, type DocFile } from "./schema.js";

const plain = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

async function open(paths: Layout, name: string, readOnly: boolean): Promise<Low<DocFile | null>> {
  const path = docPath(paths, name);
  const db = new Low<DocFile | null>(new AtomicJsonFile<DocFile | null>(path, checkDocFile, { readOnly }), null);
  await db.read();
  if (db.data !== null && db.data.name !== name) {
    throw new StoreError("STATE_CORRUPT", `${path} holds document ${JSON.stringify(db.data.name)}, not ${JSON.stringify(name)}`, { path });
  }
  return db;
}

/**
 * Reads a document's value; undefined when none is stored.
 * @example await readDoc(layout(dir), "last-sync")
 */
export async function readDoc<T>(paths: Layout, name: string): Promise<T | undefined> {
  const db = await open(paths, name, true);
  return db.data === null ? undefined : (db.data.value as T);
}

/**
 * Read-modify-write of a document; the caller holds the store lock. Writes nothing
 * when `fn` returns a value equal to the stored one. Returns the stored value.
 * @example await updateDocFile(layout(dir), "counter", (n?: number) => (n ?? 0) + 1)
 */
export async function updateDocFile<T>(paths: Layout, name: string, fn: (current: T | undefined) => T): Promise<T> {
  const db = await open(paths, name, false);
  const current = db.data === null ? undefined : (db.data.value as T);
  const next = fn(current === undefined ? undefined : plain(current));
  if (next === undefined) throw new ArgumentError("value", "must be a JSON value, not undefined");
  const value = plain(next);
  if (db.data === null || !isDeepStrictEqual(current, value)) {
    db.data = { kind: "doc", name, value };
    await db.write();
  }
  return value;
}
