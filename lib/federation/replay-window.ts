/**
 * The replay window across restarts (docs/FEDERATION_PROTOCOL.md §Verification order): on a
 * clean stop `serve` saves the digests still inside their window; on start it restores them and
 * replaces the saved copy with `null` at once. A start that finds that `null` (the last run
 * crashed, so its digests were never saved) refuses every message signed before the start
 * instead: nothing accepted by an earlier run can be accepted again. A start that finds no
 * document at all is the first on this state: nothing was accepted before it.
 */
import type { ReplayCache } from "../messages/replay.js";
import type { Store } from "../store/index.js";

/** Store document holding the saved window. */
export const REPLAY_DOC = "replay-window";

interface Saved {
  savedAt: number;
  entries: Array<[string, number]>;
}

/**
 * Restores a saved window into `cache`; returns the `notBefore` to enforce when there was none.
 * @example const { notBefore } = await restoreReplayWindow(store, node.replay, now)
 */
export async function restoreReplayWindow(store: Store, cache: ReplayCache, now: number): Promise<{ notBefore?: number; restored: number }> {
  const saved = await store.getDoc<Saved | null>(REPLAY_DOC);
  // Consumed at once: if this run crashes, the next start must not trust a copy missing its digests.
  await store.putDoc(REPLAY_DOC, null);
  if (saved === undefined) return { restored: 0 };
  if (saved === null || !Array.isArray(saved.entries)) return { notBefore: now, restored: 0 };
  const before = cache.size;
  cache.restore(saved.entries, now);
  return { restored: cache.size - before };
}

/**
 * Saves the live part of `cache` (on a clean stop, after in-flight work drained).
 * @example await saveReplayWindow(store, node.replay, now)
 */
export async function saveReplayWindow(store: Store, cache: ReplayCache, now: number): Promise<void> {
  await store.putDoc(REPLAY_DOC, { savedAt: now, entries: cache.snapshot(now) } satisfies Saved);
}
