/**
 * The replay horizon in process (docs/FEDERATION_PROTOCOL.md §Replay across restarts): what it
 * writes and when, what a crash turns into floors, and that it stays bounded. The crash sequences
 * with real processes are in replay-crash.test.ts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ANY_SIGNER, HORIZON_RESERVE_S, ReplayHorizon, type SavedHorizon } from "../../lib/federation/replay-horizon.js";

const SKEW = 300;

function horizon(start = 1_000_000, skewS = SKEW): { h: ReplayHorizon; saves: SavedHorizon[]; clock: { now: number }; fail: { next: boolean } } {
  const saves: SavedHorizon[] = [];
  const clock = { now: start };
  const fail = { next: false };
  const h = new ReplayHorizon({
    save: async (v) => {
      await new Promise((r) => setImmediate(r));
      if (fail.next) {
        fail.next = false;
        throw new Error("disk full");
      }
      saves.push(structuredClone(v));
    },
    now: () => clock.now,
    skewS: () => skewS,
  });
  return { h, saves, clock, fail };
}

describe("federation: the replay horizon", () => {
  test("horizon: one write reserves HORIZON_RESERVE_S ahead; messages inside it need none", async () => {
    const { h, saves, clock } = horizon();
    await h.restore(undefined, false);
    assert.equal(saves.length, 1);
    await h.admit("did:vm:node:b", clock.now);
    assert.deepEqual(saves.at(-1), { signers: [["did:vm:node:b", clock.now + HORIZON_RESERVE_S, 0]], notBefore: clock.now - SKEW });
    for (let ts = clock.now - 5; ts <= clock.now + HORIZON_RESERVE_S; ts++) await h.admit("did:vm:node:b", ts);
    assert.equal(saves.length, 2, "no write for messages already covered");
    await h.admit("did:vm:node:b", clock.now + HORIZON_RESERVE_S + 1);
    assert.equal(saves.length, 3);
  });

  test("horizon: concurrent messages of one signer wait for one write, and none resolves before it", async () => {
    const { h, saves, clock } = horizon();
    await h.restore(undefined, false);
    const order: string[] = [];
    const all = Array.from({ length: 5 }, (_, i) => h.admit("did:vm:node:b", clock.now + i).then(() => order.push(`admitted ${i} after ${saves.length - 1} writes`)));
    await Promise.all(all);
    assert.equal(saves.length, 2, "one write for all five");
    assert.ok(order.every((o) => o.endsWith("after 1 writes")), order.join("; "));
  });

  test("horizon: a failed write refuses the message, and the next one writes again", async () => {
    const { h, saves, clock, fail } = horizon();
    await h.restore(undefined, false);
    fail.next = true;
    await assert.rejects(h.admit("did:vm:node:b", clock.now), /disk full/);
    assert.equal(h.notBefore("did:vm:node:b"), undefined);
    await h.admit("did:vm:node:b", clock.now);
    assert.equal(saves.length, 2);
  });

  test("horizon: after a crash every signer's floor passes what it may have had accepted, and outlives a clean restart", async () => {
    const first = horizon();
    await first.h.restore(undefined, false);
    await first.h.admit("did:vm:node:b", first.clock.now + 60);
    const saved = first.saves.at(-1)!;
    // Crash: the next start raises the floor.
    const second = horizon(first.clock.now + 2);
    await second.h.restore(saved, true);
    assert.equal(second.h.notBefore("did:vm:node:b"), first.clock.now + 60 + HORIZON_RESERVE_S + 1);
    assert.equal(second.h.notBefore("did:vm:node:c"), undefined, "a signer never heard from has no floor");
    // A clean stop and start later keeps the saved floor.
    const third = horizon(first.clock.now + 5);
    await third.h.restore(second.saves.at(-1), false);
    assert.equal(third.h.notBefore("did:vm:node:b"), first.clock.now + 60 + HORIZON_RESERVE_S + 1);
  });

  test("horizon: a crash that left no horizon (an older version's state) sets one floor for every signer, past the skew window", async () => {
    const { h, clock } = horizon();
    await h.restore(undefined, true);
    assert.equal(h.notBefore("did:vm:node:anyone"), clock.now + SKEW + 1);
    assert.equal(h.notBefore(ANY_SIGNER), clock.now + SKEW + 1);
    const malformed = horizon();
    await malformed.h.restore({ signers: [["did:vm:node:b", "soon", 0]] }, true);
    assert.equal(malformed.h.notBefore("did:vm:node:b"), malformed.clock.now + SKEW + 1);
  });

  test("horizon: entries leave once the skew check covers them, so the document stays one entry per recent signer", async () => {
    const { h, saves, clock } = horizon();
    await h.restore(undefined, false);
    for (let i = 0; i < 50; i++) await h.admit(`did:vm:node:p${i}`, clock.now);
    assert.equal(saves.at(-1)!.signers.length, 50);
    clock.now += SKEW + HORIZON_RESERVE_S + 1;
    await h.admit("did:vm:node:late", clock.now);
    assert.deepEqual(saves.at(-1)!.signers.map(([did]) => did), ["did:vm:node:late"]);
    assert.equal(h.size, 1);
  });

  test("horizon: what a write let go of stays refused when clock_skew_s is raised, after a crash too", async () => {
    const narrow = horizon(1_000_000, 5);
    await narrow.h.restore(undefined, false);
    const ts = narrow.clock.now;
    await narrow.h.admit("did:vm:node:b", ts);
    narrow.clock.now += 5 + HORIZON_RESERVE_S + 1;
    await narrow.h.admit("did:vm:node:c", narrow.clock.now);
    assert.deepEqual(narrow.saves.at(-1)!.signers.map(([did]) => did), ["did:vm:node:c"], "b's entry left the document");
    assert.equal(narrow.h.notBefore("did:vm:node:b"), undefined, "nothing beyond the skew check while the skew stays");
    const wide = horizon(narrow.clock.now + 1, SKEW);
    await wide.h.restore(narrow.saves.at(-1), true);
    const floor = wide.h.notBefore("did:vm:node:b");
    assert.ok(floor !== undefined && floor > ts, `floor ${floor} must pass ts ${ts}`);
    // Live: a raise leaves messages signed before now − the old skew refused.
    const live = horizon(2_000_000, 5);
    await live.h.restore(undefined, false);
    live.h.raiseFloor(live.clock.now - 5);
    assert.equal(live.h.notBefore("did:vm:node:b"), undefined, "still at the skew check's edge");
  });
});
