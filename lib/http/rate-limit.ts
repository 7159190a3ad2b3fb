/**
 * Token buckets for the per-namespace limits of federation.yaml (`max_*_rate_per_min`),
 * one bucket per (kind, namespace, signer) so that one flooding peer cannot use up another
 * peer's allowance. Pure: time comes in as a parameter.
 */

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  /**
   * Takes one token from the bucket `key` that holds `perMinute` tokens and refills at
   * `perMinute` per minute. Returns 0 when allowed, else the seconds until a token is free.
   * @example const wait = limiter.take(`announce ${ns} ${did}`, 60, Date.now()); if (wait > 0) reply429(wait)
   */
  take(key: string, perMinute: number, nowMs: number): number {
    const ratePerMs = perMinute / 60_000;
    const b = this.buckets.get(key) ?? { tokens: perMinute, updatedMs: nowMs };
    b.tokens = Math.min(perMinute, b.tokens + Math.max(0, nowMs - b.updatedMs) * ratePerMs);
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
