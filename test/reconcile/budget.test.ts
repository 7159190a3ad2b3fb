// The responder's bounds (docs/FEDERATION_PROTOCOL.md §Limits): replies capped relative to the
// request except for the items the peer lacks, work counted, answers given in slices. Counted, not timed.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { replyCap } from "../../lib/federation/budgets.js";
import { LIMITS } from "../../lib/messages/limits.js";
import { seededRandom } from "../../lib/reconcile/limits.js";
import { decodePayload, PayloadWriter, type RangeBody } from "../../lib/reconcile/payload.js";
import { respond, respondInSlices, type ReconcilePart } from "../../lib/reconcile/session.js";
import { exchange, idOf, indexOf, keyName, keysOf, BASE_TS } from "./exchange.js";

const NS = "dao:vaultmesh";
const MINE = keysOf([...Array(3000).keys()]);
const THEIRS = keysOf([...Array(3000).keys()].filter((i) => i % 9 !== 0));
const bytesOf = (parts: readonly ReconcilePart[]) => parts.reduce((n, p) => n + p.payload.length, 0);
const opts = { random: seededRandom(1), maxMessageBytes: LIMITS.maxReconcilePayloadBytes };

function one(body: RangeBody): ReconcilePart[] {
  const w = new PayloadWriter(0, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
  w.range(null, body);
  return [{ namespace: NS, payload: w.bytes() }];
}

describe("reconcile: the responder's amplification cap", () => {
  const index = indexOf(THEIRS);

  test("respond: a tiny `more` asking for 37,000 cells gets a reply within the cap, not megabytes of cells", () => {
    const ask = one({ mode: "more", count: 37_000 });
    const requestBytes = bytesOf(ask);
    const uncapped = respond(() => index, ask, opts);
    assert.ok(uncapped.ok && bytesOf(uncapped.reply) > 1_000_000, "without the cap the cells are sent: the attack of issue #27");
    const capped = respond(() => index, ask, opts, replyCap(requestBytes));
    assert.ok(capped.ok);
    assert.ok(bytesOf(capped.reply) <= replyCap(requestBytes), `${bytesOf(capped.reply)} bytes`);
    const back = decodePayload(capped.reply[0]!.payload, 100);
    assert.ok(back.ok && back.payload.ranges.every((r) => r.body.mode === "fingerprint"), "the range goes back as a fingerprint, which the initiator splits");
  });

  test("exchange: with the cap, scattered differences are found exactly as without it", () => {
    const capped = exchange(new Map([[NS, indexOf(MINE)]]), (m, round) => respond(() => index, m, { random: seededRandom(7000 + round), maxMessageBytes: LIMITS.maxReconcilePayloadBytes }, replyCap(bytesOf(m))), { maxMessageBytes: LIMITS.maxReconcilePayloadBytes });
    assert.equal(capped.error, undefined);
    const have = new Set(capped.initiator[0]!.have.map(keyName));
    const expected = [...Array(3000).keys()].filter((i) => i % 9 === 0).map((i) => idOf(i));
    assert.deepEqual([...have].map((k) => k.split(" ").pop()).sort(), expected.sort());
    assert.equal(capped.initiator[0]!.need.length, 0);
  });

  test("exchange: a fresh node's catch-up is not slowed: the items it lacks are outside the cap", () => {
    const big = indexOf(keysOf([...Array(60_000).keys()]));
    const run = (cap: boolean) => exchange(new Map([[NS, indexOf([])]]), (m, round) => respond(() => big, m, { random: seededRandom(round), maxMessageBytes: LIMITS.maxReconcilePayloadBytes }, cap ? replyCap(bytesOf(m)) : undefined), { maxMessageBytes: LIMITS.maxReconcilePayloadBytes });
    const capped = run(true);
    const free = run(false);
    assert.equal(capped.error, undefined);
    assert.equal(capped.initiator[0]!.need.length, 60_000);
    assert.equal(capped.roundTrips, free.roundTrips);
  });
});

describe("reconcile: work counted and answered in slices", () => {
  test("respondInSlices: many fingerprint ranges are counted as work and answered with pauses between slices; the reply is respond's", async () => {
    const index = indexOf(THEIRS);
    const w = new PayloadWriter(0);
    const ranges = 20_000;
    for (let i = 1; i <= ranges; i++) w.range(i === ranges ? null : { ts: BASE_TS + i, id: new Uint8Array(0) }, { mode: "fingerprint", count: 1, fingerprint: new Uint8Array(16) });
    const message = [{ namespace: NS, payload: w.bytes() }];
    let pauses = 0;
    const sliced = await respondInSlices(() => index, message, { random: seededRandom(3), maxMessageBytes: LIMITS.maxReconcilePayloadBytes }, { work: 512, pause: async () => void pauses++ });
    const whole = respond(() => index, message, { random: seededRandom(3), maxMessageBytes: LIMITS.maxReconcilePayloadBytes });
    assert.ok(sliced.ok && whole.ok);
    assert.ok(sliced.work >= 2 * ranges, `work ${sliced.work}: each range is read twice (estimate, answer)`);
    assert.ok(pauses >= Math.floor(sliced.work / 512) - 1, `${pauses} pauses for ${sliced.work} units`);
    assert.deepEqual(sliced.reply, whole.reply);
  });
});
