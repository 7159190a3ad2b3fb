import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { seededRandom } from "../../lib/reconcile/limits.js";
import { PayloadWriter, type RangeBody } from "../../lib/reconcile/payload.js";
import type { ReconcileIndex } from "../../lib/reconcile/reconcile-index.js";
import { respond, type ReconcilePart, type RespondResult } from "../../lib/reconcile/session.js";
import type { ReceiptKey } from "../../lib/store/types.js";
import { exchange, honest, idOf, indexOf, keyName, keysOf, type Responder } from "./exchange.js";

const NS = "dao:vaultmesh";
const MINE = keysOf([...Array(3000).keys()]);
const THEIRS = keysOf([...Array(3000).keys()].filter((i) => i % 9 !== 0));

function reply(parts: ReconcilePart[]): RespondResult {
  return { ok: true, reply: parts, deltas: [] };
}

/** The short-id offset the initiator chose, read back from its first message (byte 1 of any payload). */
const offsetOf = (message: readonly ReconcilePart[]) => message[0]!.payload[1]!;

function crafted(message: readonly ReconcilePart[], ...ranges: Array<[{ ts: number; id: Uint8Array } | null, RangeBody]>): RespondResult {
  const w = new PayloadWriter(offsetOf(message));
  for (const [upper, body] of ranges) w.range(upper, body);
  return reply([{ namespace: NS, payload: w.bytes() }]);
}

/** Runs the honest initiator against `responder` and checks the invariants a liar must not break. */
function againstLiar(responder: Responder, limits = {}) {
  const mine = indexOf(MINE);
  const r = exchange(new Map([[NS, mine]]), responder, limits);
  const own = new Set(MINE.map(keyName));
  const d = r.initiator[0]!;
  for (const k of d.have) assert.ok(own.has(keyName(k)), "have lists only keys this side holds");
  for (const k of d.need) assert.ok(!own.has(keyName(k)), "need never lists a key this side holds");
  assert.equal(new Set(d.have.map(keyName)).size, d.have.length);
  assert.equal(new Set(d.need.map(keyName)).size, d.need.length);
  return r;
}

const randomBytes = (random: () => number, n: number) => Uint8Array.from({ length: n }, () => Math.floor(random() * 256));

describe("reconcile against a hostile responder", () => {
  test("hostile: random fingerprints in every reply end the session at the round limit with an error", () => {
    const random = seededRandom(5);
    const r = againstLiar((m) => crafted(m, [null, { mode: "fingerprint", count: 3000, fingerprint: randomBytes(random, 16) }]));
    assert.match(r.error ?? "", /no agreement after 32 rounds/);
    assert.equal(r.roundTrips, 32);
  });

  test("hostile: a responder that always differs and splits forever is stopped by maxRounds", () => {
    const random = seededRandom(6);
    const splitForever: Responder = (m) =>
      crafted(m, ...Array.from({ length: 16 }, (_, i): [{ ts: number; id: Uint8Array } | null, RangeBody] => [i === 15 ? null : { ts: MINE[i * 180]!.ts, id: randomBytes(random, 2) }, { mode: "fingerprint", count: 1, fingerprint: randomBytes(random, 16) }]).sort((a, b) => (a[0] === null ? 1 : b[0] === null ? -1 : a[0].ts - b[0].ts)));
    const r = againstLiar(splitForever, { maxRounds: 8 });
    assert.ok(r.error !== undefined && r.roundTrips <= 8, `${r.roundTrips} rounds, ${r.error}`);
  });

  test("hostile: a responder claiming ids the initiator holds, or outside the range it answers, cannot plant them", () => {
    const fake = keysOf([1_000_001, 1_000_002], 10, "fake");
    const claims = [...MINE.slice(0, 100), ...fake].sort((a, b) => a.ts - b.ts || (a.id < b.id ? -1 : 1));
    const wire = (k: ReceiptKey) => ({ ts: k.ts, id: Uint8Array.from(Buffer.from(k.id.slice(7), "hex")) });
    const r = againstLiar((m, round) => (round === 1 ? crafted(m, [null, { mode: "items", items: claims.map(wire) }]) : reply([])));
    assert.equal(r.error, undefined);
    // Only the two unknown ids are recorded as needed; fetching them is where a claim meets a Bundle.
    assert.deepEqual(r.initiator[0]!.need.map(keyName).sort(), fake.map(keyName).sort());
    const outside = againstLiar((m) => crafted(m, [{ ts: 5, id: new Uint8Array(0) }, { mode: "items", items: [wire(fake[0]!)] }]));
    assert.match(outside.error ?? "", /outside its range/);
    assert.equal(outside.initiator[0]!.need.length, 0);
  });

  test("hostile: garbage, truncated and oversize replies end the session with an error and no results", () => {
    const random = seededRandom(7);
    const honestB = honest(new Map([[NS, indexOf(THEIRS)]]));
    const cases: Array<[string, Responder, RegExp]> = [
      ["random bytes", () => reply([{ namespace: NS, payload: randomBytes(random, 200) }]), /.+/],
      ["truncated honest reply", (m, round) => {
        const r = honestB(m, round);
        if (!r.ok || r.reply.length === 0) return r;
        return reply([{ namespace: NS, payload: r.reply[0]!.payload.subarray(0, r.reply[0]!.payload.length - 7) }]);
      }, /truncated|exceeds|lies outside|not increasing|unknown range mode/],
      ["oversize payload", () => reply([{ namespace: NS, payload: new Uint8Array(5000).fill(1) }]), /exceeds 4096 bytes/],
      ["an unasked namespace", (m) => reply([{ namespace: "dao:other", payload: m[0]!.payload }]), /not asked/],
      ["a namespace twice", (m) => { const r = crafted(m, [null, { mode: "skip" }]); return r.ok ? reply([...r.reply, ...r.reply]) : r; }, /appears twice/],
      ["a changed short-id offset", (m) => { const w = new PayloadWriter((offsetOf(m) + 1) % 25); w.range(null, { mode: "ids", items: [] }); return reply([{ namespace: NS, payload: w.bytes() }]); }, /short-id offset/],
    ];
    for (const [name, responder, reason] of cases) {
      const r = againstLiar(responder, { maxMessageBytes: 4096 });
      assert.match(r.error ?? "", reason, name);
      assert.equal(r.initiator[0]!.need.length + r.initiator[0]!.have.length, 0, name);
    }
  });

  test("hostile: a responder that lies only in its last round cannot undo the honest part of the result", () => {
    const honestB = honest(new Map([[NS, indexOf(THEIRS)]]));
    const r = againstLiar((m, round) => (round < 2 ? honestB(m, round) : reply([{ namespace: NS, payload: Uint8Array.of(1, 0, 0, 77) }])));
    assert.match(r.error ?? "", /unknown range mode 77/);
  });
});

describe("reconcile: the stateless responder against a hostile initiator", () => {
  const index: ReconcileIndex = indexOf(THEIRS);
  const lookup = () => index;
  const opts = { random: seededRandom(1) };

  test("respond: garbage, oversize, repeated namespaces and too many ranges are refused with a reason, never thrown", () => {
    const random = seededRandom(9);
    for (let i = 0; i < 200; i++) {
      const r = respond(lookup, [{ namespace: NS, payload: randomBytes(random, 1 + Math.floor(random() * 64)) }], opts);
      if (r.ok) continue; // random bytes may happen to be a valid payload
      assert.ok(r.reason.length > 0);
    }
    const big = respond(lookup, [{ namespace: NS, payload: new Uint8Array(5000) }], { ...opts, maxMessageBytes: 4096 });
    assert.ok(!big.ok && /exceeds 4096/.test(big.reason));
    const twice = respond(lookup, [{ namespace: NS, payload: Uint8Array.of(1, 0) }, { namespace: NS, payload: Uint8Array.of(1, 0) }], opts);
    assert.ok(!twice.ok && /twice/.test(twice.reason));
    const w = new PayloadWriter(0);
    for (let i = 1; i <= 100; i++) w.range({ ts: i, id: new Uint8Array(0) }, { mode: "skip" });
    const ranges = respond(lookup, [{ namespace: NS, payload: w.bytes() }], { ...opts, maxRanges: 72 });
    assert.ok(!ranges.ok && /more than 72 ranges/.test(ranges.reason));
  });

  test("respond: a listing that claims items out of order is refused", () => {
    const a = { ts: 5, id: new Uint8Array(32).fill(2) };
    const b = { ts: 5, id: new Uint8Array(32).fill(1) };
    const w = new PayloadWriter(0);
    w.range(null, { mode: "ids", items: [a, b] });
    const r = respond(lookup, [{ namespace: NS, payload: w.bytes() }], opts);
    assert.ok(!r.ok && /not strictly increasing/.test(r.reason));
  });

  test("respond: an empty message is answered with an empty reply", () => {
    const r = respond(lookup, [], opts);
    assert.ok(r.ok);
    assert.deepEqual(r.reply, []);
    assert.equal(idOf(1).length, 71);
  });
});
