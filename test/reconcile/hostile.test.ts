import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { cellsOf, toWire, type WireCell } from "../../lib/reconcile/cells.js";
import { seededRandom } from "../../lib/reconcile/limits.js";
import { decodePayload, offeredSeed, PayloadWriter, type RangeBody } from "../../lib/reconcile/payload.js";
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

/** The session seed of a message: offered in the opening, in the header afterwards. */
function seedOf(message: readonly ReconcilePart[]): Uint8Array {
  const r = decodePayload(message[0]!.payload, 1_000_000);
  assert.ok(r.ok);
  const seed = r.payload.seed ?? offeredSeed(r.payload);
  assert.ok(seed !== undefined, "the initiator offers version 2");
  return seed;
}

/** A version-2 reply with the session's offset and seed. */
function craftedV2(message: readonly ReconcilePart[], ...ranges: Array<[{ ts: number; id: Uint8Array } | null, RangeBody]>): RespondResult {
  const w = new PayloadWriter(offsetOf(message), seedOf(message));
  for (const [upper, body] of ranges) w.range(upper, body);
  return reply([{ namespace: NS, payload: w.bytes() }]);
}

/** The modes of the initiator's payload for NS. */
const modesOf = (message: readonly ReconcilePart[]) => {
  const r = decodePayload(message[0]!.payload, 1_000_000);
  return r.ok ? r.payload.ranges.map((x) => x.body.mode) : [];
};

const randomCells = (random: () => number, m: number, count: number): WireCell[] =>
  Array.from({ length: m }, (_, i) => ({ count: i === 0 ? count : Math.floor(random() * count), id: randomBytes(random, 32), ts: Math.floor(random() * 1000), check: randomBytes(random, 8) }));

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

describe("reconcile cells against a hostile responder", () => {
  test("hostile: undecodable cells make the initiator ask for more, or split when their counts are impossible; bounded, nothing planted", () => {
    for (const impossible of [false, true]) {
      const random = seededRandom(11);
      const seen: string[][] = [];
      const r = againstLiar((m) => {
        seen.push(modesOf(m));
        const cells = randomCells(random, 4, 2990);
        // A cell holding more items than cell 0 cannot come from one set.
        if (impossible) cells[2]!.count = 2991;
        return craftedV2(m, [null, { mode: "cells", cells }]);
      }, { maxRounds: 8 });
      assert.match(r.error ?? "", /no agreement after 8 rounds/);
      assert.equal(r.initiator[0]!.need.length, 0, "random cells never decode into claims");
      const later = seen.slice(1);
      if (impossible) assert.ok(later.every((modes) => !modes.includes("more") && modes.some((x) => x === "fingerprint" || x === "ids" || x === "prefixes")), JSON.stringify(seen));
      else assert.ok(later.every((modes) => modes.length === 1 && modes[0] === "more"), JSON.stringify(seen));
    }
  });

  test("hostile: cells that merely fail to decode get one growing request for more, then a split", () => {
    const theirs = indexOf(THEIRS);
    const seen: string[][] = [];
    const r = againstLiar((m, round) => {
      seen.push(modesOf(m));
      // Honest cells, but far too few for 334 differences, twice; then nothing more.
      if (round <= 2) return craftedV2(m, [null, { mode: "cells", cells: toWire(cellsOf(theirs, 0, theirs.size, 0, round === 1 ? 3 : 24, seedOf(m))) }]);
      return reply([]);
    });
    assert.equal(r.error, undefined);
    assert.deepEqual(seen[1], ["more"], "undecoded: asks for more");
    assert.equal(r.initiator[0]!.need.length + r.initiator[0]!.have.length, 0);
  });

  test("hostile: cells that decode to an item we hold, or outside their range, are inconsistent: split, nothing recorded", () => {
    const fakeOutside = keysOf([77_777], 10, "fake")[0]!;
    const bound = { ts: MINE[0]!.ts, id: new Uint8Array(0) }; // [−∞, first ts): holds none of ours
    const liar = indexOf([fakeOutside]);
    const seen: string[][] = [];
    const r = againstLiar((m, round) => {
      seen.push(modesOf(m));
      if (round > 1) return reply([]);
      // Cells of [−∞, bound) that contain an item beyond the bound.
      return craftedV2(m, [bound, { mode: "cells", cells: toWire(cellsOf(liar, 0, 1, 0, 2, seedOf(m))) }], [null, { mode: "skip" }]);
    });
    assert.equal(r.error, undefined);
    assert.equal(r.initiator[0]!.need.length, 0, "an item outside the range is not recorded");
    const held = indexOf([...MINE.slice(0, 1)]);
    const r2 = againstLiar((m, round) => (round > 1 ? reply([]) : craftedV2(m, [null, { mode: "cells", cells: toWire(cellsOf(held, 0, 1, 0, 2, seedOf(m))) }])));
    assert.equal(r2.error, undefined);
    assert.equal(r2.initiator[0]!.need.length, 0, "an item we hold is never needed");
  });

  test("hostile: oversized or impossible cell streams are refused before allocation and end the session", () => {
    const cases: Array<[string, (m: readonly ReconcilePart[]) => RespondResult, RegExp]> = [
      ["a count of cells the bytes cannot hold", (m) => {
        const w = new PayloadWriter(offsetOf(m), seedOf(m));
        w.range(null, { mode: "skip" });
        const bytes = w.bytes();
        // Replace the trailing skip with mode 7 and 10^6 cells, no cell bytes.
        return reply([{ namespace: NS, payload: Uint8Array.from([...bytes.subarray(0, bytes.length - 1), 7, 0xc0, 0x84, 0x3d]) }]);
      }, /count 1000000 exceeds/],
      ["a cell counting 2^31 items", (m) => {
        const w = new PayloadWriter(offsetOf(m), seedOf(m));
        w.range(null, { mode: "cells", cells: [{ count: 2 ** 31, id: new Uint8Array(32), ts: 0, check: new Uint8Array(8) }] });
        return reply([{ namespace: NS, payload: w.bytes() }]);
      }, /counts 2147483648 items/],
      ["a changed seed", (m) => {
        const w = new PayloadWriter(offsetOf(m), Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 1));
        w.range(null, { mode: "skip" });
        return reply([{ namespace: NS, payload: w.bytes() }]);
      }, /changed the session's seed/],
      ["a request for cells sent to the initiator", (m) => craftedV2(m, [null, { mode: "more", count: 5 }]), /only the initiator asks/],
    ];
    for (const [name, responder, reason] of cases) {
      const r = againstLiar(responder);
      assert.match(r.error ?? "", reason, name);
      assert.equal(r.initiator[0]!.need.length + r.initiator[0]!.have.length, 0, name);
    }
    // An initiator that speaks only version 1 refuses a version-2 reply, as 0.1.0 does.
    const v1 = againstLiar((m) => { const w = new PayloadWriter(offsetOf(m), new Uint8Array(8)); w.range(null, { mode: "skip" }); return reply([{ namespace: NS, payload: w.bytes() }]); }, { payloadVersion: 1 });
    assert.match(v1.error ?? "", /unsupported payload version 2/);
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

  test("respond: requests for more cells than a message holds are deferred; cells sent to the responder and version-2 modes in version 1 are refused", () => {
    const seed = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    const one = (body: RangeBody, withSeed: Uint8Array | undefined = seed) => {
      const w = new PayloadWriter(0, withSeed);
      w.range(null, body);
      return [{ namespace: NS, payload: w.bytes() }];
    };
    // More cells than a message holds are not computed: the range goes back as a fingerprint.
    const huge = respond(lookup, one({ mode: "more", count: 200_000 }), { ...opts, maxMessageBytes: 1 << 20 });
    assert.ok(huge.ok);
    const hugeBack = decodePayload(huge.reply[0]!.payload, 100);
    assert.ok(hugeBack.ok && hugeBack.payload.ranges.every((x) => x.body.mode === "fingerprint"), JSON.stringify(hugeBack));
    const cells = respond(lookup, one({ mode: "cells", cells: [{ count: 1, id: new Uint8Array(32), ts: 0, check: new Uint8Array(8) }] }), opts);
    assert.ok(!cells.ok && /only the responder sends cells/.test(cells.reason));
    const v1 = new PayloadWriter(0).bytes();
    const old = respond(lookup, [{ namespace: NS, payload: Uint8Array.from([...v1, 0, 8, 5]) }], opts);
    assert.ok(!old.ok && /unknown range mode 8/.test(old.reason));
    // An honest request is answered with exactly the cells asked for.
    const fine = respond(lookup, one({ mode: "more", count: 7 }), opts);
    assert.ok(fine.ok);
    const back = decodePayload(fine.reply[0]!.payload, 100);
    assert.ok(back.ok && back.payload.version === 2 && back.payload.ranges[0]!.body.mode === "cells" && back.payload.ranges[0]!.body.cells.length === 7);
    // A responder that speaks only version 1 refuses version 2 outright.
    const v1only = respond(lookup, one({ mode: "more", count: 7 }), { ...opts, payloadVersion: 1 });
    assert.ok(!v1only.ok && /unsupported payload version 2/.test(v1only.reason));
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
