/**
 * The chaos run's history (docs/RELIABILITY.md §Chaos): what each node holds and reports, read from
 * its own state directory without a lock, as a set of item keys. One observation per node per
 * tick goes to `history.jsonl`; the checker judges the history, never the nodes' own word about
 * themselves.
 */
import { createHash } from "node:crypto";
import { appendFileSync } from "node:fs";
import { openStore } from "../lib/store/index.js";
import { NAMESPACE, type ClusterNode } from "./cluster.js";

/** What one node holds of the namespace. Item keys are strings so views compare as sets. */
export interface NodeView {
  node: string;
  at: number;
  receipts: number;
  /** sha256 over the sorted receipt ids. */
  receiptSet: string;
  receiptIds: string[];
  /** `cp <batchId> <root> <origin> <createdAt> <size>` per version held with its checkpoint. */
  checkpoints: string[];
  /** `cl <root> <chain>/<tx> <outcome>[ superseded]` per claim record. */
  claims: string[];
  /** `cs <batchId> <origin> <signer> <checkpoint digest>` per cosignature. */
  cosignatures: string[];
  /** `win <batchId> <root> <chain>/<tx>` per version: its verified, not superseded claim. */
  winners: string[];
}

/** Reads `node`'s view; undefined when its state cannot be read right now (e.g. mid-crash). */
export async function observe(node: ClusterNode): Promise<NodeView | { node: string; at: number; error: string }> {
  const at = Date.now();
  let store;
  try {
    store = await openStore(node.stateDir, { readOnly: true });
  } catch (e) {
    return { node: node.name, at, error: (e as Error).message.slice(0, 200) };
  }
  try {
    const receiptIds = store.namespaces().includes(NAMESPACE) ? store.receiptKeys(NAMESPACE).map((k) => k.id).sort() : [];
    const checkpoints: string[] = [];
    const claims: string[] = [];
    const cosignatures: string[] = [];
    const winners: string[] = [];
    const versions = store.namespaces().includes(NAMESPACE) ? store.listBatches(NAMESPACE) : [];
    for (const id of new Set(versions.map((v) => v.batchId))) {
      for (const b of await store.getBatchVersions(NAMESPACE, id)) {
        const cp = b.checkpoint;
        if (cp !== undefined) checkpoints.push(`cp ${b.batchId} ${b.batchRoot} ${cp.origin} ${cp.createdAt} ${cp.size}`);
        for (const a of b.anchors) {
          claims.push(`cl ${b.batchRoot} ${a.chain}/${a.tx} ${a.outcome}${a.superseded_by === undefined ? "" : " superseded"}`);
          if (a.outcome === "verified" && a.superseded_by === undefined) winners.push(`win ${b.batchId} ${b.batchRoot} ${a.chain}/${a.tx}`);
        }
        for (const c of b.cosignatures ?? []) cosignatures.push(`cs ${b.batchId} ${c.origin} ${c.signer} ${c.checkpoint}`);
      }
    }
    return {
      node: node.name,
      at,
      receipts: receiptIds.length,
      receiptSet: createHash("sha256").update(receiptIds.join("\n")).digest("hex"),
      receiptIds,
      checkpoints: [...new Set(checkpoints)].sort(),
      claims: [...new Set(claims)].sort(),
      cosignatures: [...new Set(cosignatures)].sort(),
      winners: [...new Set(winners)].sort(),
    };
  } catch (e) {
    return { node: node.name, at, error: (e as Error).message.slice(0, 200) };
  } finally {
    await store.close().catch(() => undefined);
  }
}

export const isView = (v: NodeView | { error: string }): v is NodeView => !("error" in v);

/**
 * Claims every node must hold alike: the verified ones, with their superseded marks. A claim no
 * node could verify is not spread by design (docs/ANTI_ENTROPY.md §Attachment items), so pending
 * and rejected records stay where they were made.
 */
export const agreedClaims = (v: NodeView): string[] => v.claims.filter((c) => / verified( superseded)?$/.test(c));

/** The part of a view every node must agree on after healing (receipt ids compared by hash). */
export function agreedPart(v: NodeView): string {
  return JSON.stringify([v.receiptSet, v.checkpoints, agreedClaims(v), v.cosignatures, v.winners]);
}

/** Appends one line per event to the run's history file. */
export class HistoryFile {
  constructor(readonly path: string) {}

  write(kind: string, body: Record<string, unknown>): void {
    appendFileSync(this.path, `${JSON.stringify({ t: Date.now(), kind, ...body })}\n`);
  }

  /** A view without its receipt id list (the hash stands for it). */
  view(v: NodeView | { node: string; at: number; error: string }): void {
    if (!isView(v)) return this.write("unreadable", v);
    const { receiptIds: _ids, ...rest } = v;
    this.write("view", rest);
  }
}
