/**
 * Counters of the daemon and their Prometheus text exposition (version 0.0.4): messages by
 * type and outcome, deliveries failed, requests rate-limited, plus gauges read from the store.
 */
import type { StoreCounts } from "../store/index.js";

export class Metrics {
  /** "type outcome" → count; outcome is "accepted" or the error code. */
  private readonly messages = new Map<string, number>();
  deliveriesFailed = 0;
  deliveriesSucceeded = 0;
  rateLimited = 0;
  bundlesImported = 0;

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
  render(counts: StoreCounts, uptimeS: number): string {
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
    metric("vmsh_federation_deliveries_total", "counter", "Outbound announce deliveries by result.", [
      ['{result="ok"}', this.deliveriesSucceeded],
      ['{result="failed"}', this.deliveriesFailed],
    ]);
    metric("vmsh_federation_requests_rate_limited_total", "counter", "Inbound requests answered 429.", [["", this.rateLimited]]);
    metric("vmsh_federation_bundles_imported_total", "counter", "Bundles pulled from peers and imported.", [["", this.bundlesImported]]);
    metric("vmsh_federation_anchors", "gauge", "Stored anchors by local verification outcome.", (["verified", "pending", "rejected"] as const).map((o) => [`{outcome="${o}"}`, counts.anchors[o]]));
    metric("vmsh_federation_receipts_stored", "gauge", "Receipts in the store.", [["", counts.receipts]]);
    metric("vmsh_federation_batches_stored", "gauge", "Batch versions in the store.", [["", counts.batches]]);
    metric("vmsh_federation_equivocations", "gauge", "Batch ids stored with more than one root.", [["", counts.equivocations]]);
    metric("vmsh_federation_uptime_seconds", "gauge", "Seconds since the daemon started.", [["", uptimeS]]);
    return `${lines.join("\n")}\n`;
  }
}
