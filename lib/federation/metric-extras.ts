/**
 * What GET /metrics shows beyond the daemon's own counters (docs/FEDERATION_OPERATIONS.md
 * §Monitoring): series that exist from the first scrape (one per routed peer and per namespace,
 * 0 until there is something to count), so an alert can fire on a node that never managed to
 * do its work, and the deliveries of CLI `announce` runs, which happen in another process.
 */
import type { NodeConfig } from "../config/types.js";
import type { Store, BatchSummary } from "../store/index.js";
import type { Delivery } from "./gossip.js";
import type { VersionQuorum } from "./witness.js";

/** Store document holding delivery counts of CLI `announce` runs. */
export const CLI_DELIVERIES_DOC = "metrics-cli-deliveries";

export interface DeliveryTally {
  ok: number;
  failed: number;
}

export interface MetricExtras {
  /** Peer DID → namespaces it is routed for, so its series exist before the first contact. */
  routed: Map<string, string[]>;
  /** Namespace → seconds since the sealing time of the oldest batch version holding a pending anchor (0: none). */
  pendingOldestS: Map<string, number>;
  /** Deliveries made by CLI `announce` on this state. */
  cliDeliveries: DeliveryTally;
}

function readTally(doc: unknown): DeliveryTally {
  const o = (doc ?? {}) as { ok?: unknown; failed?: unknown };
  const n = (v: unknown) => (typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : 0);
  return { ok: n(o.ok), failed: n(o.failed) };
}

/**
 * Adds a CLI `announce`'s deliveries to the tally the daemon reports: delivered counts as ok,
 * queued and refused as failed, as the daemon counts its own.
 * @example await tallyDeliveries(store, [{ peer: "did:vm:node:b", outcome: "delivered" }])
 */
export async function tallyDeliveries(store: Pick<Store, "updateDoc">, deliveries: readonly Delivery[]): Promise<void> {
  if (deliveries.length === 0) return;
  const ok = deliveries.filter((d) => d.outcome === "delivered").length;
  await store.updateDoc<DeliveryTally>(CLI_DELIVERIES_DOC, (t) => {
    const was = readTally(t);
    return { ok: was.ok + ok, failed: was.failed + deliveries.length - ok };
  });
}

/** Seconds since the sealing time of the oldest version in `batches` holding a pending anchor; 0 when none. */
export function oldestPendingS(batches: readonly BatchSummary[], now: number): number {
  const oldest = Math.min(...batches.filter((b) => b.outcomes.pending > 0).map((b) => b.createdAt));
  return Number.isFinite(oldest) ? Math.max(0, now - oldest) : 0;
}

/**
 * Reads the extras of one scrape: routed peers from the configuration, the oldest pending
 * anchor per namespace from the store's index (no version file is read), the CLI tally.
 * @example const extras = await readMetricExtras(store, config, Math.floor(Date.now() / 1000))
 */
export async function readMetricExtras(store: Pick<Store, "getDoc" | "listBatches">, config: NodeConfig, now: number): Promise<MetricExtras> {
  const routed = new Map<string, string[]>();
  const pendingOldestS = new Map<string, number>();
  for (const ns of config.federation.namespaces.values()) {
    for (const peer of ns.peers) routed.set(peer, [...(routed.get(peer) ?? []), ns.name]);
    pendingOldestS.set(ns.name, oldestPendingS(store.listBatches(ns.name), now));
  }
  return { routed, pendingOldestS, cliDeliveries: readTally(await store.getDoc(CLI_DELIVERIES_DOC)) };
}

/**
 * Sealing time of the oldest of `versions` awaiting its quorum, from the store's index
 * (`batches`); undefined when none awaits.
 * @example oldestAwaiting(await node.quorumOf(ns), store.listBatches(ns)) // 1760000000
 */
export function oldestAwaiting(versions: readonly VersionQuorum[], batches: readonly BatchSummary[]): number | undefined {
  const created = new Map(batches.map((b) => [`${b.batchId} ${b.batchRoot} ${b.origin ?? ""}`, b.createdAt]));
  let oldest: number | undefined;
  for (const q of versions) {
    if (q.state !== "awaiting") continue;
    const t = created.get(`${q.batchId} ${q.batchRoot} ${q.origin ?? ""}`);
    if (t !== undefined && (oldest === undefined || t < oldest)) oldest = t;
  }
  return oldest;
}
