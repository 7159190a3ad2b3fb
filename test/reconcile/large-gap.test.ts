/**
 * A range too big for one message (docs/ANTI_ENTROPY.md §Catching up): a node with nothing, or
 * with a few receipts, against a peer whose listing exceeds `maxMessageBytes`. Before, the
 * responder deferred the whole range, the initiator listed the same few ids again, and the
 * session ended at the round limit with nothing learned.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { exchange, honest, indexOf, keyName, keysOf } from "./exchange.js";

const LIMITS = { maxMessageBytes: 2 * 1024 * 1024 };
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe("reconcile: a gap larger than one message", () => {
  test("a node with nothing learns all 100,000 of the peer's receipts, over a few rounds of ≤ 2 MiB", () => {
    const fresh = new Map([["ns", indexOf([])]]);
    const full = new Map([["ns", indexOf(keysOf(range(0, 100_000), 200))]]);
    const r = exchange(fresh, honest(full, LIMITS), LIMITS);
    assert.equal(r.error, undefined);
    assert.ok(r.roundTrips >= 2 && r.roundTrips <= 4, `${r.roundTrips} round trips`);
    assert.deepEqual(new Set(r.initiator[0]!.need.map((k) => k.id)), new Set(keysOf(range(0, 100_000), 200).map((k) => k.id)));
    assert.equal(r.initiator[0]!.have.length, 0);
  });

  test("a node with a few receipts of its own learns the peer's 100,000 and the peer learns its few", () => {
    const mine = keysOf(range(0, 10), 200, "own");
    const few = new Map([["ns", indexOf(mine)]]);
    const full = new Map([["ns", indexOf(keysOf(range(0, 100_000), 200))]]);
    const r = exchange(few, honest(full, LIMITS), LIMITS);
    assert.equal(r.error, undefined);
    assert.equal(r.initiator[0]!.need.length, 100_000);
    const learned = new Set([...r.initiator[0]!.have.map(keyName), ...(r.responder.get("ns")?.need ?? [])]);
    for (const k of mine) assert.ok(learned.has(keyName(k)), `${k.id} is found missing on one side or the other`);
  });
});
