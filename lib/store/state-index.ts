/**
 * The in-memory index of a state directory, kept in step with the files: built
 * by a scan at open, caught up per namespace when its meta.json change counter
 * moved (another process wrote), and extended by this process's own commits.
 * It holds per batch a summary and per receipt a `(ts, id, batch)` key; bodies
 * stay in the files.
 */
import { join } from "node:path";
import { Low } from "lowdb";
import { StoreError } from "../errors.js";
import { AtomicJsonFile, readJsonFile } from "./atomic-file.js";
import type { BatchCache } from "./batch-cache.js";
import { batchPath, encodeName, namespaceMetaPath, type Layout } from "./layout.js";
import { NamespaceState, type BatchEntry } from "./namespace-state.js";
import type { IndexedReceipt } from "./receipt-index.js";
import { fileIdentity, listDir, listNamespace } from "./scan.js";
import * as schema from "./schema.js";
import type { ReceiptsAddedListener } from "./types.js";

/** Index of every namespace under one state directory. */
export class StateIndex {
  readonly byName = new Map<string, NamespaceState>();
  readonly listeners = new Set<ReceiptsAddedListener>();
  readonly #paths: Layout;
  readonly #cache: BatchCache;

  constructor(paths: Layout, cache: BatchCache) {
    this.#paths = paths;
    this.#cache = cache;
  }

  /** Indexes every namespace; returns the leftover temp files found anywhere. */
  async scanAll(): Promise<string[]> {
    const temp: string[] = [];
    for (const dir of [this.#paths.root, this.#paths.data, this.#paths.docs]) temp.push(...(await listDir(dir, "json")).temp);
    const namespaces = await listDir(this.#paths.namespaces, "dir");
    temp.push(...namespaces.temp);
    for (const encoded of namespaces.names) temp.push(...(await this.#scanNamespace(encoded)));
    return temp;
  }

  /**
   * (Re)indexes one namespace directory, reading only files whose identity changed. The
   * meta.json counter is read before the files, so a write landing during the scan shows
   * up as a newer counter next time.
   */
  async #scanNamespace(encoded: string): Promise<string[]> {
    const dir = join(this.#paths.namespaces, encoded);
    const metaPath = join(dir, "meta.json");
    const meta = await readJsonFile<schema.NamespaceMetaFile>(metaPath, schema.checkNamespaceMeta);
    if (meta !== null && encodeName(meta.namespace) !== encoded) {
      throw new StoreError("STATE_CORRUPT", `${metaPath} names namespace ${JSON.stringify(meta.namespace)}, which is not filed here`, { path: metaPath });
    }
    const listing = await listNamespace(dir);
    let state = meta === null ? undefined : this.byName.get(meta.namespace);
    for (const { path, identity } of listing.batchFiles) {
      if (state?.batchesByPath.get(path)?.identity === identity) continue;
      const file = await readJsonFile<schema.BatchFile>(path, schema.checkBatchFile);
      if (file === null) continue;
      if (batchPath(this.#paths, file.namespace, file.batchId, file.batchRoot) !== path) {
        throw new StoreError("STATE_CORRUPT", `${path} holds batch ${JSON.stringify(file.batchId)} of namespace ${JSON.stringify(file.namespace)}, which is not filed under this name`, { path });
      }
      state ??= this.state(file.namespace);
      this.#cache.delete(path);
      this.#emit(file.namespace, state.apply(path, identity, file));
    }
    if (state !== undefined) state.rev = meta?.rev ?? 0;
    return listing.temp;
  }

  /** The namespace's state, created empty if unknown. */
  state(namespace: string): NamespaceState {
    let state = this.byName.get(namespace);
    if (state === undefined) {
      state = new NamespaceState(namespace);
      this.byName.set(namespace, state);
    }
    return state;
  }

  #emit(namespace: string, added: readonly IndexedReceipt<BatchEntry>[]): void {
    if (added.length === 0) return;
    for (const listener of this.listeners) listener(namespace, added);
  }

  /** Catches up with other processes' writes to `namespace` (call under the lock before a write). */
  async sync(namespace: string): Promise<NamespaceState> {
    const meta = await readJsonFile<schema.NamespaceMetaFile>(namespaceMetaPath(this.#paths, namespace), schema.checkNamespaceMeta);
    const state = this.byName.get(namespace);
    if (state === undefined || state.rev !== (meta?.rev ?? 0)) await this.#scanNamespace(encodeName(namespace));
    return this.state(namespace);
  }

  /** Catches up with every namespace whose change counter moved (one small read per namespace). */
  async refresh(): Promise<void> {
    const dirs = await listDir(this.#paths.namespaces, "dir");
    for (const encoded of dirs.names) {
      const meta = await readJsonFile<schema.NamespaceMetaFile>(join(this.#paths.namespaces, encoded, "meta.json"), schema.checkNamespaceMeta);
      const state = meta === null ? undefined : this.byName.get(meta.namespace);
      if (state === undefined || state.rev !== meta?.rev) await this.#scanNamespace(encoded);
    }
  }

  /**
   * Under the lock, after `sync`: writes the batch files (each atomically), then bumps the
   * namespace's change counter so other processes notice, then indexes the files.
   */
  async commit(state: NamespaceState, files: readonly schema.BatchFile[]): Promise<void> {
    const paths = files.map((f) => batchPath(this.#paths, f.namespace, f.batchId, f.batchRoot));
    for (let i = 0; i < files.length; i++) {
      const db = new Low<schema.BatchFile>(new AtomicJsonFile(paths[i]!, schema.checkBatchFile), files[i]!);
      await db.write();
    }
    const metaDb = new Low<schema.NamespaceMetaFile | null>(new AtomicJsonFile(namespaceMetaPath(this.#paths, state.namespace), schema.checkNamespaceMeta), null);
    await metaDb.read();
    const rev = (metaDb.data?.rev ?? 0) + 1;
    metaDb.data = { kind: "namespace", namespace: state.namespace, rev };
    await metaDb.write();
    state.rev = rev;
    for (let i = 0; i < files.length; i++) {
      const identity = (await fileIdentity(paths[i]!)) ?? "";
      this.#cache.set(paths[i]!, files[i]!);
      this.#emit(state.namespace, state.apply(paths[i]!, identity, files[i]!));
    }
  }
}
