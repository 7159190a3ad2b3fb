/**
 * Choosing peers per a namespace's routing policy
 * (docs/FEDERATION_OPERATIONS.md §Routing policies): what the node measured of each peer (latency of its last answers, consecutive
 * failures) and the policy `{ fanout, select, pull, minPeers }` in, an ordered list of peers
 * out. Pure: the measurements and the random source come in as parameters. Without a policy
 * the answer is the routed peers as they are, which is how a node without a roster behaves.
 */
import type { RoutingPolicy } from "../roster/document.js";

/** What the node measured of one peer. */
export interface PeerStats {
  /** Smoothed latency of the peer's answers, ms; undefined until one was measured. */
  latencyMs?: number;
  /** Failed calls in a row; 0 after an answer. */
  failures: number;
}

/** A peer is healthy until this many calls in a row failed. */
export const UNHEALTHY_AFTER_FAILURES = 2;

export type Purpose = "announce" | "pull" | "sync";

const healthy = (s: PeerStats | undefined) => (s?.failures ?? 0) < UNHEALTHY_AFTER_FAILURES;
const latency = (s: PeerStats | undefined) => s?.latencyMs ?? Number.POSITIVE_INFINITY;

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/**
 * The peers to use for `purpose`, best first. `announce` and `sync` take at most `fanout`;
 * `pull` returns every candidate in the order to try them.
 * @example selectPeers(routed, { fanout: 2, select: "healthy" }, "announce", stats, Math.random)
 */
export function selectPeers<P extends { did: string }>(peers: readonly P[], policy: RoutingPolicy | undefined, purpose: Purpose, stats: ReadonlyMap<string, PeerStats>, random: () => number): P[] {
  if (policy === undefined || Object.keys(policy).length === 0) return [...peers];
  const byLatency = (a: P, b: P) => latency(stats.get(a.did)) - latency(stats.get(b.did));
  const healthyFirst = (list: P[]) => [...list.filter((p) => healthy(stats.get(p.did))), ...list.filter((p) => !healthy(stats.get(p.did)))];
  if (purpose === "pull") {
    // Every holder stays a fallback; the policy decides the order they are asked in.
    const ordered = policy.pull === "fastest" ? [...peers].sort(byLatency) : shuffle([...peers], random);
    return healthyFirst(ordered);
  }
  let chosen: P[];
  switch (policy.select ?? "all") {
    case "all":
      // Announces go to the first `fanout` in roster order; anti-entropy rotates over all of them.
      chosen = purpose === "sync" ? shuffle([...peers], random) : [...peers];
      break;
    case "healthy":
      chosen = shuffle(peers.filter((p) => healthy(stats.get(p.did))), random);
      break;
    case "lowest-latency":
      chosen = healthyFirst([...peers].sort(byLatency));
      // Anti-entropy partners spread over the faster half, so that the same few pairs do not
      // reconcile forever while the rest of the mesh is never asked.
      if (purpose === "sync") chosen = shuffle(chosen.slice(0, Math.max(policy.fanout ?? 0, Math.ceil(chosen.length / 2))), random);
      break;
    case "random":
      chosen = shuffle([...peers], random);
      break;
  }
  // `minPeers`: never fewer than this, healthy or not.
  const min = Math.min(policy.minPeers ?? 0, peers.length);
  if (chosen.length < min) chosen.push(...peers.filter((p) => !chosen.includes(p)).slice(0, min - chosen.length));
  const fanout = Math.max(policy.fanout ?? chosen.length, min);
  return chosen.slice(0, fanout);
}

/**
 * Folds one observation into a peer's stats: latency smoothed (new = ¾ old + ¼ sample), failures counted in a row.
 * @example observe(stats, "did:vm:node:b", { ok: true, latencyMs: 12 })
 */
export function observe(stats: Map<string, PeerStats>, did: string, result: { ok: boolean; latencyMs?: number }): void {
  const s = stats.get(did) ?? { failures: 0 };
  if (!result.ok) s.failures++;
  else {
    s.failures = 0;
    if (result.latencyMs !== undefined) s.latencyMs = s.latencyMs === undefined ? result.latencyMs : Math.round((s.latencyMs * 3 + result.latencyMs) / 4);
  }
  stats.set(did, s);
}
