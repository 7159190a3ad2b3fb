/**
 * Counters of the daemon and their Prometheus text exposition (version 0.0.4): messages by
 * type and outcome, deliveries failed, requests rate-limited, plus gauges read from the store.
 * Names and labels are listed in docs/FEDERATION_OPERATIONS.md §Monitoring.
 */
import type { StoreCounts } from "../store/index.js";
import type { MetricExtras } from "./metric-extras.js";
import type { StoreGauges } from "./node-gauges.js";

/** What render adds beyond the counters: the per-peer gauges and the build. */
export interface MetricsExtra {
  gauges: StoreGauges;
  version: string;
  /** Batch versions by quorum state, per namespace (docs/FEDERATION_SEMANTICS.md §8. Quorum). */
  quorum?: Map<string, Record<"final" | "awaiting" | "disputed", number> & Partial<Record<"contested" | "witnessFaults", number>>>;
  /** Namespace → unix seconds of the sealing time of its oldest batch version awaiting its quorum (absent: none). */
  awaitingSince?: Map<string, number>;
  /** Routed peers, pending ages and CLI deliveries (lib/federation/metric-extras.ts). */
  extras?: MetricExtras;
  /** Unix seconds now, for the ages; default Date.now(). */
  now?: number;
}

export class Metrics {
  /** "type outcome" → count; outcome is "accepted" or the error code. */
  private readonly messages = new Map<string, number>();
  deliveriesFailed = 0;
  deliveriesSucceeded = 0;
  rateLimited = 0;
  /** Bytes of Request answers and reconcile replies sent (docs/FEDERATION_PROTOCOL.md §Limits). */
  answerBytes = 0;
  /** Reconcile work units answered (docs/FEDERATION_PROTOCOL.md §Limits). */
  reconcileWork = 0;
  bundlesImported = 0;
  /** "rail reason" → verifier calls that ended in an error rather than a verdict. */
  private readonly verifyErrors = new Map<string, number>();
  /** peer DID → whether the last contact (sync, delivery) reached it. */
  private readonly peerUp = new Map<string, boolean>();

  /** Counts a verifier call on `rail` (eip155, btc, rfc3161) that failed with `reason` (e.g. "unreachable"). */
  verifyError(rail: string, reason: string): void {
    const key = `${rail} ${reason}`;
    this.verifyErrors.set(key, (this.verifyErrors.get(key) ?? 0) + 1);
  }

  /** Records whether the latest contact with `peer` reached it. */
  peerContact(peer: string, up: boolean): void {
    this.peerUp.set(peer, up);
  }

  message(type: string, outcome: string): void {
    const key = `${type} ${outcome}`;
    this.messages.set(key, (this.messages.get(key) ?? 0) + 1);
  }

  /** Count of `type` messages with `outcome` so far (for tests and status). */
  messageCount(type: string, outcome: string): number {
    return this.messages.get(`${type} ${outcome}`) ?? 0;
  }

  /**
   * The exposition text, with store gauges.
   * @example res.end(metrics.render(store.counts(), uptimeS))
   */
  render(counts: StoreCounts, uptimeS: number, extra?: MetricsExtra): string {
    const lines: string[] = [];
    const metric = (name: string, type: "counter" | "gauge", help: string, samples: Array<[string, number]>) => {
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
    };
    const esc = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
    metric("vmsh_federation_messages_total", "counter", "Inbound federation messages by type and outcome.", [...this.messages].sort().map(([k, v]) => {
      const [type, outcome] = k.split(" ");
      return [`{type="${esc(type!)}",outcome="${esc(outcome!)}"}`, v];
    }));
    // CLI `announce` delivers from its own process; its tally is kept in the store and added here.
    const cli = extra?.extras?.cliDeliveries ?? { ok: 0, failed: 0 };
    metric("vmsh_federation_deliveries_total", "counter", "Outbound announce deliveries by result, the daemon's and CLI announce's.", [
      ['{result="ok"}', this.deliveriesSucceeded + cli.ok],
      ['{result="failed"}', this.deliveriesFailed + cli.failed],
    ]);
    metric("vmsh_federation_requests_rate_limited_total", "counter", "Inbound requests answered 429.", [["", this.rateLimited]]);
    metric("vmsh_federation_answer_bytes_total", "counter", "Bytes of Request answers and reconcile replies sent to peers.", [["", this.answerBytes]]);
    metric("vmsh_federation_reconcile_work_total", "counter", "Reconcile work units (ranges, items, cells) answered for peers.", [["", this.reconcileWork]]);
    metric("vmsh_federation_bundles_imported_total", "counter", "Bundles pulled from peers and imported.", [["", this.bundlesImported]]);
    metric("vmsh_federation_anchors", "gauge", "Stored anchors by local verification outcome.", (["verified", "pending", "rejected"] as const).map((o) => [`{outcome="${o}"}`, counts.anchors[o]]));
    metric("vmsh_federation_receipts_stored", "gauge", "Receipts in the store.", [["", counts.receipts]]);
    metric("vmsh_federation_batches_stored", "gauge", "Batch versions in the store.", [["", counts.batches]]);
    metric("vmsh_federation_equivocations", "gauge", "Batch ids stored with more than one root.", [["", counts.equivocations]]);
    metric("vmsh_federation_uptime_seconds", "gauge", "Seconds since the daemon started.", [["", uptimeS]]);
    metric("vmsh_federation_verify_errors_total", "counter", "Anchor verifications that ended in an endpoint error instead of a verdict, by rail and reason.", [...this.verifyErrors].sort().map(([k, v]) => {
      const [rail, reason] = k.split(" ");
      return [`{rail="${esc(rail!)}",reason="${esc(reason!)}"}`, v];
    }));
    // Every routed peer has its series from the first scrape (docs/FEDERATION_OPERATIONS.md §Monitoring): 0 until it was reached.
    const routed = extra?.extras?.routed ?? new Map<string, string[]>();
    const up = new Map<string, boolean>([...routed.keys()].map((peer) => [peer, false]));
    for (const [peer, reached] of this.peerUp) up.set(peer, reached);
    metric("vmsh_federation_peer_up", "gauge", "1 when the latest sync or delivery reached the peer, 0 when it failed or a routed peer was not reached yet.", [...up].sort().map(([peer, reached]) => [`{peer="${esc(peer)}"}`, reached ? 1 : 0]));
    if (extra !== undefined) {
      const lastSync = new Map<string, Record<string, number>>();
      for (const [peer, namespaces] of routed) lastSync.set(peer, Object.fromEntries(namespaces.map((ns) => [ns, 0])));
      for (const [peer, byNs] of extra.gauges.lastSync) lastSync.set(peer, { ...(lastSync.get(peer) ?? {}), ...byNs });
      const syncs: Array<[string, number]> = [];
      for (const [peer, byNs] of [...lastSync].sort()) for (const [ns, ts] of Object.entries(byNs).sort()) syncs.push([`{peer="${esc(peer)}",namespace="${esc(ns)}"}`, ts]);
      metric("vmsh_federation_peer_last_sync_timestamp_seconds", "gauge", "Unix time of the last successful anti-entropy sync with the peer, per namespace; 0 for a routed peer never synced.", syncs);
      const depth = new Map<string, number>([...routed.keys()].map((peer) => [peer, 0]));
      for (const [peer, n] of extra.gauges.outboxDepth) depth.set(peer, n);
      metric("vmsh_federation_outbox_depth", "gauge", "Announces queued for the peer, waiting to be delivered; 0 for every routed peer with none.", [...depth].sort().map(([peer, n]) => [`{peer="${esc(peer)}"}`, n]));
      const now = extra.now ?? Math.floor(Date.now() / 1000);
      if (extra.quorum !== undefined) {
        metric("vmsh_federation_quorum_awaiting_oldest_seconds", "gauge", "Seconds since the sealing time of the namespace's oldest batch version awaiting its quorum; 0 when none awaits.", [...extra.quorum.keys()].sort().map((ns) => {
          const since = extra.awaitingSince?.get(ns);
          return [`{namespace="${esc(ns)}"}`, since === undefined ? 0 : Math.max(0, now - since)];
        }));
      }
      if (extra.extras !== undefined) {
        metric("vmsh_federation_anchors_pending_oldest_seconds", "gauge", "Seconds since the sealing time of the namespace's oldest batch version holding a pending anchor; 0 when none.", [...extra.extras.pendingOldestS].sort().map(([ns, s]) => [`{namespace="${esc(ns)}"}`, s]));
      }
      if (extra.quorum !== undefined) {
        const byState: Array<[string, number]> = [];
        for (const [ns, c] of [...extra.quorum].sort()) for (const state of ["final", "awaiting", "disputed"] as const) byState.push([`{namespace="${esc(ns)}",state="${state}"}`, c[state]]);
        metric("vmsh_federation_batches_by_quorum", "gauge", "Batch versions by quorum state (final, awaiting, disputed), per namespace.", byState);
        // Present for every configured namespace, 0 when none, so an alert rule never sees an absent series.
        metric("vmsh_federation_contested_roots", "gauge", "Roots held under checkpoints of two or more origins, or of one origin with two shapes, per namespace.", [...extra.quorum].sort().map(([ns, c]) => [`{namespace="${esc(ns)}"}`, c.contested ?? 0]));
        metric("vmsh_federation_witness_faults", "gauge", "Cosignatures by listed witnesses of checkpoints no origin signed (as far as this node holds), per namespace.", [...extra.quorum].sort().map(([ns, c]) => [`{namespace="${esc(ns)}"}`, c.witnessFaults ?? 0]));
      }
      metric("vmsh_federation_build_info", "gauge", "Always 1; the version label is the running release.", [[`{version="${esc(extra.version)}"}`, 1]]);
    }
    return `${lines.join("\n")}\n`;
  }
}
