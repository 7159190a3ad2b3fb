/**
 * A large body is parsed in slices (lib/messages/json-slices.ts, docs/FEDERATION_PROTOCOL.md
 * §Answering without holding the event loop): the value and the refusals are JSON.parse's, and
 * other work runs between slices. Counted, never timed: the pauses made, the most characters
 * handled between two, and the turns a setImmediate probe got while the parse ran.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { parsePeerJson } from "../../lib/messages/json.js";
import { PARSE_SLICE_CHARS, parsePeerJsonInSlices, type SliceStats } from "../../lib/messages/json-slices.js";
import { LIMITS } from "../../lib/messages/limits.js";

/** What parsePeerJson makes of `text`: the value, or the error code. */
function reference(text: string): { value?: unknown; code?: string } {
  try {
    return { value: parsePeerJson(text) };
  } catch (e) {
    return { code: (e as { code?: string }).code ?? "THROWN" };
  }
}

async function sliced(text: string, sliceChars: number): Promise<{ value?: unknown; code?: string }> {
  try {
    return { value: await parsePeerJsonInSlices(text, { sliceChars, pause: async () => undefined }) };
  } catch (e) {
    return { code: (e as { code?: string }).code ?? "THROWN" };
  }
}

const CORPUS = [
  '{"a":1,"b":[1,2,3],"c":{"d":"e,f]}"}}',
  ' [ 1 , "two" , [ ] , { } , null , true , false , -0.5e3 ] ',
  '{"__proto__":{"polluted":1},"x":[{"__proto__":2}]}',
  '{"s":"quote \\" and backslash \\\\ and \\u005b"}',
  '{"dup":1,"dup":2}',
  '[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]',
  '[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]',
  '[1,2,]',
  '[,1]',
  '[1,,2]',
  '{"a":1,}',
  '{"a":}',
  '{"a" 1}',
  '{a:1}',
  '[1,2] [3]',
  '[1,2',
  '{"a":[1,2}',
  '["unterminated]',
  '[1 2]',
  '[01]',
  '{"a":1}x',
  '["\u0001"]',
  '[1e999]',
  '   ',
  '{"a":"' + "x".repeat(100) + '","b":[' + Array.from({ length: 50 }, (_, i) => i).join(",") + "]}",
];

/** A small deterministic generator (xorshift), so a failure names its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

function randomValue(r: () => number, depth: number): unknown {
  const k = r();
  if (depth > 4 || k < 0.3) return [null, true, false, Math.floor(r() * 1e6) / 7, "a\"b,c]d{", "", -0][Math.floor(r() * 7)];
  if (k < 0.65) return Array.from({ length: Math.floor(r() * 6) }, () => randomValue(r, depth + 1));
  return Object.fromEntries(Array.from({ length: Math.floor(r() * 6) }, (_, i) => [`k${i}${r() < 0.2 ? "," : ""}`, randomValue(r, depth + 1)]));
}

describe("messages: parsing a large body in slices", () => {
  test("json slices: every text of the corpus gives parsePeerJson's value or its refusal, at slice sizes 1 to 64", async () => {
    for (const text of CORPUS) {
      const want = reference(text);
      for (const size of [1, 2, 3, 7, 64]) assert.deepEqual(await sliced(text, size), want, `${JSON.stringify(text).slice(0, 80)} at ${size}`);
    }
    const polluted = (await parsePeerJsonInSlices(CORPUS[2]!, { sliceChars: 2, pause: async () => undefined })) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(polluted), Object.prototype, "__proto__ stays an own member");
    assert.deepEqual(Object.keys(polluted), ["__proto__", "x"]);
  });

  test("json slices: 400 random values, spaced and then damaged at one character, agree with parsePeerJson", async () => {
    for (let seed = 1; seed <= 400; seed++) {
      const r = rng(seed);
      let text = JSON.stringify(randomValue(r, 0), null, r() < 0.5 ? 0 : 1);
      if (seed % 2 === 0 && text.length > 0) {
        const at = Math.floor(r() * text.length);
        text = text.slice(0, at) + '[]{},:" 1x'[Math.floor(r() * 10)] + text.slice(at + 1);
      }
      assert.deepEqual(await sliced(text, 1 + (seed % 9)), reference(text), `seed ${seed}: ${text.slice(0, 120)}`);
    }
  });

  test("json slices: a 4 MiB body of 50,000 ids is parsed in slices of at most about 64 Ki characters, with other work run between them", async () => {
    const want = Array.from({ length: 50_000 }, (_, i) => `sha256:${i.toString(16).padStart(64, "0")}`);
    const text = JSON.stringify({ type: "request", v: 2, namespace: "dao:vaultmesh", want, ts: 1, signer: "did:vm:node:b", sig: "x" });
    assert.ok(text.length > 3.5 * 1024 * 1024 && text.length <= LIMITS.maxReconcileBodyBytes, String(text.length));
    let turns = 0;
    let running = true;
    const probe = (): void => {
      if (!running) return;
      turns++;
      setImmediate(probe);
    };
    setImmediate(probe);
    const stats: SliceStats = { pauses: 0, largestSlice: 0 };
    const value = await parsePeerJsonInSlices(text, { stats });
    running = false;
    assert.deepEqual(value, JSON.parse(text));
    // Each id is scanned once by its array and parsed once: about 2 × length / slice pauses.
    assert.ok(stats.pauses >= text.length / PARSE_SLICE_CHARS, `${stats.pauses} pauses`);
    assert.ok(stats.largestSlice <= 2 * PARSE_SLICE_CHARS, `${stats.largestSlice} characters between two pauses`);
    assert.ok(turns >= stats.pauses / 2, `the probe ran ${turns} times during ${stats.pauses} pauses`);
  });

  test("json slices: an array of small elements is parsed a run of elements per JSON.parse, each run within a slice", async () => {
    const items = Array.from({ length: 4_000 }, (_, i) => ({ id: `sha256:${i.toString(16).padStart(64, "0")}`, proof: { index: i, path: [`sha256:${"ab".repeat(32)}`, `s\\"q,]`] } }));
    const text = JSON.stringify({ kind: "batch", receipts: items });
    const parse = JSON.parse;
    let calls = 0;
    let longest = 0;
    JSON.parse = ((t: string) => {
      calls++;
      longest = Math.max(longest, t.length);
      return parse(t);
    }) as typeof JSON.parse;
    let value: unknown;
    try {
      value = await parsePeerJsonInSlices(text, { pause: async () => undefined });
    } finally {
      JSON.parse = parse;
    }
    assert.deepEqual(value, parse(text));
    assert.ok(longest <= PARSE_SLICE_CHARS, `JSON.parse was given ${longest} characters at once`);
    // One parse per element would be 4,000 calls; by runs, about one per slice of text (and the member names).
    assert.ok(calls <= 2 * Math.ceil(text.length / PARSE_SLICE_CHARS) + 4, `${calls} calls of JSON.parse for ${text.length} characters`);
  });

  test("json slices: a long array damaged or nested too deep inside one run gives parsePeerJson's refusal, element by element", async () => {
    const r = rng(7);
    for (let round = 0; round < 60; round++) {
      const items = Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? { a: [i, "x,]\\"], b: null } : i % 3 === 1 ? `s${i}` : [i, [i]]));
      let text = JSON.stringify(items);
      if (round % 3 === 0) {
        const at = 1 + Math.floor(r() * (text.length - 2));
        text = text.slice(0, at) + '[]{},:" 1x'[Math.floor(r() * 10)] + text.slice(at + 1);
      } else if (round % 3 === 1) {
        const at = text.indexOf(",", Math.floor(r() * (text.length - 10)));
        text = `${text.slice(0, at + 1)}${"[".repeat(LIMITS.maxJsonDepth)}1${"]".repeat(LIMITS.maxJsonDepth)},${text.slice(at + 1)}`;
      }
      assert.deepEqual(await sliced(text, 200), reference(text), `round ${round}: ${text.slice(0, 120)}`);
    }
  });

  test("json slices: a body within one slice is parsed by parsePeerJson at once, with no pause", async () => {
    const stats: SliceStats = { pauses: 0, largestSlice: 0 };
    let pauses = 0;
    assert.deepEqual(await parsePeerJsonInSlices('{"a":[1,2]}', { stats, pause: async () => void pauses++ }), { a: [1, 2] });
    assert.equal(pauses, 0);
  });
});
