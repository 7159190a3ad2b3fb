import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { compactVerify, importJWK } from "jose";
import { ProtocolError } from "../../lib/errors.js";
import { canonicalJson, messageDigest, unsigned } from "../../lib/messages/canonical.js";
import { seededRandom } from "../../lib/reconcile/limits.js";
import { authenticateReconcile, parseReconcile, reconcileParts, signReconcile, type ReconcileMessage } from "../../lib/reconcile/message.js";
import { initiate, respond } from "../../lib/reconcile/session.js";
import { context, NOW, peer, RECEIVER } from "../messages/fixtures.js";
import { indexOf, keysOf } from "./exchange.js";

const a = peer("did:vm:node:a", ["request"]);
const b = peer("did:vm:node:b", ["serve"]);
const routes = { "dao:vaultmesh": [a.did, b.did], "dao:other": [a.did] };

function opening(namespaces = ["dao:vaultmesh"]): ReconcileMessage {
  const { message } = initiate(new Map(namespaces.map((ns) => [ns, indexOf(keysOf([...Array(500).keys()]))])), { random: seededRandom(1) });
  return signReconcile({ aud: RECEIVER, round: 1, parts: message, ts: NOW, signer: a.did }, a.key.privateKey);
}

function rejects(value: unknown, message: RegExp, maxMessageBytes?: number): void {
  assert.throws(() => parseReconcile(value, maxMessageBytes), (e: unknown) => e instanceof ProtocolError && e.status === 400 && e.code === "MALFORMED" && message.test(e.message), String(message));
}

const mutate = (f: (m: Record<string, unknown>) => void): Record<string, unknown> => {
  const m = JSON.parse(JSON.stringify(opening())) as Record<string, unknown>;
  f(m);
  return m;
};

describe("reconcile envelope", () => {
  test("envelope: a signed opening parses into a fresh object and its parts decode to the original bytes", () => {
    const m = opening();
    const parsed = parseReconcile(JSON.parse(JSON.stringify(m)));
    assert.deepEqual(parsed, m);
    const parts = reconcileParts(parsed);
    assert.equal(parts[0]!.namespace, "dao:vaultmesh");
    assert.equal(Buffer.from(parts[0]!.payload).toString("base64"), m.namespaces[0]!.payload);
  });

  test("envelope: a reply names the request it answers and may carry no namespaces at all", () => {
    const request = opening();
    const r = respond(() => indexOf(keysOf([...Array(500).keys()])), reconcileParts(request), { random: seededRandom(2) });
    assert.ok(r.ok);
    const answer = signReconcile({ aud: RECEIVER, round: 1, parts: r.reply, ts: NOW, signer: b.did, request: messageDigest(request) }, b.key.privateKey);
    assert.deepEqual(answer.namespaces, []);
    assert.equal(parseReconcile(JSON.parse(JSON.stringify(answer))).request, messageDigest(request));
  });

  const cases: Array<[string, (m: Record<string, unknown>) => void, RegExp]> = [
    ["a wrong type", (m) => (m.type = "request"), /reconcile\.type: expected "reconcile"/],
    ["a wrong version", (m) => (m.v = 3), /reconcile\.v: expected 2/],
    ["version 1 of 0.1.0", (m) => (m.v = 1), /reconcile\.v: message version 1 lacks the member aud/],
    ["no aud", (m) => delete m.aud, /reconcile\.aud: expected a string/],
    ["round 0", (m) => (m.round = 0), /reconcile\.round: expected 1 to 64, got 0/],
    ["a huge round", (m) => (m.round = 65), /reconcile\.round: expected 1 to 64/],
    ["a string round", (m) => (m.round = "1"), /reconcile\.round: expected an integer/],
    ["namespaces not an array", (m) => (m.namespaces = {}), /reconcile\.namespaces: expected an array/],
    ["65 namespaces", (m) => (m.namespaces = Array.from({ length: 65 }, (_, i) => ({ namespace: `ns:n${i}`, payload: "AQA=" }))), /reconcile\.namespaces: expected 0 to 64 items, got 65/],
    ["a namespace twice", (m) => (m.namespaces = [{ namespace: "ns:a", payload: "AQA=" }, { namespace: "ns:a", payload: "AQA=" }]), /namespaces\[1\]\.namespace: ns:a appears twice/],
    ["a bad namespace", (m) => ((m.namespaces as Record<string, unknown>[])[0]!.namespace = "DAO X"), /namespaces\[0\]\.namespace: does not match/],
    ["an entry with an extra member", (m) => ((m.namespaces as Record<string, unknown>[])[0]!.extra = 1), /namespaces\[0\]: unknown member "extra"/],
    ["a numeric payload", (m) => ((m.namespaces as Record<string, unknown>[])[0]!.payload = 5), /namespaces\[0\]\.payload: expected a base64 string/],
    ["an empty payload", (m) => ((m.namespaces as Record<string, unknown>[])[0]!.payload = ""), /namespaces\[0\]\.payload: expected 1 to/],
    ["unpadded base64", (m) => ((m.namespaces as Record<string, unknown>[])[0]!.payload = "AQA"), /namespaces\[0\]\.payload: expected 1 to/],
    ["base64url characters", (m) => ((m.namespaces as Record<string, unknown>[])[0]!.payload = "AQ-_"), /namespaces\[0\]\.payload: is not padded standard base64/],
    ["an unknown member", (m) => (m.extra = true), /reconcile: unknown member "extra"/],
    ["a __proto__ member", (m) => Object.defineProperty(m, "__proto__", { value: { polluted: true }, enumerable: true }), /unknown member "__proto__"/],
    ["a request that is not a digest", (m) => (m.request = "sha256:xyz"), /reconcile\.request: expected "sha256:"/],
    ["a negative ts", (m) => (m.ts = -1), /reconcile\.ts: expected 0 to/],
    ["a bad signer", (m) => (m.signer = "node-a"), /reconcile\.signer: does not match/],
    ["a sig that is not a detached JWS", (m) => (m.sig = "abc"), /reconcile\.sig: does not match/],
  ];
  for (const [name, f, message] of cases) {
    test(`envelope: rejects ${name} with 400 MALFORMED naming the member`, () => rejects(mutate(f), message));
  }

  test("envelope: rejects payloads over the byte limit before decoding them, alone and together", () => {
    const b64 = Buffer.alloc(3000).toString("base64");
    rejects(mutate((m) => (m.namespaces = [{ namespace: "ns:a", payload: b64 }])), /payload: expected 1 to 2048 bytes/, 2048);
    rejects(mutate((m) => (m.namespaces = [{ namespace: "ns:a", payload: b64 }, { namespace: "ns:b", payload: b64 }])), /payloads exceed 5000 bytes together/, 5000);
    rejects(null, /reconcile: expected an object/);
  });

  test("envelope: authenticates a routed, signed message; refuses an unrouted namespace, tampering and replay", () => {
    const ctx = context([a, b], routes);
    const m = opening(["dao:vaultmesh", "dao:other"]);
    const ok = authenticateReconcile(m, ctx);
    assert.ok(ok.ok);
    assert.equal(ok.digest, messageDigest(m));
    const replayed = authenticateReconcile(m, ctx);
    assert.ok(!replayed.ok && replayed.error.status === 409 && replayed.error.code === "REPLAY");
    const unrouted = authenticateReconcile(opening(["dao:vaultmesh", "dao:elsewhere"]), context([a, b], routes));
    assert.ok(!unrouted.ok && unrouted.error.status === 403 && /dao:elsewhere/.test(unrouted.error.message));
    const tampered = { ...m, namespaces: [{ ...m.namespaces[0]!, payload: Buffer.from(Uint8Array.of(1, 0)).toString("base64") }, m.namespaces[1]!] };
    const bad = authenticateReconcile(tampered, context([a, b], routes));
    assert.ok(!bad.ok && bad.error.code === "SIG_INVALID");
    const forbidden = authenticateReconcile(signReconcile({ aud: RECEIVER, round: 1, parts: [], ts: NOW, signer: b.did }, b.key.privateKey), context([a, b], routes));
    assert.ok(!forbidden.ok && forbidden.error.code === "ROLE_FORBIDDEN");
  });

  test("envelope: the signature is a standard detached EdDSA JWS that jose verifies", async () => {
    const m = opening();
    const [header, , signature] = m.sig.split(".");
    const payload = Buffer.from(canonicalJson(unsigned(m))).toString("base64url");
    const jwk = a.key.publicKey.export({ format: "jwk" });
    const key = await importJWK({ ...jwk, alg: "EdDSA" }, "EdDSA");
    const verified = await compactVerify(`${header}.${payload}.${signature}`, key);
    assert.equal(verified.protectedHeader.alg, "EdDSA");
  });
});
