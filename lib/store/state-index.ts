/**
 * The in-memory index of a state directory, kept in step with the files: built
 * by a scan at open, caught up per namespace when its meta.json change counter
 * moved (another process wrote), and extended by this process's own commits.
 * It holds per batch a summary and per receipt a `(ts, id, batch)` key; bodies
 * stay in the files. A namespace whose manifest matches its files (manifest.ts) is
 * opened from the manifest, and its receipt keys are read on demand.
 */
import { dirname, join } from "node:path";
import { Low } from "lowdb";
import { StoreError } from "../errors.js";
import { AtomicJsonFile, readJsonFile, writeFilesAtomic } from "./atomic-file.js";
import type { BatchCache } from "./batch-cache.js";
import { receiptIdsOf } from "./file-receipts.js";
import { IdFilter, readIdFilter, versionsDigest, writeIdFilter } from "./id-filter.js";
import { batchPath, encodeName, FORMAT_BY_ORIGIN, FORMAT_VERSION, idFilterPath, isFiledAt, namespaceDir, namespaceManifestPath, namespaceMetaPath, type Layout } from "./layout.js";
import { upgradeFormat } from "./format.js";
import { checkManifest, writeManifest } from "./manifest.js";
import { NamespaceState, witnessedOf, type AttributionRule, type BatchEntry } from "./namespace-state.js";
import type { IndexedReceipt } from "./receipt-index.js";
import { fileIdentity, listDir, listDirNow, listNamespace } from "./scan.js";
import * as schema from "./schema.js";
import type { BatchFileRead, ReceiptsAddedListener } from "./types.js";
import { withDigest } from "../conflict/record.js";
import { receiptCountOf } from "./file-receipts.js";

/** How each namespace was indexed at open: from its manifest, or by reading its files (and why). */
export type OpenSource = { source: "manifest" } | { source: "files"; reason: string };

/** A manifest is rewritten by the commit that makes this many since the last one (docs/STATE.md §Manifest). */
export const MANIFEST_EVERY_COMMITS = 64;

/** Index of every namespace under one state directory. */
export class StateIndex {
  readonly byName = new Map<string, NamespaceState>();
  readonly listeners = new Set<ReceiptsAddedListener>();
  /** Per namespace, where its index came from at open. */
  readonly opened = new Map<string, OpenSource>();
  readonly #paths: Layout;
  readonly #cache: BatchCache;
  readonly #lazy: boolean;
  /** Hears every batch file the index parses (docs/STATE.md §Start-up pass), until it returns false. */
  #onRead: ((read: BatchFileRead) => boolean) | undefined;

  /** `lazy`: leave the receipt keys of manifest-opened namespaces unread until asked for. */
  constructor(paths: Layout, cache: BatchCache, lazy = false, onRead?: (read: BatchFileRead) => boolean) {
    this.#paths = paths;
    this.#cache = cache;
    this.#lazy = lazy;
    this.#onRead = onRead;
  }

  /** Hands what `onRead` wants of a file the index just parsed, at the identity it recorded. */
  #heard(file: schema.BatchFile, fileIdentity: string): void {
    if (this.#onRead === undefined) return;
    const { namespace, batchId, batchRoot, createdAt, checkpoint, cosignatures, shapes } = file;
    const more = this.#onRead({ namespace, batchId, batchRoot, createdAt, fileIdentity, anchors: file.anchors.map((a) => withDigest(a)), receiptCount: receiptCountOf(file), ...(checkpoint === undefined ? {} : { checkpoint }), ...(cosignatures === undefined ? {} : { cosignatures }), ...(shapes === undefined ? {} : { shapes }) });
    // Done listening (the start-up work is over): later re-reads of changed files build nothing for it.
    if (!more) this.#onRead = undefined;
  }

  /** Indexes every namespace; returns the leftover temp files found anywhere. */
  async scanAll(): Promise<string[]> {
    const temp: string[] = [];
    for (const dir of [this.#paths.root, this.#paths.data, this.#paths.docs]) temp.push(...(await listDir(dir, "json")).temp);
    const namespaces = await listDir(this.#paths.namespaces, "dir");
    temp.push(...namespaces.temp);
    for (const encoded of namespaces.names) temp.push(...(await this.#openNamespace(encoded)));
    return temp;
  }

  /**
   * Opens one namespace from its manifest when the manifest matches the change counter and
   * every batch file's identity; otherwise reads the files and marks the manifest stale.
   */
  async #openNamespace(encoded: string): Promise<string[]> {
    const dir = join(this.#paths.namespaces, encoded);
    const metaPath = join(dir, "meta.json");
    const meta = await readJsonFile<schema.NamespaceMetaFile>(metaPath, schema.checkNamespaceMeta);
    if (meta !== null && encodeName(meta.namespace) !== encoded) {
      throw new StoreError("STATE_CORRUPT", `${metaPath} names namespace ${JSON.stringify(meta.namespace)}, which is not filed here`, { path: metaPath });
    }
    const check = await checkManifest(this.#paths, dir, meta?.namespace, meta?.rev);
    if (check.ok) {
      const state = this.state(check.manifest.namespace);
      for (const [path, summary] of check.entries) state.addSummary(path, summary);
      state.rev = check.manifest.rev;
      state.receiptsLoaded = false;
      state.manifestReceipts = check.manifest.receipts;
      this.opened.set(state.namespace, { source: "manifest" });
      if (!this.#lazy) await this.loadReceipts(state);
      // Temp files of meta.json or manifest writes live beside them; any inside batches/ made the check fail.
      return listDirNow(dir, "json", ["batches"]).temp;
    }
    const temp = await this.#scanNamespace(encoded);
    const namespace = meta?.namespace ?? [...this.byName.values()].find((s) => encodeName(s.namespace) === encoded)?.namespace;
    if (namespace !== undefined) {
      const state = this.state(namespace);
      state.manifestStale = true;
      state.openedStale = true;
      this.opened.set(namespace, { source: "files", reason: check.reason });
    }
    return temp;
  }

  /**
   * Reads the receipt keys of a namespace opened from its manifest, batch by batch in
   * createdAt order (so the sorted index mostly grows at its end), into a new index that
   * replaces the empty one only when complete: on an error the namespace stays unloaded.
   * Concurrent callers share one load.
   */
  loadReceipts(state: NamespaceState): Promise<void> {
    if (state.receiptsLoaded) return Promise.resolve();
    state.loading ??= this.#load(state).finally(() => (state.loading = undefined));
    return state.loading;
  }

  async #load(state: NamespaceState): Promise<void> {
    const entries = [...state.batchesByPath.values()].sort((a, b) => a.createdAt - b.createdAt || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const index = state.emptyReceiptIndex();
    for (const entry of entries) {
      const file = await readJsonFile<schema.BatchFile>(entry.path, schema.checkBatchFile);
      if (file === null) throw new StoreError("STATE_CORRUPT", `${entry.path} is listed by the manifest and was on disk at open, but is gone`, { path: entry.path });
      if (!isFiledAt(this.#paths, file, entry.path)) {
        throw new StoreError("STATE_CORRUPT", `${entry.path} holds batch ${JSON.stringify(file.batchId)} of namespace ${JSON.stringify(file.namespace)}, which is not filed under this name`, { path: entry.path });
      }
      // A file another process changed since the open keeps its old identity here, so the next sync re-reads it.
      entry.witnessed = witnessedOf(file);
      this.#heard(file, entry.identity);
      index.insert(receiptIdsOf(file).map((id) => ({ ts: file.createdAt, id, batch: entry })));
    }
    state.receipts = index;
    state.receiptsLoaded = true;
    // Attribution weighs marks read with the receipts: copies compared mid-load are weighed again.
    state.setAttribution(state.attribution);
    this.#emit(state.namespace, index.keys());
  }

  /**
   * Writes the manifest of every namespace this process committed to since its manifest was
   * last written (under the lock). A process that wrote nothing never writes one.
   * @example await gate.run(() => index.saveManifests())
   */
  async saveManifests(): Promise<void> {
    for (const state of [...this.byName.values()]) {
      if (state.commitsSinceManifest === 0) continue;
      await this.#writeManifest(await this.sync(state.namespace));
    }
  }

  /** True when this process committed something its namespace's manifest does not show yet. */
  get manifestsOwed(): boolean {
    for (const s of this.byName.values()) if (s.commitsSinceManifest > 0) return true;
    return false;
  }

  async #writeManifest(state: NamespaceState): Promise<void> {
    await upgradeFormat(this.#paths, FORMAT_BY_ORIGIN);
    await writeManifest(namespaceManifestPath(this.#paths, state.namespace), state, namespaceDir(this.#paths, state.namespace));
    await this.#writeIdFilter(state);
    state.manifestStale = false;
    state.openedStale = false;
    state.commitsSinceManifest = 0;
  }

  /**
   * Writes the id filter with the manifest (docs/STATE.md §Id filter): rebuilt from the keys when
   * they are in memory and the file does not already hold these versions; otherwise it stays as
   * it is (complete for other versions, so unused until a command with the keys rewrites it).
   */
  async #writeIdFilter(state: NamespaceState): Promise<void> {
    const versions = versionsDigest(state.batchesByPath.values());
    if (state.idFilter?.versions === versions || !state.receiptsLoaded) return;
    const filter = IdFilter.sizedFor(state.receipts.size);
    for (const k of state.receipts.keys()) filter.add(k.id);
    await writeIdFilter(idFilterPath(this.#paths, state.namespace), filter, state.namespace, versions);
    state.idFilter = filter;
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
    // Another process changed files of a namespace opened from its manifest: load its keys first.
    if (state !== undefined && !state.receiptsLoaded) await this.loadReceipts(state);
    for (const { path, identity, dirIdentity } of listing.batchFiles) {
      if (state?.batchesByPath.get(path)?.identity === identity) continue;
      const file = await readJsonFile<schema.BatchFile>(path, schema.checkBatchFile);
      if (file === null) continue;
      if (!isFiledAt(this.#paths, file, path)) {
        throw new StoreError("STATE_CORRUPT", `${path} holds batch ${JSON.stringify(file.batchId)} of namespace ${JSON.stringify(file.namespace)}, which is not filed under this name`, { path });
      }
      state ??= this.state(file.namespace);
      this.#cache.delete(path);
      this.#emit(file.namespace, state.apply(path, identity, file, dirIdentity));
      this.#heard(file, identity);
    }
    if (state !== undefined) state.rev = meta?.rev ?? 0;
    return listing.temp;
  }

  /** Each namespace's attribution rule (docs/FEDERATION_SEMANTICS.md §8. Quorum): the store's owner sets it. */
  attributionFor: (namespace: string) => AttributionRule | undefined = () => undefined;

  /** Takes a new attribution rule for every namespace and re-chooses the served copies it changes. */
  setAttribution(rules: (namespace: string) => AttributionRule | undefined): void {
    this.attributionFor = rules;
    for (const state of this.byName.values()) this.#emit(state.namespace, state.setAttribution(rules(state.namespace)));
  }

  /** The namespace's state, created empty if unknown. */
  state(namespace: string): NamespaceState {
    let state = this.byName.get(namespace);
    if (state === undefined) {
      state = new NamespaceState(namespace);
      state.attribution = this.attributionFor(namespace);
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
   * Under the lock, after `sync`, for a namespace whose receipt keys are not loaded: whether
   * `newIds` (ids a write adds to one version) are certainly new to the namespace by its id
   * filter, so the write can count them without the keys (docs/STATE.md §Id filter). When not,
   * the keys are loaded here and the write goes the usual way.
   */
  async admitWithoutKeys(state: NamespaceState, newIds: readonly string[]): Promise<boolean> {
    if (state.receiptsLoaded) return false;
    const versions = versionsDigest(state.batchesByPath.values());
    let filter = state.idFilter?.versions === versions ? state.idFilter : undefined;
    filter ??= await readIdFilter(idFilterPath(this.#paths, state.namespace), state.namespace, versions);
    if (filter !== undefined && filter.hasRoomFor(newIds.length) && !newIds.some((id) => filter.mayHave(id))) {
      state.idFilter = filter;
      return true;
    }
    await this.loadReceipts(state);
    return false;
  }

  /**
   * Under the lock, after `sync`: writes the batch files (each atomically), then bumps the
   * namespace's change counter so other processes notice, then indexes the files.
   */
  async commit(state: NamespaceState, files: readonly schema.BatchFile[], paths: readonly string[], newIds?: ReadonlyArray<readonly string[]>): Promise<void> {
    // A file named after its origin is unknown to a build before format 3 (docs/STATE.md §Format version).
    if (paths.some((p, i) => p !== batchPath(this.#paths, files[i]!.namespace, files[i]!.batchId, files[i]!.batchRoot))) await upgradeFormat(this.#paths, FORMAT_BY_ORIGIN);
    // A version kept as its leaves reads as a version without receipts to a build before format 4 (docs/STATE.md §Leaves form).
    if (files.some((f) => f.leaves !== undefined)) await upgradeFormat(this.#paths, FORMAT_VERSION);
    // Refuse to persist what could not be read back: a bug here must not create a corrupt file.
    for (let i = 0; i < files.length; i++) {
      const problem = schema.checkBatchFile(files[i]);
      if (problem !== undefined) throw new StoreError("STATE_INVALID_WRITE", `refusing to write ${paths[i]!}: ${problem}`, { path: paths[i]! });
    }
    // Every batch file of the transaction in one round of fsyncs, all durable before the change counter moves.
    await writeFilesAtomic(files.map((file, i) => ({ path: paths[i]!, text: () => `${JSON.stringify(file)}\n` })));
    const metaDb = new Low<schema.NamespaceMetaFile | null>(new AtomicJsonFile(namespaceMetaPath(this.#paths, state.namespace), schema.checkNamespaceMeta), null);
    await metaDb.read();
    const rev = (metaDb.data?.rev ?? 0) + 1;
    metaDb.data = { kind: "namespace", namespace: state.namespace, rev };
    await metaDb.write();
    state.rev = rev;
    for (let i = 0; i < files.length; i++) {
      const identity = (await fileIdentity(paths[i]!)) ?? "";
      // Under the lock no other store writer can change the directory between the rename and this stat.
      const dirIdentity = (await fileIdentity(dirname(paths[i]!))) ?? "";
      this.#cache.set(paths[i]!, files[i]!);
      this.#emit(state.namespace, state.apply(paths[i]!, identity, files[i]!, dirIdentity, newIds?.[i]?.length));
    }
    if (newIds !== undefined && !state.receiptsLoaded && state.idFilter !== undefined) {
      // Written at the new change counter, so the next command storing one batch needs no keys either.
      for (const ids of newIds) for (const id of ids) state.idFilter.add(id);
      await writeIdFilter(idFilterPath(this.#paths, state.namespace), state.idFilter, state.namespace, versionsDigest(state.batchesByPath.values()));
    }
    state.manifestStale = true;
    // Amortised: a long-running writer (serve) keeps the manifest near current without paying for it on
    // every write; the first commit after an open that found the manifest stale rewrites it at once.
    if (++state.commitsSinceManifest >= MANIFEST_EVERY_COMMITS || state.commitsSinceManifest === 1 && state.openedStale) await this.#writeManifest(state);
  }
}
