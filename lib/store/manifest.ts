/**
 * The per-namespace manifest (docs/STATE.md §Manifest): one summary per batch file
 * (identity, createdAt, counts) and the namespace's distinct receipt count, so that
 * an open can answer `status` and list batches without parsing every batch file.
 * It is a cache, never a source of truth: it is used only when its own digest, the
 * namespace's change counter and the identity of every batch file on disk all agree
 * with it, and otherwise the files are read and a new manifest is written.
 */
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ensureDir, writeFileAtomic } from "./atomic-file.js";
import { batchPath, encodeName, type Layout } from "./layout.js";
import type { BatchEntry, NamespaceState } from "./namespace-state.js";
import { fileIdentityNow, listDirNow } from "./scan.js";

/** Manifest layout version, inside the file; an unknown one is treated as stale. */
export const MANIFEST_VERSION = 4;

/**
 * `[batchId, batchRoot, identity, dirIdentity, createdAt, receiptCount, anchorCount, verified, pending, rejected, origin, size, byOrigin, cosignatureCount]`;
 * origin and size are null for a version without a checkpoint; byOrigin is true when the file is
 * named after its origin (`<batchRoot>.<origin>.json`, docs/STATE.md §Layout).
 */
type ManifestBatch = [string, string, string, string, number, number, number, number, number, number, string | null, number | null, boolean, number];

/** `namespaces/<ns>/manifest.json`. */
export interface ManifestFile {
  kind: "manifest";
  version: number;
  namespace: string;
  /** The meta.json change counter this manifest describes. */
  rev: number;
  /** Distinct receipt ids in the namespace. */
  receipts: number;
  batches: ManifestBatch[];
  /** `sha256:<hex>` of this object's JSON without `digest`: catches a corrupted or hand-edited file. */
  digest: string;
}

const digestOf = (body: Omit<ManifestFile, "digest">): string => `sha256:${createHash("sha256").update(JSON.stringify(body)).digest("hex")}`;

/**
 * The manifest describing `state` as it is now (receipt count included, so the receipt
 * index must be loaded or still the manifest's own).
 * @example const m = manifestOf(state); m.batches.length === state.batchesByPath.size // true
 */
export function manifestOf(state: NamespaceState): ManifestFile {
  const batches: ManifestBatch[] = [...state.batchesByPath.values()]
    .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .map((e) => [e.batchId, e.batchRoot, e.identity, e.dirIdentity, e.createdAt, e.receiptCount, e.anchorCount, e.outcomes.verified, e.outcomes.pending, e.outcomes.rejected, e.origin ?? null, e.size ?? null, e.origin !== undefined && e.path.endsWith(`.${encodeName(e.origin)}.json`), e.cosignatureCount]);
  const body = { kind: "manifest" as const, version: MANIFEST_VERSION, namespace: state.namespace, rev: state.rev, receipts: state.receiptCount, batches };
  return { ...body, digest: digestOf(body) };
}

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isStr = (v: unknown): v is string => typeof v === "string" && v.length > 0;

/** Why `data` is not a well-formed manifest of `namespace`, or undefined. */
function shapeProblem(data: unknown, namespace: string | undefined): string | undefined {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return "not a JSON object";
  const m = data as Record<string, unknown>;
  if (m["kind"] !== "manifest") return `"kind" is not "manifest"`;
  if (m["version"] !== MANIFEST_VERSION) return `manifest version ${JSON.stringify(m["version"])} is not ${MANIFEST_VERSION}`;
  if (!isStr(m["namespace"]) || (namespace !== undefined && m["namespace"] !== namespace)) return `it names namespace ${JSON.stringify(m["namespace"])}`;
  if (!isCount(m["rev"]) || !isCount(m["receipts"])) return `"rev" and "receipts" must be non-negative integers`;
  if (!Array.isArray(m["batches"])) return `"batches" is not an array`;
  for (const [i, b] of (m["batches"] as unknown[]).entries()) {
    if (!Array.isArray(b) || b.length !== 14 || !isStr(b[0]) || !isStr(b[1]) || !isStr(b[2]) || !isStr(b[3]) || typeof b[4] !== "number" || !Number.isFinite(b[4]) || !b.slice(5, 10).every(isCount) || !(b[10] === null || isStr(b[10])) || !(b[11] === null || isCount(b[11])) || typeof b[12] !== "boolean" || (b[12] && b[10] === null) || !isCount(b[13])) {
      return `batches[${i}] is not [batchId, batchRoot, identity, dirIdentity, createdAt, 5 counts, origin, size, byOrigin, cosignatureCount]`;
    }
  }
  if (typeof m["digest"] !== "string") return `"digest" is missing`;
  const { digest, ...body } = m as unknown as ManifestFile;
  if (digestOf(body) !== digest) return "its digest does not match its content";
  return undefined;
}

/** A manifest that matches the files it summarises, or why it cannot be used. */
export type ManifestCheck = { ok: true; manifest: ManifestFile; entries: Map<string, Omit<BatchEntry, "path" | "namespace">> } | { ok: false; reason: string };

/**
 * Reads the manifest of the namespace directory `nsDir` and checks it against what is on disk
 * now: the change counter `rev` (meta.json), the batchId directories under `batches/` (names, and
 * identities, which change whenever an entry is created, renamed into or removed from one), and
 * every batch file's identity. One `readdir` and two `stat`s per batch, no file read. Never throws
 * on the manifest's content: any defect is a reason to read the batch files instead.
 * @example const c = await checkManifest(paths, namespaceDir(paths, "ns"), "ns", meta.rev)
 */
export async function checkManifest(paths: Layout, nsDir: string, namespace: string | undefined, rev: number | undefined): Promise<ManifestCheck> {
  let text: string;
  try {
    text = await readFile(join(nsDir, "manifest.json"), "utf8");
  } catch (err) {
    return { ok: false, reason: (err as NodeJS.ErrnoException).code === "ENOENT" ? "no manifest" : `manifest unreadable: ${(err as Error).message}` };
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: `manifest is not valid JSON (${(err as Error).message})` };
  }
  const problem = shapeProblem(data, namespace);
  if (problem !== undefined) return { ok: false, reason: `manifest rejected: ${problem}` };
  const manifest = data as ManifestFile;
  if (rev === undefined || manifest.rev !== rev) return { ok: false, reason: `manifest describes change ${manifest.rev}, meta.json is at ${rev ?? "none"}` };
  const batchesDir = join(nsDir, "batches");
  const top = listDirNow(batchesDir, "dir");
  if (top.temp.length + top.unexpected.length > 0) return { ok: false, reason: `${batchesDir} holds entries other than batch directories` };
  const dirs = new Map<string, string>();
  for (const b of manifest.batches) dirs.set(encodeName(b[0]), b[3]);
  if (top.names.length !== dirs.size || top.names.some((name) => !dirs.has(name))) return { ok: false, reason: `the batch directories on disk are not those the manifest lists` };
  for (const [name, identity] of dirs) {
    if (fileIdentityNow(join(batchesDir, name)) !== identity) return { ok: false, reason: `${join(batchesDir, name)} changed since the manifest was written` };
  }
  const entries: Map<string, Omit<BatchEntry, "path" | "namespace">> = new Map();
  for (const [batchId, batchRoot, identity, dirIdentity, createdAt, receiptCount, anchorCount, verified, pending, rejected, origin, size, byOrigin, cosignatureCount] of manifest.batches) {
    const file = batchPath(paths, manifest.namespace, batchId, batchRoot, byOrigin ? origin! : undefined);
    if (dirs.get(encodeName(batchId)) !== dirIdentity) return { ok: false, reason: `manifest gives two identities for the directory of ${file}` };
    if (entries.has(file)) return { ok: false, reason: `manifest lists ${file} twice` };
    const now = fileIdentityNow(file);
    if (now === undefined) return { ok: false, reason: `manifest lists ${file}, which is not on disk` };
    if (now !== identity) return { ok: false, reason: `${file} changed since the manifest was written` };
    entries.set(file, { batchId, batchRoot, identity, dirIdentity, createdAt, receiptCount, anchorCount, cosignatureCount, outcomes: { verified, pending, rejected }, origin: origin ?? undefined, size: size ?? undefined });
  }
  return { ok: true, manifest, entries };
}

/**
 * Writes the manifest of `state` atomically (call under the store lock, after syncing `state`).
 * @example await writeManifest(manifestPath, state)
 */
export async function writeManifest(path: string, state: NamespaceState, dir: string): Promise<void> {
  await ensureDir(dir);
  await writeFileAtomic(path, `${JSON.stringify(manifestOf(state))}\n`);
}
