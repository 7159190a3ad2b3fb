/**
 * Work budgets (docs/FEDERATION_PROTOCOL.md §Limits): token buckets counted in the work a
 * message causes (bytes answered, ranges and items reconciled), not in messages. A bucket
 * refills continuously and holds a few seconds' worth. A message may start while its sender's
 * bucket is not in debt; what it actually cost is charged afterwards, so the bucket may go
 * below zero and the sender then waits until it has paid back. Over any window of T seconds a
 * sender gets at most capacity + rate × T, plus one message's worth. Pure: time comes in as a
 * parameter.
 */

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export interface WorkRate {
  /** Units per second, refilled continuously. */
  perS: number;
  /** Seconds' worth the bucket holds when full. */
  burstS: number;
}

export class WorkBudget {
  readonly #buckets = new Map<string, Bucket>();

  #bucket(key: string, rate: WorkRate, nowMs: number): Bucket {
    const capacity = rate.perS * rate.burstS;
    const b = this.#buckets.get(key) ?? { tokens: capacity, updatedMs: nowMs };
    b.tokens = Math.min(capacity, b.tokens + (Math.max(0, nowMs - b.updatedMs) * rate.perS) / 1000);
    b.updatedMs = nowMs;
    this.#buckets.set(key, b);
    if (this.#buckets.size > 10_000) this.#prune(nowMs);
    return b;
  }

  /**
   * 0 when `key` may start a message now (its bucket is not in debt), else the whole seconds
   * until it may.
   * @example const wait = budget.wait(`answer ${did}`, { perS: 2e6, burstS: 4 }, Date.now())
   */
  wait(key: string, rate: WorkRate, nowMs: number): number {
    const b = this.#bucket(key, rate, nowMs);
    return b.tokens > 0 ? 0 : Math.max(1, Math.ceil((-b.tokens + 1) / rate.perS));
  }

  /**
   * Charges `units` of work done for `key`.
   * @example budget.charge(`answer ${did}`, bytes, rate, Date.now())
   */
  charge(key: string, units: number, rate: WorkRate, nowMs: number): void {
    this.#bucket(key, rate, nowMs).tokens -= units;
  }

  /** Units left in `key`'s bucket now (negative: debt). */
  available(key: string, rate: WorkRate, nowMs: number): number {
    return this.#bucket(key, rate, nowMs).tokens;
  }

  /** Forgets buckets idle long enough to be full again (debt older than ten minutes is forgiven). */
  #prune(nowMs: number): void {
    for (const [k, b] of this.#buckets) if (nowMs - b.updatedMs > 600_000) this.#buckets.delete(k);
  }
}
