/**
 * What a node sends back for a Request (docs/FEDERATION_PROTOCOL.md): the selected receipts,
 * at most one page, and every stored anchor of their batch versions that is not rejected
 * (the receiver re-verifies them all with its own endpoints anyway). A `want` may also name
 * attachment items (docs/ANTI_ENTROPY.md §Attachment items): a checkpoint item with the version's
 * checkpoint, a claim item with that claim whatever this node's verdict on it.
 */
import type { Anchor } from "../anchors/anchor.js";
import { claimOf } from "../conflict/record.js";
import type { Checkpoint } from "../messages/checkpoint.js";
import { LIMITS } from "../messages/limits.js";
import type { Request } from "../messages/schema.js";
import type { Receipt } from "../receipt.js";
import type { AnchorRecord, Store } from "../store/index.js";
import type { VersionItem } from "../reconcile/version-items.js";

/** The attachment items among a want's ids (NamespaceIndexes.items, after prepare). */
export type ItemLookup = (namespace: string, ids: readonly string[]) => VersionItem[];

export interface RequestAnswer {
  /** The stored checkpoint of every batch version a receipt belongs to. */
  checkpoints: Checkpoint[];
  receipts: Receipt[];
  anchors: Anchor[];
}

/** The wire form of a stored anchor: the claim without this node's verdict or digest. */
export function wireAnchor(record: AnchorRecord): Anchor {
  return claimOf(record);
}

async function selectReceipts(store: Store, request: Request): Promise<Receipt[]> {
  const page = LIMITS.maxReceiptsPerBundle;
  const inTs = (r: Receipt) => (request.fromTs === undefined || r.ts >= request.fromTs) && (request.toTs === undefined || r.ts <= request.toTs);
  if (request.batchId !== undefined) {
    const versions = (await store.getBatchVersions(request.namespace, request.batchId)).filter((v) => request.batchRoot === undefined || v.batchRoot === request.batchRoot);
    const first = (request.page ?? 0) * page;
    const want = request.want === undefined ? undefined : new Set(request.want);
    return versions
      .flatMap((v) => v.receipts.filter((r) => r.proof.index >= first && r.proof.index < first + page))
      .filter((r) => inTs(r) && (want === undefined || want.has(r.id)))
      .slice(0, page);
  }
  if (request.want !== undefined) {
    // Grouped by batch file so each file is parsed once (docs/ANTI_ENTROPY.md §Catching up).
    return (await store.getReceipts(request.namespace, request.want)).filter(inTs);
  }
  const start = request.fromTs === undefined ? 0 : store.receiptPosition(request.namespace, { ts: request.fromTs, id: "" });
  const end = request.toTs === undefined ? store.receiptCount(request.namespace) : store.receiptPosition(request.namespace, { ts: request.toTs + 1, id: "" });
  return store.receiptsAt(request.namespace, start, Math.min(end, start + page));
}

/**
 * Selects receipts and anchors for `request` from the store.
 * @example const { receipts, anchors } = await answerRequest(store, request)
 */
export async function answerRequest(store: Store, request: Request, items?: ItemLookup): Promise<RequestAnswer> {
  const selected = await selectReceipts(store, request);
  const asked = request.want === undefined || request.batchId !== undefined || items === undefined ? [] : items(request.namespace, request.want);
  const versions = new Map<string, { batchId: string; batchRoot: string }>();
  // Receipts travel only with their origin's checkpoint (docs/FEDERATION_PROTOCOL.md §Checkpoint):
  // a version stored by 0.1.0 without one is held back until one arrives.
  const checkpoints = new Map<string, Checkpoint | undefined>();
  for (const r of selected) {
    const key = `${r.batchId}\u0000${r.batchRoot}`;
    if (!checkpoints.has(key)) checkpoints.set(key, (await store.getBatch(request.namespace, r.batchId, r.batchRoot))?.checkpoint);
  }
  const receipts = selected.filter((r) => checkpoints.get(`${r.batchId}\u0000${r.batchRoot}`) !== undefined);
  for (const r of receipts) versions.set(`${r.batchId}\u0000${r.batchRoot}`, { batchId: r.batchId, batchRoot: r.batchRoot });
  if (request.batchId !== undefined && receipts.length === 0) {
    // A batch asked for by id whose receipts are all on other pages still gets its anchors.
    for (const v of await store.getBatchVersions(request.namespace, request.batchId)) if (request.batchRoot === undefined || v.batchRoot === request.batchRoot) versions.set(`${v.batchId}\u0000${v.batchRoot}`, v);
  }
  const anchors: Anchor[] = [];
  const byBatch = new Map<string, AnchorRecord[]>();
  for (const { batchId } of [...versions.values(), ...asked]) if (!byBatch.has(batchId)) byBatch.set(batchId, await store.anchors(request.namespace, batchId));
  const sentClaims = new Set<string>();
  for (const { batchId, batchRoot } of versions.values()) {
    for (const a of byBatch.get(batchId)!) {
      if (a.batchRoot !== batchRoot || a.outcome === "rejected") continue;
      sentClaims.add(`${batchId}\u0000${batchRoot}\u0000${a.digest}`);
      anchors.push(wireAnchor(a));
    }
  }
  // Items asked for by id: every verdict is served, rejected too, or nodes whose verdicts differ
  // would never hold the same claims (docs/ANTI_ENTROPY.md §Attachment items).
  for (const item of asked) {
    const key = `${item.batchId}\u0000${item.batchRoot}`;
    if (item.kind === "checkpoint") {
      if (!checkpoints.has(key)) checkpoints.set(key, (await store.getBatch(request.namespace, item.batchId, item.batchRoot))?.checkpoint);
      versions.set(key, { batchId: item.batchId, batchRoot: item.batchRoot });
      continue;
    }
    if (sentClaims.has(`${key}\u0000${item.digest}`)) continue;
    const record = byBatch.get(item.batchId)!.find((a) => a.batchRoot === item.batchRoot && a.digest === item.digest);
    if (record === undefined) continue;
    sentClaims.add(`${key}\u0000${item.digest}`);
    anchors.push(wireAnchor(record));
  }
  const sent = [...checkpoints.values()].filter((c): c is Checkpoint => c !== undefined && versions.has(`${c.batchId}\u0000${c.batchRoot}`));
  return { checkpoints: sent, receipts, anchors: anchors.slice(0, LIMITS.maxAnchorsPerBundle) };
}
