/**
 * Importing a peer's Bundle: its receipts and anchors grouped by batch version, each group
 * through importBatch. Anchors for a batch version that has no receipt here and none in the
 * bundle are left out: there is nothing to attach them to yet. `memo: ""` is read as no memo
 * (docs/FEDERATION_PROTOCOL.md §Anchor). A batch version is (namespace, origin, batchId,
 * batchRoot) (docs/STATE.md §Layout): checkpoints of several origins for one root are several
 * versions, each imported on its own with the receipts whose `ts` is its sealing time.
 */
import { isDeepStrictEqual } from "node:util";
import type { Anchor } from "../anchors/anchor.js";
import type { Checkpoint } from "../messages/checkpoint.js";
import { anchorClaim } from "../messages/items.js";
import { expandLeafSet } from "../messages/leaves.js";
import type { Receipt } from "../receipt.js";
import type { BatchInput, PutResult, Store, StoredBatch } from "../store/index.js";
import { importBatch, type BatchReport, type ImportContext } from "./import.js";

/**
 * Imports receipts and anchors of one namespace, batch version by batch version.
 * Checkpoints (the origin's, forwarded unchanged by relays) say which versions may be stored.
 * `leaves` carries whole versions as their leaves (a Bundle's, docs/FEDERATION_PROTOCOL.md §Leaves):
 * each is stored so when its checkpoint is the one its version is held against (docs/STATE.md §Leaves form).
 * @example const reports = await importBundle("dao:vaultmesh", bundle.receipts, [...bundle.anchors, ...announce.anchors], ctx, bundle.checkpoints)
 */
export async function importBundle(namespace: string, receipts: readonly Receipt[], anchors: readonly Anchor[], ctx: ImportContext, checkpoints: readonly Checkpoint[] = [], leaves: readonly VersionLeaves[] = []): Promise<BatchReport[]> {
  const groups = new Map<string, { batchId: string; batchRoot: string; receipts: Receipt[]; anchors: Anchor[]; checkpoints: Checkpoint[]; leaves: VersionLeaves[] }>();
  const group = (batchId: string, batchRoot: string) => {
    const key = `${batchId}\u0000${batchRoot}`;
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { batchId, batchRoot, receipts: [], anchors: [], checkpoints: [], leaves: [] }));
    return g;
  };
  // Receipts come a batch at a time: the group of the one before is asked first, not a key made per receipt.
  let last: ReturnType<typeof group> | undefined;
  for (const r of receipts) {
    if (last === undefined || last.batchId !== r.batchId || last.batchRoot !== r.batchRoot) last = group(r.batchId, r.batchRoot);
    last.receipts.push(r);
  }
  for (const l of leaves) if (l.checkpoint.namespace === namespace) group(l.checkpoint.batchId, l.checkpoint.batchRoot).leaves.push(l);
  for (const c of checkpoints) if (c.namespace === namespace) group(c.batchId, c.batchRoot).checkpoints.push(c);
  // Leaves speak for their checkpoint's version even when it was not listed with the others.
  for (const g of groups.values()) for (const l of g.leaves) if (!g.checkpoints.some((c) => isDeepStrictEqual(c, l.checkpoint))) g.checkpoints.push(l.checkpoint);
  for (const a of anchors) group(a.batchId, a.batchRoot).anchors.push(anchorClaim(a));
  const sorted = [...groups.values()].sort((a, b) => (a.batchId < b.batchId ? -1 : a.batchId > b.batchId ? 1 : a.batchRoot < b.batchRoot ? -1 : 1));
  // Batch ids are imported side by side, so one batch's anchor check (an endpoint, a TSA token on
  // the worker thread) overlaps the next one's; the roots and versions of one batch id go one
  // after another, as each may change what the next finds stored. Reports keep the sorted order.
  const byBatchId = new Map<string, typeof sorted>();
  for (const g of sorted) byBatchId.set(g.batchId, [...(byBatchId.get(g.batchId) ?? []), g]);
  const writes = new WriteGather(ctx.store);
  const gathered: ImportContext = { ...ctx, put: (b) => writes.put(b) };
  const perBatchId = await Promise.all(
    [...byBatchId.values()].map(async (same) => {
      const reports: BatchReport[] = [];
      for (const g of same) {
        const versions = await splitByOrigin(namespace, g, ctx);
        const sealedAt = (w: VersionImport) => w.stored?.createdAt ?? w.checkpoints[0]?.createdAt;
        // Leaves whose checkpoint is not the sealing time a version is held at here are the receipts
        // they stand for, paths derived, and go the way of any receipt (docs/FEDERATION_PROTOCOL.md §Leaves).
        const asReceipts = g.leaves.filter((l) => !versions.some((w) => w.origin === l.checkpoint.origin && sealedAt(w) === l.checkpoint.createdAt));
        const all = asReceipts.length === 0 ? g.receipts : [...g.receipts, ...asReceipts.flatMap((l) => expandLeafSet({ checkpoint: 0, leaves: l.leaves }, [l.checkpoint], `leaves of batch ${g.batchId}`))];
        for (const [i, v] of versions.entries()) {
          const { stored, origin, checkpoints } = v;
          const createdAt = sealedAt(v);
          // Receipts belong to the version whose sealing time they carry; those of none go to the first, which says why not.
          const receipts = all.filter((r) => r.ts === createdAt || (i === 0 && !versions.some((w) => (w.stored?.createdAt ?? w.checkpoints[0]?.createdAt) === r.ts)));
          // A checkpoint not held (the origin's other shape of a stored version) is imported even without receipts: it is evidence (docs/FEDERATION_SEMANTICS.md §6. Threat model).
          const unheld = checkpoints.some((c) => ![stored?.checkpoint, ...(stored?.shapes ?? [])].some((h) => h !== undefined && isDeepStrictEqual(h, c)));
          // The leaves of this version: those of a checkpoint of its origin and sealing time.
          const whole = g.leaves.find((l) => l.checkpoint.origin === origin && l.checkpoint.createdAt === createdAt);
          if (createdAt === undefined || (receipts.length === 0 && whole === undefined && g.anchors.length === 0 && stored !== undefined && stored.checkpoint !== undefined && !unheld)) continue;
          writes.enter();
          try {
            reports.push(await importBatch({ namespace, batchId: g.batchId, batchRoot: g.batchRoot, createdAt, receipts, anchors: g.anchors, checkpoints, origin, ...(whole === undefined ? {} : { leaves: whole }) }, gathered));
          } finally {
            writes.leave();
          }
        }
      }
      return reports;
    }),
  );
  return perBatchId.flat();
}

/** A whole batch version as its leaves, with the checkpoint they rebuild to (docs/FEDERATION_PROTOCOL.md §Leaves). */
export interface VersionLeaves {
  checkpoint: Checkpoint;
  /** base64 of the version's `checkpoint.size` event hashes in leaf order. */
  leaves: string;
}

/**
 * Gathers the batch writes of the imports running side by side into one store transaction
 * (`store.putBatches`): once every import still running waits on its write, all of them are
 * written together, so a Bundle of many batches costs one lock and one change-counter bump
 * rather than one per batch (docs/BENCHMARKS.md, import).
 */
class WriteGather {
  readonly #store: Store;
  #running = 0;
  #queue: Array<{ batch: BatchInput; resolve: (r: PutResult) => void; reject: (e: unknown) => void }> = [];

  constructor(store: Store) {
    this.#store = store;
  }

  enter(): void {
    this.#running++;
  }

  leave(): void {
    this.#running--;
    this.#flush();
  }

  put(batch: BatchInput): Promise<PutResult> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ batch, resolve, reject });
      this.#flush();
    });
  }

  #flush(): void {
    if (this.#queue.length === 0 || this.#queue.length < this.#running) return;
    const taken = this.#queue;
    this.#queue = [];
    this.#store.putBatches(taken.map((t) => t.batch)).then(
      (results) => results.forEach((r, i) => ("error" in r ? taken[i]!.reject(r.error) : taken[i]!.resolve(r))),
      (e: unknown) => taken.forEach((t) => t.reject(e)),
    );
  }
}

interface VersionImport {
  /** Null for a version stored without a checkpoint (0.1.0). */
  origin: string | null;
  checkpoints: Checkpoint[];
  stored: StoredBatch | undefined;
}

/**
 * The versions one (batchId, batchRoot) group of a bundle speaks for: one per origin among its
 * checkpoints, in the order offered; without checkpoints, the stored versions of that root.
 */
async function splitByOrigin(namespace: string, g: { batchId: string; batchRoot: string; checkpoints: Checkpoint[] }, ctx: ImportContext): Promise<VersionImport[]> {
  const out: VersionImport[] = [];
  for (const c of g.checkpoints) {
    const v = out.find((o) => o.origin === c.origin);
    if (v !== undefined) v.checkpoints.push(c);
    else out.push({ origin: c.origin, checkpoints: [c], stored: await ctx.store.getBatch(namespace, g.batchId, g.batchRoot, c.origin) });
  }
  if (out.length > 0) return out;
  for (const summary of ctx.store.batchVersions(namespace, g.batchId, g.batchRoot)) {
    out.push({ origin: summary.origin ?? null, checkpoints: [], stored: await ctx.store.getBatch(namespace, g.batchId, g.batchRoot, summary.origin ?? null) });
  }
  return out;
}
