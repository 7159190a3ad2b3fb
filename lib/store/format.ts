/**
 * The `stateDir/FORMAT` file (docs/STATE.md): names the on-disk layout version,
 * checked at every open so a newer layout is refused instead of misread.
 */
import { StoreError } from "../errors.js";
import { ensureDir, readJsonFile, writeFileAtomic } from "./atomic-file.js";
import { FORMAT_BY_ORIGIN, FORMAT_VERSION, type Layout } from "./layout.js";
import { listDir } from "./scan.js";
import { checkFormatFile, FORMAT_NAME, type FormatFile } from "./schema.js";
import type { WriteGate } from "./write-gate.js";

/**
 * Reads FORMAT; throws STATE_FORMAT_UNSUPPORTED naming a version newer than this build's.
 * @example await readFormat(layout(dir)) // { format: "vmsh-federation-state", version: 2 } or null
 */
export async function readFormat(paths: Layout): Promise<FormatFile | null> {
  const file = await readJsonFile<FormatFile>(paths.format, checkFormatFile);
  if (file !== null && file.version > FORMAT_VERSION) {
    throw new StoreError("STATE_FORMAT_UNSUPPORTED", `${paths.format} says format version ${file.version}; this build reads version ${FORMAT_VERSION}: upgrade vmsh-federation to open it`, { path: paths.format });
  }
  return file;
}

/**
 * Checks FORMAT at open and, for a new state directory (unless read-only), creates it under the lock.
 * Data without a FORMAT file is STATE_CORRUPT: it is never taken for a new, empty store.
 * @example await ensureFormat(layout(dir), gate, false)
 */
export async function ensureFormat(paths: Layout, gate: WriteGate, readOnly: boolean): Promise<void> {
  if ((await readFormat(paths)) !== null) return;
  const data = await listDir(paths.data, "dir");
  if (data.names.length + data.unexpected.length > 0) {
    throw new StoreError("STATE_CORRUPT", `${paths.format} is missing but ${paths.data} holds data; restore FORMAT or move the data away`, { path: paths.format });
  }
  if (readOnly) return;
  await ensureDir(paths.root);
  await gate.run(async () => {
    if ((await readFormat(paths)) !== null) return;
    // Version 4 is written with the first version kept as its leaves (docs/STATE.md §Format version).
    const file: FormatFile = { format: FORMAT_NAME, version: FORMAT_BY_ORIGIN };
    await writeFileAtomic(paths.format, `${JSON.stringify(file)}\n`);
  });
}

/**
 * Rewrites an older FORMAT to version `to` (default this build's); call under the lock, just before
 * the first file that needs it is written (docs/STATE.md §Format version: version 1 is the same tree
 * without manifests, so it opens as it is, and a build that would not read what is written then refuses it).
 * @example await upgradeFormat(layout(dir), FORMAT_BY_ORIGIN)
 */
export async function upgradeFormat(paths: Layout, to: number = FORMAT_VERSION): Promise<void> {
  const found = await readFormat(paths);
  if (found === null || found.version >= to) return;
  const file: FormatFile = { format: FORMAT_NAME, version: to };
  await writeFileAtomic(paths.format, `${JSON.stringify(file)}\n`);
}
