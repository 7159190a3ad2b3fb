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
  /** `clock_skew_s` when saved (absent in older state): a start with a wider window keeps each entry that much longer. */
  skewS?: number;
  /** Messages signed before this may have been accepted and forgotten (absent in older state). */
  notBefore?: number;
}

/**
 * Restores a saved window into `cache` and the horizon's floors; returns whether the last run
 * crashed (its digests were lost, so floors now stand in for them).
 * @example const { crashed } = await restoreReplayWindow(store, node.replay, horizon, now, 300)
 */
export async function restoreReplayWindow(store: Store, cache: ReplayCache, horizon: ReplayHorizon, now: number, skewS: number): Promise<{ crashed: boolean; restored: number }> {
  const saved = await store.getDoc<Saved | null>(REPLAY_DOC);
  const savedHorizon = await store.getDoc(HORIZON_DOC);
  // Consumed at once: if this run crashes, the next start must not trust a copy missing its digests.
  await store.putDoc(REPLAY_DOC, null);
  // No window but a horizon: the window was removed by hand; trust nothing that is not saved.
  const crashed = saved === undefined ? savedHorizon !== undefined : saved === null || !Array.isArray(saved.entries);
  const clean = !crashed && saved !== undefined && saved !== null;
  // What the stopped run had forgotten was signed before its now − skew: refused whatever the skew is now.
  const floorAll = clean ? Math.max(safeInt(saved.notBefore), safeInt(saved.savedAt) - safeInt(saved.skewS ?? skewS)) : 0;
  await horizon.restore(savedHorizon, crashed, floorAll);
  if (!clean) return { crashed, restored: 0 };
  const before = cache.size;
  const wider = Math.max(0, skewS - safeInt(saved.skewS ?? skewS));
  cache.restore(wider === 0 ? saved.entries : saved.entries.map(([digest, until]) => [digest, until + wider] as const), now);
  return { crashed, restored: cache.size - before };
}

/**
 * Saves the live part of `cache` (on a clean stop, after in-flight work drained).
 * @example await saveReplayWindow(store, node.replay, horizon, now, 300)
 */
export async function saveReplayWindow(store: Store, cache: ReplayCache, horizon: ReplayHorizon, now: number, skewS: number): Promise<void> {
  await store.putDoc(REPLAY_DOC, { savedAt: now, entries: cache.snapshot(now), skewS, notBefore: Math.max(horizon.floorAll, now - skewS) } satisfies Saved);
}

function safeInt(value: unknown): number {
  return typeof value === "number" && Number.isSafeInteger(value) ? value : 0;
}
