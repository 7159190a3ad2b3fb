/**
 * Importing a peer's Bundle: its receipts and anchors grouped by batch version, each group
 * through importBatch. Anchors for a batch version that has no receipt here and none in the
 * bundle are left out: there is nothing to attach them to yet. `memo: ""` is read as no memo
 * (docs/FEDERATION_PROTOCOL.md §Anchor).
 */
import type { Anchor } from "../anchors/anchor.js";
import type { Checkpoint } from "../messages/checkpoint.js";
import { anchorClaim } from "../messages/items.js";
import type { Receipt } from "../receipt.js";
import { importBatch, type BatchReport, type ImportContext } from "./import.js";

/**
 * Imports receipts and anchors of one namespace, batch version by batch version.
 * Checkpoints (the origin's, forwarded unchanged by relays) say which versions may be stored.
 * @example const reports = await importBundle("dao:vaultmesh", bundle.receipts, [...bundle.anchors, ...announce.anchors], ctx, bundle.checkpoints)
 */
export async function importBundle(namespace: string, receipts: readonly Receipt[], anchors: readonly Anchor[], ctx: ImportContext, checkpoints: readonly Checkpoint[] = []): Promise<BatchReport[]> {
  const groups = new Map<string, { batchId: string; batchRoot: string; receipts: Receipt[]; anchors: Anchor[]; checkpoints: Checkpoint[] }>();
  const group = (batchId: string, batchRoot: string) => {
    const key = `${batchId}\u0000${batchRoot}`;
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { batchId, batchRoot, receipts: [], anchors: [], checkpoints: [] }));
    return g;
  };
  for (const r of receipts) group(r.batchId, r.batchRoot).receipts.push(r);
  for (const a of anchors) group(a.batchId, a.batchRoot).anchors.push(anchorClaim(a));
  for (const c of checkpoints) if (c.namespace === namespace) group(c.batchId, c.batchRoot).checkpoints.push(c);
  const reports: BatchReport[] = [];
  for (const g of [...groups.values()].sort((a, b) => (a.batchId < b.batchId ? -1 : a.batchId > b.batchId ? 1 : a.batchRoot < b.batchRoot ? -1 : 1))) {
    const stored = await ctx.store.getBatch(namespace, g.batchId, g.batchRoot);
    const createdAt = stored?.createdAt ?? g.checkpoints[0]?.createdAt;
    if (createdAt === undefined || (g.receipts.length === 0 && g.anchors.length === 0 && stored !== undefined && stored.checkpoint !== undefined)) continue;
    reports.push(await importBatch({ namespace, batchId: g.batchId, batchRoot: g.batchRoot, createdAt, receipts: g.receipts, anchors: g.anchors, checkpoints: g.checkpoints }, ctx));
  }
  return reports;
}
