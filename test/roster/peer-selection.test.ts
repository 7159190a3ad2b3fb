import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { observe, selectPeers, type PeerStats } from "../../lib/federation/peer-selection.js";

const peers = ["a", "b", "c", "d", "e", "f"].map((did) => ({ did }));
/** A deterministic source of "random" numbers. */
function seeded(seed: number): () => number {
  let x = seed;
  return () => ((x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}
function stats(entries: Array<[string, number, number?]>): Map<string, PeerStats> {
  return new Map(entries.map(([did, latencyMs, failures]) => [did, { latencyMs, failures: failures ?? 0 }]));
}
const dids = (xs: Array<{ did: string }>) => xs.map((x) => x.did);

describe("peer selection per routing policy (docs/FEDERATION_OPERATIONS.md §Routing policies)", () => {
  test("selection: without a policy every routed peer, in order (a node without a roster)", () => {
    assert.deepEqual(dids(selectPeers(peers, undefined, "announce", new Map(), Math.random)), dids(peers));
    assert.deepEqual(dids(selectPeers(peers, {}, "pull", new Map(), Math.random)), dids(peers));
  });

  test("selection: fanout bounds announces; select all keeps roster order", () => {
    assert.deepEqual(dids(selectPeers(peers, { fanout: 2, select: "all" }, "announce", new Map(), Math.random)), ["a", "b"]);
  });

  test("selection: healthy leaves out peers that failed twice in a row, unless minPeers needs them", () => {
    const s = stats([["a", 5, 2], ["b", 5, 3], ["c", 5], ["d", 5], ["e", 5], ["f", 5]]);
    const chosen = dids(selectPeers(peers, { select: "healthy" }, "announce", s, seeded(1)));
    assert.deepEqual([...chosen].sort(), ["c", "d", "e", "f"]);
    const few = stats(peers.map((p) => [p.did, 5, p.did === "f" ? 0 : 5] as [string, number, number]));
    assert.equal(selectPeers(peers, { select: "healthy", minPeers: 3 }, "announce", few, seeded(1)).length, 3);
  });

  test("selection: pull fastest asks the lowest latency first, a slow or failing peer last", () => {
    const s = stats([["a", 900], ["b", 40], ["c", 3], ["d", 12, 5], ["e", 7], ["f", 20]]);
    assert.deepEqual(dids(selectPeers(peers, { pull: "fastest" }, "pull", s, Math.random)), ["c", "e", "f", "b", "a", "d"]);
  });

  test("selection: lowest-latency anti-entropy spreads over the faster half and never picks the slow peer", () => {
    const s = stats([["a", 900], ["b", 4], ["c", 3], ["d", 5], ["e", 7], ["f", 6]]);
    const seen = new Map<string, number>();
    const random = seeded(7);
    for (let i = 0; i < 200; i++) for (const p of selectPeers(peers, { fanout: 2, select: "lowest-latency" }, "sync", s, random)) seen.set(p.did, (seen.get(p.did) ?? 0) + 1);
    assert.equal(seen.get("a"), undefined, "the slow peer is never a partner");
    assert.deepEqual([...seen.keys()].sort(), ["b", "c", "d"], "partners rotate over the faster half");
  });

  test("selection: observe smooths latency and counts failures in a row", () => {
    const s = new Map<string, PeerStats>();
    observe(s, "a", { ok: true, latencyMs: 100 });
    observe(s, "a", { ok: true, latencyMs: 20 });
    assert.equal(s.get("a")!.latencyMs, 80);
    observe(s, "a", { ok: false });
    observe(s, "a", { ok: false });
    assert.equal(s.get("a")!.failures, 2);
    observe(s, "a", { ok: true });
    assert.equal(s.get("a")!.failures, 0);
  });
});
