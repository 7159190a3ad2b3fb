/**
 * The replay window across restarts (docs/FEDERATION_PROTOCOL.md §Replay across restarts): on a
 * clean stop `serve` saves the digests still inside their window; on start it restores them and
 * replaces the saved copy with `null` at once. A start that finds that `null` (the last run
 * crashed, so its digests were never saved) raises each signer's floor in the replay horizon
 * (lib/federation/replay-horizon.ts) past what that run may have accepted instead: nothing
 * accepted by an earlier run can be accepted again. A start that finds neither document is the
 * first on this state: nothing was accepted before it.
 */
import type { ReplayCache } from "../messages/replay.js";
import type { Store } from "../store/index.js";
import { HORIZON_DOC, type ReplayHorizon } from "./replay-horizon.js";

/** Store document holding the saved window. */
export const REPLAY_DOC = "replay-window";

interface Saved {
  savedAt: number;
  entries: Array<[string, number]>;
}

/**
 * Restores a saved window into `cache` and the horizon's floors; returns whether the last run
 * crashed (its digests were lost, so floors now stand in for them).
 * @example const { crashed } = await restoreReplayWindow(store, node.replay, horizon, now)
 */
export async function restoreReplayWindow(store: Store, cache: ReplayCache, horizon: ReplayHorizon, now: number): Promise<{ crashed: boolean; restored: number }> {
  const saved = await store.getDoc<Saved | null>(REPLAY_DOC);
  const savedHorizon = await store.getDoc(HORIZON_DOC);
  // Consumed at once: if this run crashes, the next start must not trust a copy missing its digests.
  await store.putDoc(REPLAY_DOC, null);
  // No window but a horizon: the window was removed by hand; trust nothing that is not saved.
  const crashed = saved === undefined ? savedHorizon !== undefined : saved === null || !Array.isArray(saved.entries);
  await horizon.restore(savedHorizon, crashed);
  if (crashed || saved === undefined || saved === null) return { crashed, restored: 0 };
  const before = cache.size;
  cache.restore(saved.entries, now);
  return { crashed, restored: cache.size - before };
}

/**
 * Saves the live part of `cache` (on a clean stop, after in-flight work drained).
 * @example await saveReplayWindow(store, node.replay, now)
 */
export async function saveReplayWindow(store: Store, cache: ReplayCache, now: number): Promise<void> {
  await store.putDoc(REPLAY_DOC, { savedAt: now, entries: cache.snapshot(now) } satisfies Saved);
}
