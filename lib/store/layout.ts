/**
 * Where each piece of state lives under `stateDir` (docs/STATE.md). Namespaces,
 * batch ids and roots come from peers, so they never become path components as
 * they are: each is encoded into a lowercase file name that cannot traverse,
 * cannot collide by case, and stays under 200 bytes. The original string is
 * always stored inside the file too, and checked on read.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";

/** Names up to this many UTF-8 bytes are hex-encoded (reversible); longer ones are hashed. */
const MAX_HEX_BYTES = 96;

/**
 * Current `FORMAT` version. 2 = the v1 tree plus one `manifest.json` per namespace
 * (docs/STATE.md §Manifest); 3 = batch versions of an origin filed as `<batchRoot>.<origin>.json`
 * (docs/STATE.md §Layout); 4 = batch files that hold a version as its leaves
 * (docs/STATE.md §Leaves form). Version 1, 2 and 3 state opens; a write raises it only as far as
 * what it writes needs.
 */
export const FORMAT_VERSION = 4;

/** The `FORMAT` version a directory needs once it holds manifests or origin-named batch files (docs/STATE.md §Format version). */
export const FORMAT_BY_ORIGIN = 3;

/** The data tree's directory name under `stateDir`: unchanged since format 1. */
const DATA_DIR = "v1";

/**
 * Encodes a peer-supplied name as a safe file name: `x` + hex of its UTF-8 bytes,
 * or `h` + SHA-256 hex when longer than 96 bytes.
 * @example encodeName("../etc") // "x2e2e2f657463"
 */
export function encodeName(name: string): string {
  const bytes = Buffer.from(name, "utf8");
  if (bytes.length <= MAX_HEX_BYTES) return `x${bytes.toString("hex")}`;
  return `h${createHash("sha256").update(bytes).digest("hex")}`;
}

/**
 * True for a file name `encodeName` can produce; anything else in the tree is not data.
 * @example isEncodedName("x6e73") // true
 */
export function isEncodedName(file: string): boolean {
  return /^x(?:[0-9a-f]{2}){0,96}$/.test(file) || /^h[0-9a-f]{64}$/.test(file);
}

/** Paths of the state tree rooted at one `stateDir`. */
export interface Layout {
  root: string;
  format: string;
  lock: string;
  data: string;
  namespaces: string;
  docs: string;
}

/**
 * The fixed paths under `stateDir`.
 * @example layout("/var/lib/vmsh").format // "/var/lib/vmsh/FORMAT"
 */
export function layout(stateDir: string): Layout {
  const data = join(stateDir, DATA_DIR);
  return {
    root: stateDir,
    format: join(stateDir, "FORMAT"),
    lock: join(stateDir, "LOCK"),
    data,
    namespaces: join(data, "namespaces"),
    docs: join(data, "docs"),
  };
}

/**
 * Directory of one namespace.
 * @example namespaceDir(layout("/s"), "ns") // "/s/v1/namespaces/x6e73"
 */
export function namespaceDir(paths: Layout, namespace: string): string {
  return join(paths.namespaces, encodeName(namespace));
}

/**
 * The namespace's small metadata file holding its change counter.
 * @example namespaceMetaPath(layout("/s"), "ns") // "/s/v1/namespaces/x6e73/meta.json"
 */
export function namespaceMetaPath(paths: Layout, namespace: string): string {
  return join(namespaceDir(paths, namespace), "meta.json");
}

/**
 * The namespace's manifest: batch summaries and file identities, so that an open need not parse every batch file.
 * @example namespaceManifestPath(layout("/s"), "ns") // "/s/v1/namespaces/x6e73/manifest.json"
 */
export function namespaceManifestPath(paths: Layout, namespace: string): string {
  return join(namespaceDir(paths, namespace), "manifest.json");
}

/**
 * `namespaces/<ns>/ids.json`: the namespace's receipt-id filter (docs/STATE.md §Id filter).
 * @example idFilterPath(layout("/s"), "ns") // "/s/v1/namespaces/x6e73/ids.json"
 */
export function idFilterPath(paths: Layout, namespace: string): string {
  return join(namespaceDir(paths, namespace), "ids.json");
}

/**
 * The file of one batch version: one directory per batchId, one file per batchRoot and origin,
 * so neither an equivocating second root nor another origin's checkpoint of the same root
 * ever overwrites the first (docs/STATE.md §Layout). Without `origin`, the file of a version
 * stored without a checkpoint (0.1.0), `<batchRoot>.json`; such a file keeps its name when
 * it later gains a checkpoint.
 * @example batchPath(layout("/s"), "ns", "b1", "sha256:00", "did:vm:a") // "/s/v1/namespaces/x6e73/batches/x6231/x….x….json"
 */
export function batchPath(paths: Layout, namespace: string, batchId: string, batchRoot: string, origin?: string): string {
  const name = origin === undefined ? encodeName(batchRoot) : `${encodeName(batchRoot)}.${encodeName(origin)}`;
  return join(namespaceDir(paths, namespace), "batches", encodeName(batchId), `${name}.json`);
}

/**
 * True when a batch file holding `file` may sit at `path`: its own origin's name, or the
 * name of a version stored before it had a checkpoint (docs/STATE.md §Layout).
 * @example isFiledAt(layout("/s"), file, path)
 */
export function isFiledAt(paths: Layout, file: { namespace: string; batchId: string; batchRoot: string; checkpoint?: { origin: string } }, path: string): boolean {
  if (path === batchPath(paths, file.namespace, file.batchId, file.batchRoot)) return true;
  return file.checkpoint !== undefined && path === batchPath(paths, file.namespace, file.batchId, file.batchRoot, file.checkpoint.origin);
}

/**
 * True for a batch file name: `<encoded root>.json` or `<encoded root>.<encoded origin>.json`.
 * @example isBatchFileName("x00.x6161.json") // true
 */
export function isBatchFileName(file: string): boolean {
  if (!file.endsWith(".json")) return false;
  const parts = file.slice(0, -5).split(".");
  return parts.length <= 2 && parts.every(isEncodedName);
}

/**
 * The file of one generic document (daemon outbox, last-sync times…).
 * @example docPath(layout("/s"), "outbox") // "/s/v1/docs/x6f7574626f78.json"
 */
export function docPath(paths: Layout, name: string): string {
  return join(paths.docs, `${encodeName(name)}.json`);
}
