/**
 * Deterministic sample batches for the store tests and the benchmark: receipts
 * shaped as on the wire (docs/FEDERATION_PROTOCOL.md §Receipt), with ids and roots derived from a seed.
 * The proofs are well-formed but not meant to verify; the store does not verify.
 */
import { createHash } from "node:crypto";
import type { Receipt } from "../../lib/receipt.js";
import type { AnchorRecord, BatchInput } from "../../lib/store/types.js";

/** `sha256:<hex>` of a string. */
export function hashOf(text: string): string {
  return `sha256:${createHash("sha256").update(text).digest("hex")}`;
}

/** Options of `sampleBatch`. */
export interface SampleOptions {
  namespace?: string;
  batchId: string;
  size: number;
  createdAt?: number;
  /** Changes the root and every receipt id: use a second seed to make an equivocating version. */
  seed?: string;
  anchors?: Array<Partial<AnchorRecord>>;
}

/** A batch of `size` receipts with a deterministic root and ids. */
export function sampleBatch(o: SampleOptions): BatchInput {
  const namespace = o.namespace ?? "acme/audit";
  const seed = o.seed ?? "s";
  const createdAt = o.createdAt ?? 1_732_000_000;
  const batchRoot = hashOf(`root/${seed}/${namespace}/${o.batchId}`);
  const depth = Math.ceil(Math.log2(Math.max(2, o.size)));
  const receipts: Receipt[] = [];
  for (let i = 0; i < o.size; i++) {
    const id = hashOf(`event/${seed}/${namespace}/${o.batchId}/${i}`);
    const path = Array.from({ length: depth }, (_, d) => hashOf(`node/${id}/${d}`));
    receipts.push({ id, namespace, batchId: o.batchId, batchRoot, eventHash: id, ts: createdAt, proof: { tree: "vmsh-dup-sha256", index: i, size: o.size, path } });
  }
  const anchors: AnchorRecord[] = (o.anchors ?? []).map((a, i) => ({
    batchId: o.batchId,
    batchRoot,
    chain: "eip155:8453",
    tx: `0x${createHash("sha256").update(`${batchRoot}/${i}`).digest("hex")}`,
    block: 100 + i,
    ts: createdAt + 60,
    outcome: "pending",
    reason: "waiting for confirmations",
    ...a,
  }));
  return { namespace, batchId: o.batchId, batchRoot, createdAt, receipts, anchors };
}
