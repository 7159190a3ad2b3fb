/**
 * `checkIntegrity`: reads every file of a state directory and validates it
 * without opening a store, taking the lock or changing anything, and reports
 * each problem with its path. Used by tests after crashes and by `status`.
 */
import { join } from "node:path";
import { StoreError } from "../errors.js";
import { readJsonFile, type SchemaCheck } from "./atomic-file.js";
import { docPath, encodeName, FORMAT_VERSION, isFiledAt, layout } from "./layout.js";
import { listDir, listNamespace } from "./scan.js";
import { receiptCountOf } from "./file-receipts.js";
import { leavesRootProblem } from "./leaves.js";
import * as schema from "./schema.js";

/** What `checkIntegrity` found. */
export interface IntegrityReport {
  /** True when `problems` is empty. */
  ok: boolean;
  /** Data files read and validated. */
  files: number;
  receipts: number;
  /** `<path>: <what is wrong>` for every bad or misplaced file. */
  problems: string[];
  /** Leftover temp files of a writer that died: not data; `openStore` removes them. */
  tempFiles: string[];
}

async function tryRead<T>(path: string, check: SchemaCheck, problems: string[]): Promise<T | null> {
  try {
    return await readJsonFile<T>(path, check);
  } catch (err) {
    problems.push(err instanceof StoreError ? err.message : `${path}: ${(err as Error).message}`);
    return null;
  }
}

/**
 * Validates every file under `stateDir`.
 * @example
 * const report = await checkIntegrity("/var/lib/vmsh-federation");
 * if (!report.ok) console.error(report.problems.join("\n"));
 */
export async function checkIntegrity(stateDir: string): Promise<IntegrityReport> {
  const paths = layout(stateDir);
  const report: IntegrityReport = { ok: true, files: 0, receipts: 0, problems: [], tempFiles: [] };
  const { problems } = report;
  const format = await tryRead<schema.FormatFile>(paths.format, schema.checkFormatFile, problems);
  const data = await listDir(paths.data, "dir");
  if (format === null && data.names.length + data.unexpected.length > 0 && !problems.some((p) => p.includes(paths.format))) {
    problems.push(`${paths.format}: missing, but ${paths.data} holds data`);
  }
  if (format !== null && format.version > FORMAT_VERSION) problems.push(`${paths.format}: format version ${format.version}, this build reads up to ${FORMAT_VERSION}`);
  for (const dir of [stateDir, paths.data]) report.tempFiles.push(...(await listDir(dir, "json")).temp);

  const docs = await listDir(paths.docs, "json");
  report.tempFiles.push(...docs.temp);
  problems.push(...docs.unexpected.map((p) => `${p}: unexpected file`));
  for (const name of docs.names) {
    const path = join(paths.docs, name);
    const doc = await tryRead<schema.DocFile>(path, schema.checkDocFile, problems);
    report.files++;
    if (doc !== null && docPath(paths, doc.name) !== path) problems.push(`${path}: holds document ${JSON.stringify(doc.name)}, filed under the wrong name`);
  }

  const namespaces = await listDir(paths.namespaces, "dir");
  report.tempFiles.push(...namespaces.temp);
  problems.push(...namespaces.unexpected.map((p) => `${p}: unexpected entry`));
  for (const encoded of namespaces.names) {
    const dir = join(paths.namespaces, encoded);
    const meta = await tryRead<schema.NamespaceMetaFile>(join(dir, "meta.json"), schema.checkNamespaceMeta, problems);
    if (meta !== null && encodeName(meta.namespace) !== encoded) problems.push(`${join(dir, "meta.json")}: names namespace ${JSON.stringify(meta.namespace)}, filed under the wrong name`);
    const listing = await listNamespace(dir);
    report.tempFiles.push(...listing.temp);
    problems.push(...listing.unexpected.map((p) => `${p}: unexpected entry`));
    const versions = new Map<string, string>();
    for (const { path } of listing.batchFiles) {
      report.files++;
      const batch = await tryRead<schema.BatchFile>(path, schema.checkBatchFile, problems);
      if (batch === null) continue;
      report.receipts += receiptCountOf(batch);
      // A version kept as its leaves must rebuild to its root (docs/STATE.md §Leaves form).
      if (batch.leaves !== undefined) {
        const problem = leavesRootProblem(batch.leaves, batch.checkpoint!);
        if (problem !== undefined) problems.push(`${path}: ${problem}`);
      }
      if (!isFiledAt(paths, batch, path)) problems.push(`${path}: holds batch ${JSON.stringify(batch.batchId)}, filed under the wrong name`);
      // One file per (origin, batchId, batchRoot): a legacy-named file and an origin-named one of the same version is one too many.
      const version = `${batch.batchId}\u0000${batch.batchRoot}\u0000${batch.checkpoint?.origin ?? ""}`;
      const twin = versions.get(version);
      if (twin !== undefined) problems.push(`${path}: holds the same batch version as ${twin}`);
      versions.set(version, path);
      if (new Set(batch.receipts.map((r) => r.id)).size !== batch.receipts.length) problems.push(`${path}: a receipt id appears twice`);
    }
  }
  report.ok = problems.length === 0;
  return report;
}
