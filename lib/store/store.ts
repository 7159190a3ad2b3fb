/**
 * The node's state store (docs/STATE.md): one lowdb JSON file per batch version
 * (namespace, origin, batchId, batchRoot) under
 * `stateDir/v1/namespaces/<ns>/batches/<batchId>/<batchRoot>.<origin>.json`,
 * a small meta.json per namespace carrying a change counter, one file per generic
 * document. An index of receipt keys is built at open; receipt bodies are read
 * from their batch file on demand. Writes run under the inter-process lock and
 * re-read what they modify, so a daemon and a CLI command never lose each other's updates.
 */
import { unlink } from "node:fs/promises";
import { isDeepStrictEqual } from "node:util";
import { resolve } from "node:path";
import { ArgumentError, StoreError } from "../errors.js";
import type { Checkpoint } from "../messages/checkpoint.js";
import type { Cosignature } from "../messages/cosignature.js";
import { mergeCosignatures } from "../quorum/merge.js";
import { MAX_SHAPES_PER_VERSION, primaryShape } from "../quorum/shape.js";
import type { Receipt } from "../receipt.js";
import { readJsonFile } from "./atomic-file.js";
import { BatchCache, type CachedBatch } from "./batch-cache.js";
import { jsonCopy } from "./json-copy.js";
import { receiptIdsOf, receiptsOf } from "./file-receipts.js";
import { leavesRootProblem } from "./leaves.js";
import { readDoc, updateDocFile } from "./doc-area.js";
import { ensureFormat } from "./format.js";
import { batchPath, layout, type Layout } from "./layout.js";
import { withDigest } from "../conflict/record.js";
import { mergeAnchors, mergeBatch } from "./merge.js";
import { loadBatch, readReceipts } from "./receipt-reader.js";
import type { AttributionRule, BatchEntry } from "./namespace-state.js";
import type { IndexedReceipt } from "./receipt-index.js";
import * as schema from "./schema.js";
import { StateIndex, type OpenSource } from "./state-index.js";
import type { AnchorRecord, BatchFileRead, BatchInput, BatchSummary, PutResult, ReceiptKey, ReceiptsAddedListener, StoreCounts, StoredBatch } from "./types.js";
import { WriteGate } from "./write-gate.js";

/** Options of `openStore`. */
export interface OpenStoreOptions {
  /** Never create, lock, clean or write anything; writes throw STATE_READ_ONLY. */
  readOnly?: boolean;
  /** How long a write waits for another process's lock before STATE_LOCKED (default 30 s). */
  lockTimeoutMs?: number;
  /** Parsed batch files kept in memory for receipt bodies (default 16). */
  cachedBatches?: number;
  /**
   * `"eager"` (default): every namespace's receipt keys are in memory once open. `"lazy"`: a
   * namespace opened from a matching manifest keeps only its batch summaries until its receipts
   * are needed (docs/STATE.md §Manifest): `counts`, `listBatches`, `getBatch` and anchor writes
   * answer at once; `receiptKeys` and `receiptPosition` need `loadReceiptIndex` first; the async
   * receipt reads and `putBatch` load the keys themselves.
   */
  receiptIndex?: "eager" | "lazy";
  /**
   * Hears, for every batch file the index parses (at open, and when it re-reads a file another
   * process changed), the parts other start-up work needs, so that work does not read every
   * file again (docs/STATE.md §Start-up pass). Called synchronously; it must not throw. It
   * returns false once it wants no more: the index then stops gathering the parts for it.
   */
  onBatchFileRead?: (read: BatchFileRead) => boolean;
}

/**
 * One origin that signed checkpoints of several roots for one namespace + batchId
 * (docs/FEDERATION_SEMANTICS.md §Equivocation); the signed checkpoints are in the versions' files.
 */
export interface Equivocation {
  namespace: string;
  batchId: string;
  origin: string;
  batchRoots: string[];
}

/** What the store takes from a caller is copied as JSON would copy it (lib/store/json-copy.ts). */
const plain = jsonCopy;

/** The state store of one node. Obtain it with `openStore`. */
export class Store {
  readonly stateDir: string;
  readonly readOnly: boolean;
  readonly #paths: Layout;
  readonly #gate: WriteGate;
  readonly #cache: BatchCache;
  readonly #index: StateIndex;
  #closed = false;

  /** Use `openStore`. */
  constructor(stateDir: string, options: OpenStoreOptions) {
    this.stateDir = stateDir;
    this.readOnly = options.readOnly ?? false;
    this.#paths = layout(stateDir);
    this.#gate = new WriteGate(this.#paths.lock, options.lockTimeoutMs ?? 30_000);
    this.#cache = new BatchCache(options.cachedBatches ?? 16);
    this.#index = new StateIndex(this.#paths, this.#cache, options.receiptIndex === "lazy", options.onBatchFileRead);
  }

  /** Called by `openStore`: checks FORMAT (creating it in a new directory), builds the index, removes a dead writer's temp files. */
  async init(): Promise<void> {
    await ensureFormat(this.#paths, this.#gate, this.readOnly);
    const temp = await this.#index.scanAll();
    if (!this.readOnly && temp.length > 0) {
      // Every writer holds the lock while its temp file exists, so under the lock all of them are orphans.
      await this.#gate.run(async () => {
        for (const path of temp) await unlink(path).catch(() => undefined);
      });
    }
  }

  /**
   * Per namespace, whether this open used its manifest or read its batch files, and why
   * (docs/STATE.md §Manifest).
   * @example store.openedFrom().get("ns") // { source: "files", reason: "no manifest" }
   */
  openedFrom(): ReadonlyMap<string, OpenSource> {
    return this.#index.opened;
  }

  /**
   * Reads the receipt keys of namespaces opened lazily from their manifest (all namespaces, or one).
   * @example await store.loadReceiptIndex("ns"); store.receiptKeys("ns").length
   */
  async loadReceiptIndex(namespace?: string): Promise<void> {
    this.#assertOpen();
    for (const state of this.#index.byName.values()) if (namespace === undefined || state.namespace === namespace) await this.#index.loadReceipts(state);
  }

  /** The namespace's receipt index; a lazily opened one must have been loaded. */
  #receipts(namespace: string) {
    const state = this.#index.byName.get(namespace);
    if (state !== undefined && !state.receiptsLoaded) {
      throw new StoreError("STATE_INDEX_NOT_LOADED", `the receipt keys of namespace ${JSON.stringify(namespace)} are not loaded (store opened with receiptIndex "lazy"): await store.loadReceiptIndex() first`);
    }
    return state?.receipts;
  }

  async #loadedReceipts(namespace: string) {
    const state = this.#index.byName.get(namespace);
    if (state !== undefined) await this.#index.loadReceipts(state);
    return state?.receipts;
  }

  #assertOpen(): void {
    if (this.#closed) throw new StoreError("STATE_CLOSED", `store ${this.stateDir} is closed`);
  }

  #write<T>(fn: () => Promise<T>): Promise<T> {
    this.#assertOpen();
    if (this.readOnly) return Promise.reject(new StoreError("STATE_READ_ONLY", `store ${this.stateDir} was opened read-only`));
    return this.#gate.run(fn);
  }

  /**
   * Stores a batch version (namespace + origin of its checkpoint + batchId + batchRoot) with its
   * receipts and anchors. Idempotent: receipts already stored are kept as they are, anchor records
   * are keyed by their claim digest (a differing claim is a new record,
   * docs/STATE.md §Anchor claims), and if nothing changed no file is written. A second batchRoot for the same batchId,
   * or another origin's checkpoint of the same root, is stored beside the first (docs/STATE.md
   * §Layout). A version stored without a checkpoint (0.1.0) gains the first one with its sealing
   * time, in place.
   * @example
   * const r = await store.putBatch({ namespace: "ns", batchId: "b1", batchRoot, createdAt, receipts, anchors: [] });
   * r.written // false when re-putting the same data
   */
  async putBatch(batch: BatchInput): Promise<PutResult> {
    const [r] = await this.putBatches([batch]);
    if ("error" in r!) throw r.error;
    return r!;
  }

  /**
   * `putBatch` for several batch versions in one write transaction: one lock, each changed batch
   * file written atomically, then one change-counter bump per namespace (docs/STATE.md §Writes: atomic and durable).
   * Each input is merged and checked on its own: one refused (an `error` in its place) does not
   * stop the others. An importer of a whole Bundle writes it with one call (lib/pipeline/bundle.ts).
   * @example const [a, b] = await store.putBatches([batch1, batch2])
   */
  async putBatches(batches: readonly BatchInput[]): Promise<Array<PutResult | { error: Error }>> {
    const inputs = batches.map((batch): BatchInput | Error => {
      if (typeof batch !== "object" || batch === null) return new ArgumentError("batch", "must be an object");
      const input = plain(batch);
      const problem = schema.checkBatchFields(input as unknown as Record<string, unknown>);
      if (problem !== undefined) return new ArgumentError("batch", problem);
      // A version given as its leaves is taken only if they rebuild to the root its checkpoint signs (docs/STATE.md §Leaves form).
      const rebuilt = input.leaves === undefined ? undefined : leavesRootProblem(input.leaves, input.checkpoint!);
      return rebuilt === undefined ? input : new ArgumentError("batch.leaves", `${rebuilt}; nothing of batch ${input.batchId} is stored`);
    });
    if (inputs.length === 1 && inputs[0] instanceof Error) throw inputs[0];
    return this.#write(async () => {
      const results: Array<PutResult | { error: Error }> = inputs.map((i) => (i instanceof Error ? { error: i } : { error: new Error("not written") }));
      const namespaces = [...new Set(inputs.filter((i): i is BatchInput => !(i instanceof Error)).map((i) => i.namespace))];
      for (const namespace of namespaces) {
        const state = await this.#index.sync(namespace);
        const files: schema.BatchFile[] = [];
        const paths: string[] = [];
        const added: string[][] = [];
        const pending: Array<{ at: number; stored: schema.BatchFile | null; merged: ReturnType<typeof mergeBatch> }> = [];
        // The stored files of the transaction's versions, read side by side.
        const versionPaths = inputs.map((input) => (input instanceof Error || input.namespace !== namespace ? undefined : this.#versionPath(state, input)));
        const reads = new Map<string, Promise<schema.BatchFile | null>>();
        for (const path of versionPaths) if (path !== undefined && !reads.has(path)) reads.set(path, readJsonFile<schema.BatchFile>(path, schema.checkBatchFile));
        // Every read settles before any result is used, so a failed one leaves nothing unawaited.
        await Promise.allSettled(reads.values());
        for (const [at, input] of inputs.entries()) {
          const path = versionPaths[at];
          if (input instanceof Error || path === undefined) continue;
          // Two inputs for one version in one call: the second merges into the first's result.
          const earlier = paths.indexOf(path);
          const stored = earlier >= 0 ? files[earlier]! : await reads.get(path)!;
          if (stored !== null && stored.createdAt !== input.createdAt) {
            results[at] = { error: new ArgumentError("batch.createdAt", `${input.createdAt} differs from ${stored.createdAt}, fixed when batch ${input.batchId} was first stored (docs/FEDERATION_PROTOCOL.md §Receipt)`) };
            continue;
          }
          const cp = stored?.checkpoint;
          if (input.leaves !== undefined && cp !== undefined && (cp.tree !== input.checkpoint!.tree || cp.size !== input.checkpoint!.size)) {
            results[at] = { error: new ArgumentError("batch.leaves", `are ${input.checkpoint!.size} leaves of a ${input.checkpoint!.tree} tree; the stored version of batch ${input.batchId} is held against a checkpoint of ${cp.size} leaves of a ${cp.tree} tree`) };
            continue;
          }
          const merged = mergeBatch(stored, input, path);
          pending.push({ at, stored, merged });
          if (!merged.changed) continue;
          // Receipt ids the write adds to this version (docs/STATE.md §Id filter).
          const had = new Set(stored === null ? [] : receiptIdsOf(stored));
          const ids = merged.receiptsAdded === 0 ? [] : receiptIdsOf(merged.file).filter((id) => !had.has(id));
          if (earlier >= 0) {
            files[earlier] = merged.file;
            added[earlier]!.push(...ids);
          } else {
            files.push(merged.file);
            paths.push(path);
            added.push(ids);
          }
        }
        // With the keys not loaded, the id filter may vouch that every added id is new to the
        // namespace, and no other batch file is read; a write that adds no receipt needs no keys either.
        const allIds = added.flat();
        const withoutKeys = allIds.length > 0 && (await this.#index.admitWithoutKeys(state, allIds));
        if (!withoutKeys && allIds.length > 0) await this.#index.loadReceipts(state);
        if (files.length > 0) await this.#index.commit(state, files, paths, withoutKeys ? added : undefined);
        for (const { at, stored, merged } of pending) {
          const input = inputs[at] as BatchInput;
          results[at] = {
            written: merged.changed,
            created: stored === null,
            receiptsAdded: merged.receiptsAdded,
            anchorsChanged: merged.anchorsChanged,
            equivocal: state.equivocal(input.batchId, merged.file.checkpoint?.origin),
          };
        }
      }
      return results;
    });
  }

  /** Where `input`'s version lives: its stored file, a 0.1.0 file it gains its checkpoint in, or a new origin-named file. */
  #versionPath(state: ReturnType<StateIndex["state"]>, input: BatchInput): string {
    const origin = input.checkpoint?.origin;
    let entry = state.version(input.batchId, input.batchRoot, origin ?? null);
    if (entry === undefined && origin !== undefined) {
      const legacy = state.version(input.batchId, input.batchRoot, null);
      if (legacy !== undefined && legacy.createdAt === input.createdAt) entry = legacy;
    }
    return entry?.path ?? batchPath(this.#paths, input.namespace, input.batchId, input.batchRoot, origin);
  }

  /**
   * Records anchors (with outcomes) of stored batch versions of `batchId`: each goes to the
   * versions of its `batchRoot` (only the one of `origin` when given; null: the one without a
   * checkpoint), replacing the record with the same claim digest.
   * Throws StoreError BATCH_NOT_FOUND, writing nothing, when a version is not stored.
   * @example await store.putAnchors("ns", "b1", [{ ...anchor, outcome: "verified", evidence }], "did:vm:node:a")
   */
  async putAnchors(namespace: string, batchId: string, anchors: readonly AnchorRecord[], origin?: string | null): Promise<PutResult> {
    requireName("namespace", namespace);
    requireName("batchId", batchId);
    if (!Array.isArray(anchors)) throw new ArgumentError("anchors", "must be an array");
    const records = plain(anchors) as AnchorRecord[];
    records.forEach((a, i) => {
      const problem = schema.checkAnchorRecord(a, { batchId, batchRoot: (a as { batchRoot?: string }).batchRoot ?? "" }, `anchors[${i}]`);
      if (problem !== undefined || typeof a.batchRoot !== "string" || a.batchRoot === "") throw new ArgumentError("anchors", problem ?? `anchors[${i}].batchRoot must be a non-empty string`);
    });
    return this.#write(async () => {
      const state = await this.#index.sync(namespace);
      const roots = [...new Set(records.map((a) => a.batchRoot))];
      const changed: schema.BatchFile[] = [];
      let anchorsChanged = 0;
      const changedPaths: string[] = [];
      for (const root of roots) {
        const targets = origin === undefined ? state.versions(batchId, root) : [state.version(batchId, root, origin)].filter((v) => v !== undefined);
        const missing = batchPath(this.#paths, namespace, batchId, root, origin ?? undefined);
        if (targets.length === 0) throw new StoreError("BATCH_NOT_FOUND", `batch ${JSON.stringify(batchId)} with root ${root}${origin ? ` of origin ${origin}` : ""} of namespace ${JSON.stringify(namespace)} is not stored; put the batch first`, { path: missing });
        for (const target of targets) {
          const stored = await readJsonFile<schema.BatchFile>(target.path, schema.checkBatchFile);
          if (stored === null) throw new StoreError("BATCH_NOT_FOUND", `batch ${JSON.stringify(batchId)} with root ${root} of namespace ${JSON.stringify(namespace)} is not stored; put the batch first`, { path: target.path });
          const m = mergeAnchors(stored.anchors, records.filter((a) => a.batchRoot === root));
          anchorsChanged += m.changed;
          if (m.changed > 0) {
            changed.push({ ...stored, anchors: m.anchors });
            changedPaths.push(target.path);
          }
        }
      }
      if (changed.length > 0) await this.#index.commit(state, changed, changedPaths);
      return { written: changed.length > 0, created: false, receiptsAdded: 0, anchorsChanged, equivocal: state.equivocatingOrigins(batchId).length > 0 };
    });
  }

  /**
   * Adds witness cosignatures to a stored batch version (docs/STATE.md §Cosignatures), merged by
   * digest, one per signer and checkpoint, bounded per version. Each goes to the version of the
   * origin it names (docs/STATE.md §Layout). The caller verified them. A version that is not
   * stored takes none: returns undefined and writes nothing. Returns the cosignatures that
   * changed the file.
   * @example (await store.putCosignatures("ns", "b1", root, [c]))?.length // 1 when c was new
   */
  async putCosignatures(namespace: string, batchId: string, batchRoot: string, cosignatures: readonly Cosignature[]): Promise<Cosignature[] | undefined> {
    requireName("namespace", namespace);
    requireName("batchId", batchId);
    requireName("batchRoot", batchRoot);
    if (!Array.isArray(cosignatures)) throw new ArgumentError("cosignatures", "must be an array");
    const incoming = plain(cosignatures) as Cosignature[];
    const problem = schema.checkStoredCosignatures(incoming, { namespace, batchId, batchRoot });
    if (problem !== undefined) throw new ArgumentError("cosignatures", problem);
    return this.#write(async () => {
      const state = await this.#index.sync(namespace);
      const added: Cosignature[] = [];
      let found = false;
      for (const origin of [...new Set(incoming.map((c) => c.origin))]) {
        const target = state.version(batchId, batchRoot, origin);
        if (target === undefined) continue;
        const stored = await readJsonFile<schema.BatchFile>(target.path, schema.checkBatchFile);
        if (stored === null) continue;
        found = true;
        const m = mergeCosignatures(stored.cosignatures ?? [], incoming.filter((c) => c.origin === origin));
        if (m.added.length > 0) await this.#index.commit(state, [{ ...stored, cosignatures: m.cosignatures }], [target.path]);
        added.push(...m.added);
      }
      return found ? added : undefined;
    });
  }

  /**
   * Keeps `checkpoint`, another shape (size or createdAt) its origin signed of a stored version's
   * root and batch id, with that version (docs/FEDERATION_SEMANTICS.md §6. Threat model): both
   * signed checkpoints stay, and the one `primaryShape` names is the version's checkpoint on every
   * node. When the new one becomes primary, the sealing time becomes its: receipts that fit its
   * tree and size keep their place with that `ts`, the others leave the file (their proofs are
   * for the other shape). Anchors and cosignatures stay. The caller verified the signature.
   * Returns "primary" (it is now the version's checkpoint), "kept" (stored beside it), or
   * "unchanged" (already held, no such version, or MAX_SHAPES_PER_VERSION shapes held).
   * @example await store.putShape("ns", other) // "kept"
   */
  async putShape(namespace: string, checkpoint: Checkpoint): Promise<"primary" | "kept" | "unchanged"> {
    requireName("namespace", namespace);
    if (typeof checkpoint !== "object" || checkpoint === null || checkpoint.namespace !== namespace) throw new ArgumentError("checkpoint", `must be a checkpoint of namespace ${JSON.stringify(namespace)}`);
    const cp = plain(checkpoint);
    return this.#write(async () => {
      const state = await this.#index.sync(namespace);
      await this.#index.loadReceipts(state);
      const entry = state.version(cp.batchId, cp.batchRoot, cp.origin);
      if (entry === undefined) return "unchanged";
      const stored = await readJsonFile<schema.BatchFile>(entry.path, schema.checkBatchFile);
      if (stored === null || stored.checkpoint === undefined) return "unchanged";
      const held = [stored.checkpoint, ...(stored.shapes ?? [])];
      if (held.some((c) => isDeepStrictEqual(c, cp)) || held.length > MAX_SHAPES_PER_VERSION) return "unchanged";
      let file: schema.BatchFile;
      if (primaryShape(stored.checkpoint, cp) === cp) {
        // A version held as its leaves (docs/STATE.md §Leaves form) is kept as receipts from here on: those of the new shape's size and tree.
        const { leaves: _form, ...rest } = stored;
        const receipts = receiptsOf(stored, entry.path).filter((r) => r.proof.tree === cp.tree && r.proof.size === cp.size && r.proof.index < cp.size).map((r) => ({ ...r, ts: cp.createdAt }));
        file = { ...rest, createdAt: cp.createdAt, checkpoint: cp, receipts, shapes: [...(stored.shapes ?? []), stored.checkpoint] };
      } else file = { ...stored, shapes: [...(stored.shapes ?? []), cp] };
      await this.#index.commit(state, [file], [entry.path]);
      return file.checkpoint === cp ? "primary" : "kept";
    });
  }

  /**
   * One stored batch version read from its file, or undefined. `origin` names the version
   * (docs/STATE.md §Layout); null asks for the version stored without a checkpoint (0.1.0);
   * without it, the preferred version of the root: active first, then one with a checkpoint.
   * With `cached`, a copy parsed since the last `refresh()` noticed no change to the file may be
   * served (deep-frozen), as receipts are: what answering a Request reads (lib/federation/answer-request.ts).
   * With `retain: false`, a file read from disk is not kept in that cache (nor frozen): for a
   * reader that goes through many versions once, such as a catch-up's range answer.
   * @example const b = await store.getBatch("ns", "b1", "sha256:…", "did:vm:node:a")
   */
  async getBatch(namespace: string, batchId: string, batchRoot: string, origin?: string | null, options: { cached?: boolean; retain?: boolean } = {}): Promise<StoredBatch | undefined> {
    this.#assertOpen();
    requireName("namespace", namespace);
    requireName("batchId", batchId);
    requireName("batchRoot", batchRoot);
    if (origin !== undefined && origin !== null) requireName("origin", origin);
    const entry = this.#index.byName.get(namespace)?.version(batchId, batchRoot, origin);
    if (entry === undefined) return undefined;
    const file = await loadBatch(this.#cache, entry.path, options.cached !== true, options.retain !== false);
    return file === undefined ? undefined : toStored(file);
  }

  /**
   * Summaries of the stored versions of a batchId (of one root, when given), preferred first:
   * active, then with a checkpoint, then by root and origin.
   * @example store.batchVersions("ns", "b1", root).map((v) => v.origin)
   */
  batchVersions(namespace: string, batchId: string, batchRoot?: string): BatchSummary[] {
    this.#assertOpen();
    const state = this.#index.byName.get(namespace);
    return state === undefined ? [] : state.versions(batchId, batchRoot).map((e) => state.summary(e));
  }

  /**
   * The version whose copy of a receipt the store serves (`getReceipt`, `getReceipts`, the
   * `(ts, id)` order): an active version's first (docs/FEDERATION_SEMANTICS.md §6. Threat model).
   * @example store.receiptVersion("ns", id)?.origin
   */
  receiptVersion(namespace: string, id: string): BatchSummary | undefined {
    this.#assertOpen();
    const state = this.#index.byName.get(namespace);
    const key = this.#receipts(namespace)?.get(id);
    return key === undefined || state === undefined ? undefined : state.summary(key.batch);
  }

  /**
   * Every version holding a copy of a receipt, the one served first first.
   * @example store.receiptVersions("ns", id).map((v) => v.origin)
   */
  receiptVersions(namespace: string, id: string): BatchSummary[] {
    this.#assertOpen();
    const state = this.#index.byName.get(namespace);
    if (state === undefined) return [];
    return (this.#receipts(namespace)?.copies(id) ?? []).map((k) => state.summary(k.batch));
  }

  /**
   * Every stored version of a batchId (more than one means equivocation or several origins),
   * preferred first (active, then with a checkpoint, then by batchRoot and origin).
   * @example (await store.getBatchVersions("ns", "b1")).length // 2 after an equivocation
   */
  async getBatchVersions(namespace: string, batchId: string): Promise<StoredBatch[]> {
    this.#assertOpen();
    const versions = this.#index.byName.get(namespace)?.versions(batchId) ?? [];
    const out: StoredBatch[] = [];
    for (const v of versions) {
      const file = await loadBatch(this.#cache, v.path, true);
      if (file !== undefined) out.push(toStored(file));
    }
    return out;
  }

  /**
   * The anchor records of every stored version of a batchId, read from disk.
   * @example (await store.anchors("ns", "b1")).filter((a) => a.outcome === "verified")
   */
  async anchors(namespace: string, batchId: string): Promise<AnchorRecord[]> {
    return (await this.getBatchVersions(namespace, batchId)).flatMap((b) => b.anchors);
  }

  /**
   * Summaries of a namespace's batch versions from the index, by createdAt then batchId.
   * @example store.listBatches("ns").filter((b) => b.outcomes.verified > 0)
   */
  listBatches(namespace: string): BatchSummary[] {
    this.#assertOpen();
    return this.#index.byName.get(namespace)?.summaries() ?? [];
  }

  /**
   * Namespaces holding at least one batch, sorted.
   * @example store.namespaces() // ["acme/audit"]
   */
  namespaces(): string[] {
    this.#assertOpen();
    return [...this.#index.byName.values()].filter((s) => s.batchesByPath.size > 0).map((s) => s.namespace).sort();
  }

  /**
   * Sets how contested roots are attributed, per namespace (docs/FEDERATION_SEMANTICS.md §8.
   * Quorum): the attributed version's copy of an event is served first. The node sets it from its
   * quorum policies; without it nothing is attributed.
   * @example store.setAttribution((ns) => (ns === "dao:x" ? { policy: { k: 2, witnesses } } : undefined))
   */
  setAttribution(rules: (namespace: string) => AttributionRule | undefined): void {
    this.#assertOpen();
    if (typeof rules !== "function") throw new ArgumentError("rules", "must be a function");
    this.#index.setAttribution(rules);
  }

  /**
   * The roots of a namespace held under checkpoints of two or more origins, or of one origin with
   * two shapes (size or createdAt), each with its versions (docs/FEDERATION_SEMANTICS.md §6. Threat
   * model). From the index alone.
   * @example store.contestedRoots("ns").map((c) => c.batchRoot)
   */
  contestedRoots(namespace: string): Array<{ batchRoot: string; versions: BatchSummary[] }> {
    this.#assertOpen();
    const state = this.#index.byName.get(namespace);
    if (state === undefined) return [];
    const out: Array<{ batchRoot: string; versions: BatchSummary[] }> = [];
    for (const [batchRoot, versions] of state.batchesByRoot) {
      if (versions.length > 1 && state.contested(batchRoot)) out.push({ batchRoot, versions: versions.map((v) => state.summary(v)) });
    }
    return out.sort((a, b) => (a.batchRoot < b.batchRoot ? -1 : a.batchRoot > b.batchRoot ? 1 : 0));
  }

  /**
   * Origins that signed checkpoints of more than one root for one batch id.
   * @example store.equivocations() // [{ namespace: "ns", batchId: "b1", origin: "did:vm:node:a", batchRoots: ["sha256:aa…", "sha256:bb…"] }]
   */
  equivocations(): Equivocation[] {
    this.#assertOpen();
    const out: Equivocation[] = [];
    for (const ns of this.namespaces()) {
      const state = this.#index.byName.get(ns)!;
      for (const [batchId, versions] of state.batchesById) {
        for (const origin of state.equivocatingOrigins(batchId)) {
          out.push({ namespace: ns, batchId, origin, batchRoots: versions.filter((v) => v.origin === origin).map((v) => v.batchRoot).sort() });
        }
      }
    }
    return out;
  }

  /**
   * Totals from the index.
   * @example store.counts().anchors.pending
   */
  counts(): StoreCounts {
    this.#assertOpen();
    const c: StoreCounts = { namespaces: 0, batches: 0, receipts: 0, anchors: { verified: 0, pending: 0, rejected: 0 }, equivocations: 0 };
    for (const s of this.#index.byName.values()) {
      if (s.batchesByPath.size === 0) continue;
      c.namespaces++;
      c.batches += s.batchesByPath.size;
      c.receipts += s.receiptCount;
      c.equivocations += s.equivocations();
      for (const b of s.batchesByPath.values()) {
        c.anchors.verified += b.outcomes.verified;
        c.anchors.pending += b.outcomes.pending;
        c.anchors.rejected += b.outcomes.rejected;
      }
    }
    return c;
  }

  /**
   * A namespace's receipt keys in `(ts, id)` order, for range fingerprints (docs/ANTI_ENTROPY.md §Items and order).
   * The array is replaced (not mutated in place) when receipts are added out of order; hold it only briefly.
   * @example const keys = store.receiptKeys("ns"); keys[0] // { ts: 1732000000, id: "sha256:…" }
   */
  receiptKeys(namespace: string): readonly ReceiptKey[] {
    this.#assertOpen();
    return this.#receipts(namespace)?.keys() ?? [];
  }

  /**
   * Position of the first key ≥ `key` in `receiptKeys(namespace)`: where it is or would be inserted.
   * @example store.receiptPosition("ns", { ts: 1732000000, id: "" }) // first receipt at or after that second
   */
  receiptPosition(namespace: string, key: ReceiptKey): number {
    this.#assertOpen();
    return this.#receipts(namespace)?.lowerBound(key) ?? 0;
  }

  /**
   * Number of distinct receipt ids in a namespace.
   * @example store.receiptCount("ns") // 100000
   */
  receiptCount(namespace: string): number {
    this.#assertOpen();
    return this.#index.byName.get(namespace)?.receiptCount ?? 0;
  }

  /**
   * A receipt by id, body read from its batch file.
   * @example await store.getReceipt("ns", "sha256:…")
   */
  async getReceipt(namespace: string, id: string): Promise<Receipt | undefined> {
    this.#assertOpen();
    const key = (await this.#loadedReceipts(namespace))?.get(id);
    return key === undefined ? undefined : (await readReceipts(this.#cache, [key]))[0];
  }

  /**
   * The stored receipts among `ids`, read batch file by batch file so each file is parsed once
   * however many of its receipts are asked for (docs/ANTI_ENTROPY.md §Catching up); unknown ids
   * are skipped. Grouped by batch, not in the order asked.
   * @example await store.getReceipts("ns", want)
   */
  async getReceipts(namespace: string, ids: readonly string[]): Promise<Receipt[]> {
    this.#assertOpen();
    const index = this.#index.byName.get(namespace)?.receipts;
    if (index === undefined) return [];
    const byBatch = new Map<string, IndexedReceipt<BatchEntry>[]>();
    for (const id of new Set(ids)) {
      const key = index.get(id);
      if (key === undefined) continue;
      const group = byBatch.get(key.batch.path);
      if (group === undefined) byBatch.set(key.batch.path, [key]);
      else group.push(key);
    }
    const out: Receipt[] = [];
    for (const keys of byBatch.values()) out.push(...(await readReceipts(this.#cache, keys)));
    return out;
  }

  /**
   * Every stored copy of the receipts among `ids`, one per version holding it, with that version's
   * summary: each id's served copy first, then the other versions' (docs/STATE.md §Layout).
   * Read batch file by batch file, like `getReceipts`; unknown ids are skipped.
   * @example for (const { receipt, version } of await store.getReceiptCopies("ns", want)) …
   */
  async getReceiptCopies(namespace: string, ids: readonly string[]): Promise<Array<{ receipt: Receipt; version: BatchSummary }>> {
    this.#assertOpen();
    const state = this.#index.byName.get(namespace);
    const index = await this.#loadedReceipts(namespace);
    if (state === undefined || index === undefined) return [];
    const byBatch = new Map<string, { keys: IndexedReceipt<BatchEntry>[]; served: boolean[] }>();
    for (const id of new Set(ids)) {
      for (const [i, key] of index.copies(id).entries()) {
        let group = byBatch.get(key.batch.path);
        if (group === undefined) byBatch.set(key.batch.path, (group = { keys: [], served: [] }));
        group.keys.push(key);
        group.served.push(i === 0);
      }
    }
    const served: Array<{ receipt: Receipt; version: BatchSummary }> = [];
    const others: Array<{ receipt: Receipt; version: BatchSummary }> = [];
    for (const { keys, served: first } of byBatch.values()) {
      const receipts = await readReceipts(this.#cache, keys);
      receipts.forEach((receipt, i) => (first[i] ? served : others).push({ receipt, version: state.summary(keys[i]!.batch) }));
    }
    return [...served, ...others];
  }

  /**
   * Receipts with `fromTs ≤ ts ≤ toTs`, in `(ts, id)` order.
   * @example await store.receiptsInRange("ns", 1732000000, 1732003600)
   */
  async receiptsInRange(namespace: string, fromTs: number, toTs: number): Promise<Receipt[]> {
    this.#assertOpen();
    const index = await this.#loadedReceipts(namespace);
    if (index === undefined) return [];
    const [start, end] = index.tsRange(fromTs, toTs);
    return readReceipts(this.#cache, index.keys().slice(start, end));
  }

  /**
   * Receipts at positions `[start, end)` of the `(ts, id)` order.
   * @example await store.receiptsAt("ns", 0, 100)
   */
  async receiptsAt(namespace: string, start: number, end: number): Promise<Receipt[]> {
    this.#assertOpen();
    return readReceipts(this.#cache, ((await this.#loadedReceipts(namespace))?.keys() ?? []).slice(Math.max(0, start), Math.max(0, end)));
  }

  /**
   * Calls `listener` with the keys of receipts that enter the index; returns the unsubscribe function.
   * @example const stop = store.onReceiptsAdded((ns, keys) => fingerprints.add(ns, keys));
   */
  onReceiptsAdded(listener: ReceiptsAddedListener): () => void {
    this.#index.listeners.add(listener);
    return () => this.#index.listeners.delete(listener);
  }

  /**
   * Re-reads the namespaces another process changed since the last look (one small meta.json
   * read per namespace when nothing changed). Writes do this for their namespace by themselves.
   * @example setInterval(() => store.refresh(), 5000)
   */
  async refresh(): Promise<void> {
    this.#assertOpen();
    await this.#index.refresh();
  }

  /**
   * A generic document (daemon outbox, last-sync times…), or undefined when none is stored.
   * @example const outbox = await store.getDoc<Outbox>("outbox/peer-a")
   */
  async getDoc<T = unknown>(name: string): Promise<T | undefined> {
    this.#assertOpen();
    requireName("name", name);
    return readDoc<T>(this.#paths, name);
  }

  /**
   * Replaces a document (its own file, written atomically under the lock).
   * @example await store.putDoc("last-sync", { "did:web:b.example": 1732000000 })
   */
  async putDoc(name: string, value: unknown): Promise<void> {
    await this.updateDoc(name, () => value);
  }

  /**
   * Read-modify-write of a document under the lock, so concurrent processes never lose an update.
   * Writes nothing when `fn` returns an equal value. Returns the stored value.
   * @example await store.updateDoc<number>("counter", (n) => (n ?? 0) + 1)
   */
  async updateDoc<T>(name: string, fn: (current: T | undefined) => T): Promise<T> {
    requireName("name", name);
    if (typeof fn !== "function") throw new ArgumentError("fn", "must be a function");
    return this.#write(() => updateDocFile(this.#paths, name, fn));
  }

  /**
   * Waits for writes in flight, then refuses further use.
   * @example await store.close()
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#gate.idle();
    if (!this.readOnly && this.#index.manifestsOwed) {
      // The manifest is a cache: if another process holds the lock too long, the next open reads the files.
      await this.#gate.run(() => this.#index.saveManifests()).catch((err: unknown) => {
        if (!(err instanceof StoreError && err.code === "STATE_LOCKED")) throw err;
      });
    }
    this.#cache.clear();
    this.#index.listeners.clear();
  }
}

function requireName(parameter: string, value: unknown): asserts value is string {
  if (typeof value !== "string" || value === "") throw new ArgumentError(parameter, "must be a non-empty string");
}

function toStored(cached: CachedBatch): StoredBatch {
  const { kind: _kind, ...batch } = cached.file;
  // Records written before claims were keyed by digest get theirs on read (docs/STATE.md §Anchor claims).
  // The digest is derived, so a stale one is replaced rather than trusted.
  const anchors = batch.anchors.map((a) => withDigest(a));
  const out = anchors.every((a, i) => a === batch.anchors[i]) ? batch : { ...batch, anchors };
  if (batch.leaves === undefined) return out;
  // A version kept as its leaves (docs/STATE.md §Leaves form) reads as one of receipts: each path is
  // derived when `receipts` is first read. `leaves` stays readable but is not copied by a spread or
  // JSON, so a copy of the batch is a plain batch of receipts.
  const { leaves, receipts: _none, ...rest } = out;
  const stored = rest as BatchInput;
  Object.defineProperty(stored, "receipts", { get: () => cached.receipts.all(), enumerable: true, configurable: false });
  Object.defineProperty(stored, "leaves", { value: leaves, enumerable: false, writable: false, configurable: false });
  return stored;
}

/**
 * Opens (creating if needed, unless read-only) the state store under `stateDir`.
 * Throws StoreError STATE_FORMAT_UNSUPPORTED for a newer format and STATE_CORRUPT naming the
 * first file that does not parse or fails its schema check; nothing is ever repaired.
 * @example
 * const store = await openStore("/var/lib/vmsh-federation");
 * try { await store.putBatch(batch); } finally { await store.close(); }
 */
export async function openStore(stateDir: string, options: OpenStoreOptions = {}): Promise<Store> {
  if (typeof stateDir !== "string" || stateDir === "") throw new ArgumentError("stateDir", "must be a non-empty path");
  const store = new Store(resolve(stateDir), options);
  await store.init();
  return store;
}
