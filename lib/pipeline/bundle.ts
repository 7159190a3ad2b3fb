/**
 * Importing a peer's Bundle: its receipts and anchors grouped by batch version, each group
 * through importBatch. Anchors for a batch version that has no receipt here and none in the
 * bundle are left out: there is nothing to attach them to yet. `memo: ""` is read as no memo
 * (docs/FEDERATION_PROTOCOL.md §Anchor).
 */
import type { Anchor } from "../anchors/anchor.js";
import { anchorClaim } from "../messages/items.js";
import type { Receipt } from "../receipt.js";
import { importBatch, type BatchReport, type ImportContext } from "./import.js";

/**
 * Imports receipts and anchors of one namespace, batch version by batch version.
 * @example const reports = await importBundle("dao:vaultmesh", bundle.receipts, [...bundle.anchors, ...announce.anchors], ctx)
 */
export async function importBundle(namespace: string, receipts: readonly Receipt[], anchors: readonly Anchor[], ctx: ImportContext): Promise<BatchReport[]> {
  const groups = new Map<string, { batchId: string; batchRoot: string; receipts: Receipt[]; anchors: Anchor[] }>();
  const group = (batchId: string, batchRoot: string) => {
    const key = `${batchId}\u0000${batchRoot}`;
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { batchId, batchRoot, receipts: [], anchors: [] }));
    return g;
  };
  for (const r of receipts) group(r.batchId, r.batchRoot).receipts.push(r);
  for (const a of anchors) group(a.batchId, a.batchRoot).anchors.push(anchorClaim(a));
  const reports: BatchReport[] = [];
  for (const g of [...groups.values()].sort((a, b) => (a.batchId < b.batchId ? -1 : a.batchId > b.batchId ? 1 : a.batchRoot < b.batchRoot ? -1 : 1))) {
    const stored = await ctx.store.getBatch(namespace, g.batchId, g.batchRoot);
    const createdAt = stored?.createdAt ?? g.receipts[0]?.ts;
    if (createdAt === undefined) continue;
    reports.push(await importBatch({ namespace, batchId: g.batchId, batchRoot: g.batchRoot, createdAt, receipts: g.receipts, anchors: g.anchors }, ctx));
  }
  return reports;
}
