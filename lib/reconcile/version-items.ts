/**
 * The anti-entropy items a batch version holds besides its receipts (docs/ANTI_ENTROPY.md
 * §Attachment items): its checkpoint and each anchor claim it keeps, whatever this node's
 * verdict on it. Each is one 32-byte id at the version's sealing time, so the reconciliation
 * of receipts carries them unchanged. Pure: no file, no clock.
 */
import { createHash } from "node:crypto";
import { claimDigest } from "../conflict/record.js";
import { canonicalJson } from "../messages/canonical.js";
import { cosignatureDigest } from "../quorum/merge.js";
import type { Checkpoint } from "../messages/checkpoint.js";
import type { BatchSummary, ReceiptKey, StoredBatch } from "../store/types.js";

/**
 * What an item of a version is. `complete` says the version holds all `size` receipts its
 * checkpoint names: versions of one root by two origins share receipt ids, so without it a node
 * that holds one origin's version complete and the other's empty would never see the gap.
 */
export type VersionItemKind = "checkpoint" | "claim" | "cosignature" | "complete";

/** One attachment item: its key in the reconcile order and what it names. */
export interface VersionItem extends ReceiptKey {
  kind: VersionItemKind;
  batchId: string;
  batchRoot: string;
  /** The origin whose checkpoint the version holds; undefined for a 0.1.0 version without one. */
  origin?: string;
  /** Digest of the content: the checkpoint's, the claim digest, or the cosignature's. */
  digest: string;
  /**
   * On a `complete` item only: this node holds the version without all its receipts, so the item
   * is known but not reconciled; a peer listing it has them (docs/ANTI_ENTROPY.md §Attachment items).
   * Every stored claim is reconciled, whatever this node's verdict on it.
   */
  heldOnly?: true;
}

/**
 * The item id of one attachment: `sha256` of the canonical JSON of `{ item, batchId, batchRoot,
 * origin, digest }`. Domain-separated from receipt ids (which hash events) and bound to its
 * version, origin included (docs/STATE.md §Layout), so one TSA token attached to two versions is
 * two items (docs/ANTI_ENTROPY.md §Attachment items).
 * @example itemId("claim", "b-1", root, "did:vm:node:a", claimDigest(anchor)) // "sha256:5e…"
 */
export function itemId(kind: VersionItemKind, batchId: string, batchRoot: string, origin: string | undefined, digest: string): string {
  return `sha256:${createHash("sha256").update(canonicalJson({ item: kind, batchId, batchRoot, ...(origin === undefined ? {} : { origin }), digest }), "utf8").digest("hex")}`;
}

/**
 * `sha256:` of the canonical JSON of a signed checkpoint, signature included.
 * @example checkpointDigest(cp) // "sha256:…"
 */
export function checkpointDigest(cp: Checkpoint): string {
  return `sha256:${createHash("sha256").update(canonicalJson(cp), "utf8").digest("hex")}`;
}

/**
 * What `versionItems` reads of a version: a `StoredBatch` is one; of its receipts only their number.
 */
export type VersionParts = Pick<StoredBatch, "batchId" | "batchRoot" | "createdAt" | "checkpoint" | "shapes" | "anchors" | "cosignatures"> & { readonly receipts: { readonly length: number } };

/**
 * Every attachment item of a stored version, at its `createdAt`, in no particular order.
 * The one place that says what a version's items are: a new kind (cosignatures) is one more line.
 * @example versionItems(await store.getBatch(ns, id, root)).map((i) => i.kind) // ["checkpoint", "claim", "claim"]
 */
export function versionItems(version: VersionParts): VersionItem[] {
  const { batchId, batchRoot, createdAt: ts } = version;
  const origin = version.checkpoint?.origin;
  const item = (kind: VersionItemKind, digest: string): VersionItem => ({ ts, id: itemId(kind, batchId, batchRoot, origin, digest), kind, batchId, batchRoot, ...(origin === undefined ? {} : { origin }), digest });
  const out: VersionItem[] = [];
  if (version.checkpoint !== undefined) out.push(item("checkpoint", checkpointDigest(version.checkpoint)));
  // The origin's other shapes of the version (its equivocation) spread like its checkpoint: every node then holds both and the same primary.
  for (const shape of version.shapes ?? []) out.push(item("checkpoint", checkpointDigest(shape)));
  // Every claim, whatever this node's verdict: it is offered as evidence, and each receiver
  // verifies it itself and keeps its own verdict (docs/ANTI_ENTROPY.md §Attachment items).
  for (const a of version.anchors) out.push(item("claim", a.digest ?? claimDigest(a)));
  for (const c of version.cosignatures ?? []) out.push(item("cosignature", cosignatureDigest(c)));
  if (version.checkpoint !== undefined) {
    const complete = item("complete", checkpointDigest(version.checkpoint));
    out.push(version.receipts.length >= version.checkpoint.size ? complete : { ...complete, heldOnly: true });
  }
  return out;
}

/**
 * A value that changes whenever `versionItems` of the version can have changed, read from the
 * store's in-memory summary: the identity of the version's file, which every rewrite changes
 * (a new verdict, a claim added, a witness's newer cosignature replacing its older one).
 * @example versionStamp(summary) // "ino:1234 …"
 */
export function versionStamp(summary: Pick<BatchSummary, "fileIdentity">): string {
  return summary.fileIdentity;
}
