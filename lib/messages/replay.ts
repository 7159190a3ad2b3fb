/**
 * Remembers the digests of accepted messages for as long as their `ts` is inside the
 * clock-skew window; after that the skew check refuses them anyway, so memory is bounded
 * by (message rate × window). Pure: time is passed in.
 */

export class ReplayCache {
  /** digest → unix second after which the entry may be forgotten. */
  private readonly entries = new Map<string, number>();
  private readonly maxEntries: number;

  /** @param maxEntries hard cap; past it the entries closest to expiry go first. */
  constructor(maxEntries = 200_000) {
    this.maxEntries = maxEntries;
  }

  /** True if a message with this digest was accepted and is still in its window. */
  seen(digest: string, now: number): boolean {
    const until = this.entries.get(digest);
    return until !== undefined && until >= now;
  }

  /** Records an accepted message; `until` is its ts + skew. */
  remember(digest: string, until: number, now: number): void {
    if (this.entries.size >= this.maxEntries) this.prune(now);
    this.entries.set(digest, until);
  }

  /** Forgets a digest: a message refused after authentication (rate limit) may be sent again. */
  forget(digest: string): void {
    this.entries.delete(digest);
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * Keeps every entry `seconds` longer: the clock-skew window was widened, so messages already
   * accepted stay inside it that much longer and must be remembered as long.
   */
  lengthen(seconds: number): void {
    if (!(seconds > 0)) return;
    for (const [d, until] of this.entries) this.entries.set(d, until + seconds);
  }

  /** The entries still inside their window at `now`, for saving across a restart. */
  snapshot(now: number): Array<[string, number]> {
    return [...this.entries].filter(([, until]) => until >= now);
  }

  /** Adds saved entries (as from `snapshot`) that are still inside their window at `now`. */
  restore(entries: ReadonlyArray<readonly [string, number]>, now: number): void {
    for (const [digest, until] of entries) if (typeof digest === "string" && typeof until === "number" && until >= now) this.remember(digest, until, now);
  }

  private prune(now: number): void {
    for (const [d, until] of this.entries) if (until < now) this.entries.delete(d);
    if (this.entries.size < this.maxEntries) return;
    // Still full of live entries: drop the soonest-expiring tenth. A message evicted this
    // way could be replayed inside its window, which the rate limits bound; documented.
    const sorted = [...this.entries].sort((a, b) => a[1] - b[1]);
    for (const [d] of sorted.slice(0, Math.ceil(this.maxEntries / 10))) this.entries.delete(d);
  }
}
