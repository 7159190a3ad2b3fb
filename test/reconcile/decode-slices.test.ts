/**
 * A reconcile payload is decoded, and a range's cells computed, in slices when a node answers
 * (lib/reconcile/payload.ts decodingPayload, lib/reconcile/cells.ts cellsInSlices;
 * docs/FEDERATION_PROTOCOL.md §Answering without holding the event loop): the 95,000-range
 * payload of the reconcile flood pauses every DECODE_SLICE_RANGES ranges before any range is
 * answered, and `more` cells of one range of 50,000 items pause every slice of items. Counted, never timed.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DECODE_SLICE_RANGES, decodePayload, decodingPayload, PayloadWriter } from "../../lib/reconcile/payload.js";
import { randomBytes } from "node:crypto";
import { ReconcileIndex } from "../../lib/reconcile/reconcile-index.js";
import { respond, respondInSlices } from "../../lib/reconcile/session.js";

const RANGES = 95_000;

/** `n` fingerprint ranges with increasing bounds, closed by +∞; `trailing` appends a byte after it. */
function floodPayload(n: number, trailing = false): Uint8Array {
  const w = new PayloadWriter(0);
  for (let i = 0; i < n - 1; i++) w.range({ ts: i + 1, id: new Uint8Array(0) }, { mode: "fingerprint", count: 1, fingerprint: new Uint8Array(16).fill(i & 0xff) });
  w.range(null, { mode: "fingerprint", count: 1, fingerprint: new Uint8Array(16) });
  const bytes = w.bytes();
  return trailing ? Uint8Array.from([...bytes, 0]) : bytes;
}

describe("reconcile: a large payload is decoded in slices", () => {
  test("decode slices: 95,000 ranges pause after every DECODE_SLICE_RANGES and decode as decodePayload does", () => {
    const bytes = floodPayload(RANGES);
    const decoding = decodingPayload(bytes, 100_000, 2, DECODE_SLICE_RANGES);
    let pauses = 0;
    let r = decoding.next();
    while (r.done !== true) {
      pauses++;
      r = decoding.next();
    }
    assert.equal(pauses, Math.floor(RANGES / DECODE_SLICE_RANGES));
    assert.deepEqual(r.value, decodePayload(bytes, 100_000));
    assert.equal(r.value.ok && r.value.payload.ranges.length, RANGES);
  });

  test("decode slices: respondInSlices pauses while it decodes, before answering any range (a payload refused at its very end)", async () => {
    const bytes = floodPayload(RANGES, true);
    let pauses = 0;
    const r = await respondInSlices(() => undefined, [{ namespace: "dao:vaultmesh", payload: bytes }], { random: Math.random }, { work: 2000, pause: async () => void pauses++ });
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, /bytes after the \+∞ bound/);
    assert.ok(pauses >= Math.floor(RANGES / DECODE_SLICE_RANGES), `${pauses} pauses while decoding ${RANGES} ranges`);
  });

  test("cells slices: `more` cells of one range of 50,000 items are computed with a pause every 2,000 items; the reply is respond's", async () => {
    const index = new ReconcileIndex();
    index.insert(Array.from({ length: 50_000 }, (_, i) => ({ ts: 1_700_000_000 + i, id: `sha256:${randomBytes(32).toString("hex")}` })));
    const w = new PayloadWriter(0, new Uint8Array(8).fill(3));
    w.range(null, { mode: "more", count: 64 });
    const parts = [{ namespace: "dao:vaultmesh", payload: w.bytes() }];
    let pauses = 0;
    const sliced = await respondInSlices(() => index, parts, { random: () => 0.5 }, { work: 2_000, pause: async () => void pauses++ });
    const whole = respond(() => index, parts, { random: () => 0.5 });
    assert.equal(sliced.ok, true, JSON.stringify(sliced).slice(0, 200));
    assert.deepEqual({ ...sliced, work: undefined }, { ...whole, work: undefined });
    const reply = decodePayload((sliced as { reply: Array<{ payload: Uint8Array }> }).reply[0]!.payload, 10);
    assert.equal(reply.ok && reply.payload.ranges[0]!.body.mode, "cells");
    assert.ok(pauses >= 50_000 / 2_000 - 1, `${pauses} pauses while the cells of 50,000 items were computed`);
  });
});
