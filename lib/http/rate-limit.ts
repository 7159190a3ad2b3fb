/**
 * Token buckets for the per-namespace limits of federation.yaml (`max_*_rate_per_min`),
 * one bucket per (kind, namespace, signer) so that one flooding peer cannot use up another
 * peer's allowance, and for the per-address limit in front of every federation endpoint.
 * A bucket holds a few seconds' worth, never a minute's (docs/FEDERATION_PROTOCOL.md §Limits):
 * a sender that waited a minute gets a short burst, then the steady rate. Pure: time comes in
 * as a parameter.
 */

interface Bucket {
  tokens: number;
  updatedMs: number;
}

/** Seconds' worth of messages a bucket holds when full (docs/FEDERATION_PROTOCOL.md §Limits). */
export const BURST_S = 10;

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  /**
   * Takes one token from the bucket `key` that refills continuously at `perMinute` per minute
   * and holds at most `burstS` seconds' worth (at least one). Returns 0 when allowed, else the
   * seconds until a token is free.
   * @example const wait = limiter.take(`announce ${ns} ${did}`, 60, Date.now()); if (wait > 0) reply429(wait)
   */
  take(key: string, perMinute: number, nowMs: number, burstS: number = BURST_S): number {
    const ratePerMs = perMinute / 60_000;
    const capacity = Math.max(1, (perMinute * burstS) / 60);
    const b = this.buckets.get(key) ?? { tokens: capacity, updatedMs: nowMs };
    b.tokens = Math.min(capacity, b.tokens + Math.max(0, nowMs - b.updatedMs) * ratePerMs);
    b.updatedMs = nowMs;
    this.buckets.set(key, b);
    if (this.buckets.size > 10_000) this.prune(nowMs);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / ratePerMs / 1000));
  }

  /** Forgets buckets idle long enough to be full again. */
  private prune(nowMs: number): void {
    for (const [k, b] of this.buckets) if (nowMs - b.updatedMs > 120_000) this.buckets.delete(k);
  }
}
