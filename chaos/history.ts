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

type Store = Awaited<ReturnType<typeof openStore>>;
/** Stores kept open read-only between observations: a refresh re-reads only what changed. */
const open = new Map<string, Store>();
/** What each batch's version files said, by state directory and batch id, with their file identities. */
interface BatchLines {
  identity: string;
  checkpoints: string[];
  claims: string[];
  cosignatures: string[];
  winners: string[];
}
const lines = new Map<string, Map<string, BatchLines>>();

/** Reads `node`'s view, or the error that kept its state from being read right now (e.g. mid-crash). */
export async function observe(node: Pick<ClusterNode, "name" | "stateDir">): Promise<NodeView | { node: string; at: number; error: string }> {
  const at = Date.now();
  let store = open.get(node.stateDir);
  try {
    if (store === undefined) {
      store = await openStore(node.stateDir, { readOnly: true });
      open.set(node.stateDir, store);
    } else await store.refresh();
  } catch (e) {
    await forget(node.stateDir);
    return { node: node.name, at, error: (e as Error).message.slice(0, 200) };
  }
  try {
    const receiptIds = store.namespaces().includes(NAMESPACE) ? store.receiptKeys(NAMESPACE).map((k) => k.id).sort() : [];
    const checkpoints: string[] = [];
    const claims: string[] = [];
    const cosignatures: string[] = [];
    const winners: string[] = [];
    const versions = store.namespaces().includes(NAMESPACE) ? store.listBatches(NAMESPACE) : [];
    const seen = lines.get(node.stateDir) ?? new Map<string, BatchLines>();
    const next = new Map<string, BatchLines>();
    for (const id of new Set(versions.map((v) => v.batchId))) {
      // A batch's versions are read again only when one of their files changed.
      const identity = versions.filter((v) => v.batchId === id).map((v) => v.fileIdentity).sort().join(" ");
      let batch = seen.get(id);
      if (batch === undefined || batch.identity !== identity) {
        batch = { identity, checkpoints: [], claims: [], cosignatures: [], winners: [] };
        for (const b of await store.getBatchVersions(NAMESPACE, id)) {
          const cp = b.checkpoint;
          if (cp !== undefined) batch.checkpoints.push(`cp ${b.batchId} ${b.batchRoot} ${cp.origin} ${cp.createdAt} ${cp.size}`);
          for (const a of b.anchors) {
            batch.claims.push(`cl ${b.batchRoot} ${a.chain}/${a.tx} ${a.outcome}${a.superseded_by === undefined ? "" : " superseded"}`);
            if (a.outcome === "verified" && a.superseded_by === undefined) batch.winners.push(`win ${b.batchId} ${b.batchRoot} ${a.chain}/${a.tx}`);
          }
          for (const c of b.cosignatures ?? []) batch.cosignatures.push(`cs ${b.batchId} ${c.origin} ${c.signer} ${c.checkpoint}`);
        }
      }
      next.set(id, batch);
      checkpoints.push(...batch.checkpoints);
      claims.push(...batch.claims);
      cosignatures.push(...batch.cosignatures);
      winners.push(...batch.winners);
    }
    lines.set(node.stateDir, next);
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
    await forget(node.stateDir);
    return { node: node.name, at, error: (e as Error).message.slice(0, 200) };
  }
}

async function forget(stateDir: string): Promise<void> {
  const store = open.get(stateDir);
  open.delete(stateDir);
  lines.delete(stateDir);
  await store?.close().catch(() => undefined);
}

/** Closes every store `observe` keeps open. */
export async function closeObservers(): Promise<void> {
  for (const dir of [...open.keys()]) await forget(dir);
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
