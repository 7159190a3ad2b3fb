/**
 * The daemon's account of re-checks that could not reach an endpoint: each one is counted in
 * /metrics (`vmsh_federation_verify_errors_total{rail,reason="unreachable"}`), and logged at
 * most once per `everyS` per namespace and chain, with how many were not logged in between
 * (docs/FEDERATION_SEMANTICS.md §9. Endpoint outages).
 */
import type { ReverifiedAnchor } from "../pipeline/reverify.js";
import type { Logger } from "./log.js";
import type { Metrics } from "./metrics.js";

/** Default gap between two log lines about the same namespace and chain: 10 minutes. */
export const RECHECK_LOG_EVERY_S = 600;

export class RecheckFailureLog {
  readonly #log: Logger;
  readonly #metrics: Metrics;
  readonly #everyS: number;
  /** "namespace chain" → when last logged (unix s) and failures since then not logged. */
  readonly #last = new Map<string, { at: number; quiet: number }>();

  constructor(log: Logger, metrics: Metrics, everyS: number = RECHECK_LOG_EVERY_S) {
    this.#log = log;
    this.#metrics = metrics;
    this.#everyS = everyS;
  }

  /**
   * Counts and (rate-limited) logs the anchors of one re-check run whose endpoint failed.
   * @example failures.note(result.anchors, Math.floor(Date.now() / 1000))
   */
  note(anchors: readonly ReverifiedAnchor[], nowS: number): void {
    for (const a of anchors) {
      if (a.recheckFailed === undefined) continue;
      this.#metrics.verifyError(a.chain.split(":")[0] ?? a.chain, "unreachable");
      const key = `${a.namespace} ${a.chain}`;
      const last = this.#last.get(key);
      if (last !== undefined && nowS - last.at < this.#everyS) {
        last.quiet++;
        continue;
      }
      this.#last.set(key, { at: nowS, quiet: 0 });
      const fields: Record<string, unknown> = { namespace: a.namespace, batch: a.batchId, chain: a.chain, tx: a.tx, kept: a.outcome, error: a.recheckFailed.reason };
      if (last !== undefined && last.quiet > 0) fields.notLoggedSince = last.quiet;
      this.#log.warn("anchor re-check failed; verdict kept", fields);
    }
  }
}
