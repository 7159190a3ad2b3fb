/**
 * Generators of hostile federation messages (fast-check) for the hostile-input suite: broken
 * JSON, wrong types, huge and deeply nested values, `__proto__` members, unknown members, wrong
 * `type`/`v`, damaged signatures, foreign keys, timestamps at the clock-skew edges, unicode and
 * path characters in names. A case is a recipe: it is signed when sent, so its `ts` is fresh.
 */
import fc from "fast-check";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { signMessage } from "../../lib/messages/authenticate.js";
import { BATCH_ID_PATTERN, LIMITS } from "../../lib/messages/limits.js";
import { ANCHOR_KINDS, base, digestOf, fieldsOf, json, JSON_TYPE, KINDS, pick, resigned, ROOT, sign, tampered, validText, type Endpoint, type HostileCase, type Kind, type Obj, type Cast } from "./hostile-message.js";

export type { Cast, Endpoint, Expect, HostileCase, Prepared } from "./hostile-message.js";

const oddValues = fc.oneof(
  fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, -0, 1e308, 2 ** 53, "", " ", "1", "announce", [], {}, [null], { a: 1 }, "\u0000", "\uD800"),
  fc.anything({ maxDepth: 3, maxKeys: 4 }),
);

function rawText(endpoint: Endpoint): fc.Arbitrary<HostileCase> {
  return fc.oneof(
    fc.string({ maxLength: 200, unit: "binary" }).map((s) => ({ label: "random text", build: () => json(s) })),
    fc.uint8Array({ maxLength: 200 }).map((b) => ({ label: "random bytes", build: () => ({ body: b, contentType: JSON_TYPE, expect: "refuse" as const }) })),
    fc.jsonValue({ maxDepth: 3 }).filter((v) => typeof v !== "object" || v === null || Array.isArray(v)).map((v) => ({ label: "JSON that is not an object", build: () => json(JSON.stringify(v)) })),
    fc.nat().map((n) => ({
      label: "truncated message",
      build: (cast: Cast, nowS: number, unique: string) => {
        const t = validText(endpoint, cast, nowS, unique);
        return json(t.slice(0, n % (t.length - 1)));
      },
    })),
    fc.tuple(fc.nat(), fc.integer({ min: 1, max: 126 })).map(([n, x]) => ({
      label: "one character changed",
      build: (cast: Cast, nowS: number, unique: string) => {
        const t = validText(endpoint, cast, nowS, unique);
        const i = n % t.length;
        return json(t.slice(0, i) + String.fromCharCode((t.charCodeAt(i) ^ x) || 1) + t.slice(i + 1));
      },
    })),
    fc.constantFrom("", "{", "}", "[]", "null", "{}", '{"type":"announce"', "\uFEFF{}", "{'type':'announce'}", '{"a":1,}', "NaN", "1e99999").map((s) => ({ label: "broken JSON", build: () => json(s) })),
  );
}


/** Values that can never be right for a member of `kind`, so a re-signed message stays invalid. */
function wrongFor(kind: Kind): fc.Arbitrary<unknown> {
  // `undefined` would drop the member, which is no fault for an optional one.
  return oddValues.filter((v) => {
    if (v === undefined) return false;
    if (kind === "string") return typeof v !== "string";
    if (kind === "integer") return !(typeof v === "number" && Number.isSafeInteger(v) && v >= 0);
    if (kind === "array") return !Array.isArray(v);
    // Only a signed checkpoint of the announced batch is right for an object member.
    if (kind === "object") return true;
    return v !== kind;
  });
}

function wrongTypes(endpoint: Endpoint): fc.Arbitrary<HostileCase> {
  const kinds = KINDS[endpoint];
  const fields = Object.keys(kinds);
  // Signing sets `sig`, so a re-signed edit of `sig` itself would be no edit at all.
  const member = fc.constantFrom(...fields.filter((k) => k !== "sig")).chain((k) => fc.tuple(fc.constant(k), wrongFor(kinds[k]!)));
  const nested =
    endpoint === "announce"
      ? fc.constantFrom(...Object.keys(ANCHOR_KINDS)).chain((k) => fc.tuple(fc.constant(k), wrongFor(ANCHOR_KINDS[k]!)))
      : fc.tuple(fc.constant("0"), wrongFor("string"));
  return fc.oneof(
    fc.tuple(fc.constantFrom(...fields), oddValues).map(([k, v]) => tampered(`${k} of a wrong type`, endpoint, (o) => void (o[k] = v))),
    member.map(([k, v]) => resigned(`${k} of a wrong type, re-signed`, endpoint, (o) => void (o[k] = v))),
    nested.map(([k, v]) =>
      resigned(`${endpoint === "announce" ? "anchors[0]" : "want"}.${k} of a wrong type, re-signed`, endpoint, (o) => {
        if (endpoint === "announce") (o.anchors as Obj[])[0]![k] = v;
        else (o.want as unknown[])[0] = v;
      }),
    ),
    fc.constantFrom(...fields.filter((k) => k !== "fromTs" && k !== "toTs" && k !== "want" && k !== "sig")).map((k) => resigned(`${k} missing`, endpoint, (o) => void delete o[k])),
  );
}

/** Members a schema knows besides those of the base messages: never generated as "unknown". */
const ALSO_ALLOWED = ["batchId", "batchRoot", "page", "fromTs", "toTs", "want", "anchors", ...Object.keys(ANCHOR_KINDS)];

function unknownMembers(endpoint: Endpoint): fc.Arbitrary<HostileCase> {
  const key = fc.oneof(fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty", "sig ", "Type", "valueOf"), fc.string({ maxLength: 20 }));
  return fc.tuple(key.filter((k) => ![...fieldsOf(endpoint), ...ALSO_ALLOWED].includes(k)), fc.jsonValue({ maxDepth: 2 }), fc.boolean()).map(([k, v, nested]) =>
    resigned(`unknown member ${JSON.stringify(k)}${nested ? " (nested)" : ""}`, endpoint, (o) => {
      // Through JSON.parse, so that `__proto__` becomes an own member and not the prototype.
      const extra = JSON.parse(`{${JSON.stringify(k)}:${JSON.stringify(v)}}`) as Obj;
      const target = nested && endpoint === "announce" ? (o.anchors as Obj[])[0]! : o;
      Object.defineProperty(target, k, { value: extra[k] ?? null, enumerable: true, writable: true, configurable: true });
    }),
  );
}

function typeAndVersion(endpoint: Endpoint): fc.Arbitrary<HostileCase> {
  const types = fc.constantFrom<unknown>("announce", "request", "bundle", "reconcile", "Announce", "REQUEST", "announce\u0000", "", null, 1);
  const versions = fc.constantFrom<unknown>(1, 0, 2, -1, 1.5, "1", true, null, 2 ** 53);
  return fc
    .tuple(types, versions)
    .filter(([t, v]) => !(t === endpoint && v === 2))
    .map(([t, v]) => resigned(`type ${JSON.stringify(t)} v ${JSON.stringify(v)}`, endpoint, (o) => Object.assign(o, { type: t, v })));
}

function signatures(endpoint: Endpoint): fc.Arbitrary<HostileCase> {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const edits: fc.Arbitrary<[string, (sig: string, n: number, did: string) => string]> = fc.constantFrom<[string, (sig: string, n: number, did: string) => string]>(
    ["truncated", (s, n) => s.slice(0, n % s.length)],
    ["padded", (s) => `${s}==`],
    ["standard base64 alphabet", (s) => (/[-_]/.test(s) ? s.replace(/-/g, "+").replace(/_/g, "/") : `${s}+`)],
    ["payload attached", (s) => s.replace("..", ".e30.")],
    ["one dot", (s) => s.replace("..", ".")],
    ["upper-cased", (s) => (s.toUpperCase() === s ? `${s}A` : s.toUpperCase())],
    ["signature bit flipped", (s, n) => {
      const [h, , sig] = s.split(".");
      const bytes = Buffer.from(sig!, "base64url");
      bytes[n % bytes.length]! ^= 1 << (n % 8);
      return `${h}..${bytes.toString("base64url")}`;
    }],
    ["header re-encoded with spaces", (s, _n, did) => `${Buffer.from(`{ "alg": "EdDSA", "kid": "${did}#key-1" }`).toString("base64url")}..${s.split("..")[1]}`],
    ["header with keys swapped", (s, _n, did) => `${Buffer.from(`{"kid":"${did}#key-1","alg":"EdDSA"}`).toString("base64url")}..${s.split("..")[1]}`],
    ["alg none", (s, _n, did) => `${b64({ alg: "none", kid: `${did}#key-1` })}..${s.split("..")[1]}`],
    ["extra crit header", (s, _n, did) => `${b64({ alg: "EdDSA", kid: `${did}#key-1`, crit: ["b64"], b64: false })}..${s.split("..")[1]}`],
    ["kid of another DID", (s) => `${b64({ alg: "EdDSA", kid: "did:vm:node:someone#key-1" })}..${s.split("..")[1]}`],
    ["empty header", (s) => `..${s.split("..")[1]}`],
    ["empty signature", (s) => `${s.split("..")[0]}..`],
    ["signature doubled", (s) => `${s}${s.split("..")[1]}`],
  );
  return fc.tuple(edits, fc.nat()).map(([[what, edit], n]) => ({
    label: `sig ${what}`,
    build(cast, nowS, unique) {
      const g = pick(cast.guests, n);
      const signed = sign(base(endpoint, cast, g.did, nowS, unique), g);
      const sig = edit(signed.sig as string, n, g.did);
      return json(JSON.stringify({ ...signed, sig: sig === signed.sig ? `${sig}A` : sig }));
    },
  }));
}

function foreignKeys(endpoint: Endpoint): fc.Arbitrary<HostileCase> {
  return fc.tuple(fc.constantFrom("random key for a guest's DID", "another guest's key", "unknown DID with its own key", "guest without the role"), fc.nat()).map(([what, n]) => ({
    label: what,
    build(cast, nowS, unique) {
      const g = pick(cast.guests, n);
      if (what === "guest without the role") {
        const outsider = endpoint === "announce" ? cast.reader : cast.herald;
        return json(JSON.stringify(sign(base(endpoint, cast, outsider.did, nowS, unique), outsider)));
      }
      if (what === "unknown DID with its own key") {
        const stranger = { name: "s", did: `did:vm:node:stranger-${n % 1000}`, key: generateNodeKey(), roles: [], url: "http://127.0.0.1:9" };
        return json(JSON.stringify(sign(base(endpoint, cast, stranger.did, nowS, unique), stranger)));
      }
      const key = what === "another guest's key" ? pick(cast.guests, n + 1).key : generateNodeKey();
      return json(JSON.stringify(signMessage(base(endpoint, cast, g.did, nowS, unique) as never, key.privateKey)));
    },
  }));
}

function timestamps(endpoint: Endpoint): fc.Arbitrary<HostileCase> {
  const edge = fc.tuple(fc.constantFrom(-301, -300, 300, 301) as fc.Arbitrary<-301 | -300 | 300 | 301>, fc.nat()).map(([skew, n]) =>
    resigned(`ts at now ${skew > 0 ? "+" : ""}${skew} s`, endpoint, (o) => void (o.ts = (o.ts as number) + skew), skew, n),
  );
  const far = fc.constantFrom<[string, (now: number) => unknown]>(["-1 day", (t) => t - 86400], ["+1 day", (t) => t + 86400], ["0", () => 0], ["-1", () => -1], ["2^40 + 1", () => 2 ** 40 + 1], ["2^53", () => 2 ** 53], ["fraction", (t) => t + 0.5], ["as a string", (t) => String(t)]);
  return fc.oneof({ arbitrary: edge, weight: 3 }, { arbitrary: far.map(([what, f]) => resigned(`ts ${what}`, endpoint, (o) => void (o.ts = f(o.ts as number)))), weight: 1 });
}

const PATHISH = ["..", ".", "../state", "../../etc/passwd", "a/b", "a\\b", "/abs", "x\u0000y", "%2e%2e%2f", "dao:vaultmesh/..", "dao:vaultmesh/../../x", "C:\\x", "~root", "a\nb", " lead", "trail ", "-lead", ":lead", "_lead"];

function names(endpoint: Endpoint): fc.Arbitrary<HostileCase> {
  const unicode = fc.string({ minLength: 1, maxLength: 30, unit: "binary" });
  const lookalikes = fc.constantFrom("dao:vaultmeſh", "dao:vaultmesh\u0301", "dao:vaultmesh\u200b", "ｄａｏ:vaultmesh", "DAO:VAULTMESH", "dao:vaultmesh:", "dao::vaultmesh", "dao:other", `dao:${"x".repeat(130)}`);
  const namespace = fc.oneof(unicode, lookalikes, fc.constantFrom(...PATHISH)).map((ns) =>
    resigned(`namespace ${JSON.stringify(ns.slice(0, 40))}`, endpoint, (o, cast) => void (o.namespace = ns === cast.namespace ? `${ns}x` : ns)),
  );
  const batchIdValue = fc.oneof(fc.constantFrom(...PATHISH, "ａｂｃ", "b-é", "a".repeat(129)), unicode).filter((b) => b.length > LIMITS.maxBatchIdLength || !BATCH_ID_PATTERN.test(b));
  const batchId = batchIdValue.map((b) =>
    resigned(`batchId ${JSON.stringify(b.slice(0, 40))}`, endpoint, (o) => {
      o.batchId = b;
      if (endpoint === "announce") (o.anchors as Obj[])[0]!.batchId = b;
    }),
  );
  return fc.oneof(namespace, batchId);
}

function sizes(endpoint: Endpoint): fc.Arbitrary<HostileCase> {
  const over = fc.integer({ min: 1024 * 1024 + 1, max: 1024 * 1024 + 4096 }).map((n) => ({
    label: "body over 1 MiB",
    build: (cast: Cast, nowS: number, unique: string) => {
      const t = validText(endpoint, cast, nowS, unique);
      return json(`${t.slice(0, -1)},"pad":"${"x".repeat(Math.max(0, n - t.length))}"}`);
    },
  }));
  const long = fc.tuple(fc.constantFrom("namespace", "signer", "sig", "batchId"), fc.integer({ min: 129, max: 400_000 })).map(([k, n]) =>
    k === "sig" ? tampered(`sig of ${n} characters`, endpoint, (o) => void (o.sig = "a".repeat(n))) : resigned(`${k} of ${n} characters`, endpoint, (o) => void (o[k] = "a".repeat(n))),
  );
  const many =
    endpoint === "announce"
      ? fc.integer({ min: 17, max: 3000 }).map((n) => resigned(`${n} anchors`, endpoint, (o) => void (o.anchors = Array.from({ length: n }, () => (o.anchors as Obj[])[0]))))
      : fc.integer({ min: 5001, max: 6000 }).map((n) => resigned(`${n} wanted ids`, endpoint, (o) => void (o.want = Array.from({ length: n }, (_, i) => digestOf(`w${i}`)))));
  const numbers = fc.constantFrom("1e400", "-1e400", "123456789012345678901234567890", "1.0e1", "0x10").map((num) => ({
    label: `ts written as ${num}`,
    build: (cast: Cast, nowS: number, unique: string) => json(validText(endpoint, cast, nowS, unique).replace(/"ts":\d+/, `"ts":${num}`)),
  }));
  return fc.oneof({ arbitrary: over, weight: 1 }, { arbitrary: long, weight: 2 }, { arbitrary: many, weight: 2 }, { arbitrary: numbers, weight: 2 });
}

function nesting(endpoint: Endpoint): fc.Arbitrary<HostileCase> {
  const deep = fc.tuple(fc.integer({ min: 15, max: 5000 }), fc.constantFrom("[", "{")).map(([depth, open]) => {
    const inner = open === "[" ? `${"[".repeat(depth)}${"]".repeat(depth)}` : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
    return {
      label: `value nested ${depth} deep`,
      build: (cast: Cast, nowS: number, unique: string) => json(validText(endpoint, cast, nowS, unique).replace(/"v":2/, `"v":${inner}`)),
    };
  });
  const cases = [deep];
  if (endpoint === "announce") {
    // Brackets inside a string are text, not nesting: this message is valid and must be accepted.
    cases.push(fc.integer({ min: 17, max: 1000 }).map((n) => resigned(`memo of ${n} brackets (valid)`, endpoint, (o) => void ((o.anchors as Obj[])[0]!.memo = `\\"${"[".repeat(n)}`.slice(0, 1024)), "valid")));
  }
  return fc.oneof(...cases);
}

function semantics(endpoint: Endpoint): fc.Arbitrary<HostileCase> {
  const edits: Array<[string, (o: Obj) => void]> =
    endpoint === "announce"
      ? [
          ["no anchors", (o) => void (o.anchors = [])],
          ["anchor of another batch", (o) => void ((o.anchors as Obj[])[0]!.batchId = "other")],
          ["anchor of another root", (o) => void ((o.anchors as Obj[])[0]!.batchRoot = `sha256:${"00".repeat(32)}`)],
          ["upper-case root", (o) => void (o.batchRoot = (o.batchRoot as string).toUpperCase())],
          ["unknown chain", (o) => void ((o.anchors as Obj[])[0]!.chain = "eth:1")],
          ["TSA anchor without sig", (o) => void delete (o.anchors as Obj[])[0]!.sig],
        ]
      : [
          ["fromTs after toTs", (o) => Object.assign(o, { fromTs: 10, toTs: 9 })],
          ["the same id twice", (o) => void (o.want = [(o.want as string[])[0], (o.want as string[])[0]])],
          ["batchRoot without batchId", (o) => void (o.batchRoot = ROOT)],
          ["page without batchId", (o) => void (o.page = 0)],
          ["negative page", (o) => Object.assign(o, { batchId: "b1", page: -1 })],
          ["want id in upper case", (o) => void (o.want = [(o.want as string[])[0]!.toUpperCase()])],
        ];
  return fc.constantFrom(...edits).map(([what, edit]) => resigned(what, endpoint, edit));
}

function contentTypes(endpoint: Endpoint): fc.Arbitrary<HostileCase> {
  return fc.constantFrom("text/plain", "application/x-www-form-urlencoded", "application/jsonp", "multipart/form-data", "application/json-patch+json", "").map((type) => ({
    label: `Content-Type ${JSON.stringify(type)}`,
    build: (cast: Cast, nowS: number, unique: string) => ({ body: validText(endpoint, cast, nowS, unique), contentType: type, expect: "refuse" as const }),
  }));
}

/**
 * Every kind of hostile case for one endpoint, weighted so that cheap cases dominate and the
 * 1 MiB bodies stay a few dozen in 2,000.
 * @example fc.sample(hostileCase("announce"), { numRuns: 2000, seed: 1 })
 */
export function hostileCase(endpoint: Endpoint): fc.Arbitrary<HostileCase> {
  return fc.oneof(
    { arbitrary: rawText(endpoint), weight: 4 },
    { arbitrary: wrongTypes(endpoint), weight: 4 },
    { arbitrary: unknownMembers(endpoint), weight: 2 },
    { arbitrary: typeAndVersion(endpoint), weight: 2 },
    { arbitrary: signatures(endpoint), weight: 3 },
    { arbitrary: foreignKeys(endpoint), weight: 2 },
    { arbitrary: timestamps(endpoint), weight: 2 },
    { arbitrary: names(endpoint), weight: 3 },
    { arbitrary: sizes(endpoint), weight: 1 },
    { arbitrary: nesting(endpoint), weight: 1 },
    { arbitrary: semantics(endpoint), weight: 1 },
    { arbitrary: contentTypes(endpoint), weight: 1 },
  );
}
