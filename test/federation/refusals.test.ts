import { BURST_S } from "../../lib/http/rate-limit.js";
import { before, describe, test } from "node:test";
import { checkpointBy } from "../support/checkpoint.js";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import * as jose from "jose";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { signMessage } from "../../lib/messages/authenticate.js";
import { canonicalJson, unsigned } from "../../lib/messages/canonical.js";
import type { Announce, Request } from "../../lib/messages/schema.js";
import { MESH_NAMESPACE as NS, type Guest } from "../support/mesh.js";
import { useMesh } from "../support/use-mesh.js";

/**
 * Announces a minute each peer may send. Small, so the flood below outruns the bucket by far
 * more than it can refill while the flood is sent, however slow the machine is (one token per
 * 12 s); the honest peer sends two accepted Announces in this file.
 */
const ANNOUNCES_PER_MIN = 30;
/** Announces the flooder sends at once: eight times the allowance. */
const FLOOD = 40;

const mesh = useMesh([{ name: "a", routes: [] }], {
  guests: [
    { name: "flooder", roles: ["announce", "request"] },
    { name: "honest", roles: ["announce", "request"] },
    { name: "reader", roles: ["request"] },
  ],
  limits: { announcePerMin: ANNOUNCES_PER_MIN },
});
let url: string;
let flooder: Guest;
let honest: Guest;
let reader: Guest;

const now = () => Math.floor(Date.now() / 1000);
const ROOT = `sha256:${"5a".repeat(32)}`;

function withAnchor(m: Omit<Announce, "sig">): Omit<Announce, "sig"> {
  return { ...m, anchors: [{ batchId: m.batchId, batchRoot: m.batchRoot, chain: "rfc3161:vmsh-test", tx: "t1", block: 0, ts: 1, sig: "AAAA" }] };
}

function signedAnnounce(g: Guest, over: Partial<Announce> = {}): Announce {
  const batchId = over.batchId ?? `b-${Math.random().toString(36).slice(2, 10)}`;
  const base = withAnchor({ type: "announce", v: 2, namespace: NS, aud: "did:vm:node:a", batchId, batchRoot: ROOT, checkpoint: checkpointBy(g, { namespace: NS, batchId, batchRoot: ROOT }), anchors: [], ts: now(), signer: g.did, ...over });
  return signMessage<Announce>(base, g.key.privateKey);
}

async function post(path: string, body: unknown, headers: Record<string, string> = { "content-type": "application/json" }): Promise<{ status: number; body: any; headers: Headers }> {
  const res = await fetch(`${url}${path}`, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // leave as text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

async function metricsText(): Promise<string> {
  const m = await fetch(`${url}/metrics`);
  assert.equal(m.status, 200);
  return m.text();
}

function rateLimitedTotal(metrics: string): number {
  const m = /^vmsh_federation_requests_rate_limited_total (\d+)$/m.exec(metrics);
  assert.ok(m, "no vmsh_federation_requests_rate_limited_total in /metrics");
  return Number(m[1]);
}

describe("federation: what serve refuses, and with which answer", () => {
  // Suite-level, so it runs after useMesh's file-level hook has started the mesh.
  before(() => {
    url = mesh.node("a").url;
    flooder = mesh.guests.get("flooder")!;
    honest = mesh.guests.get("honest")!;
    reader = mesh.guests.get("reader")!;
  });

  test("refuse: an unknown DID gets 401 SIGNER_UNKNOWN", async () => {
    const stranger = { name: "x", did: "did:vm:node:stranger", key: generateNodeKey(), roles: [], url: "http://127.0.0.1:9" };
    const r = await post("/federation/announce", signedAnnounce(stranger));
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, "SIGNER_UNKNOWN");
  });

  test("refuse: a tampered signature gets 401 SIG_INVALID", async () => {
    const m = signedAnnounce(honest);
    const r = await post("/federation/announce", { ...m, batchId: `${m.batchId}x`, checkpoint: { ...m.checkpoint, batchId: `${m.batchId}x` }, anchors: m.anchors.map((a) => ({ ...a, batchId: `${m.batchId}x` })) });
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, "SIG_INVALID");
  });

  test("refuse: a peer without the announce role gets 403 ROLE_FORBIDDEN", async () => {
    const r = await post("/federation/announce", signedAnnounce(reader));
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, "ROLE_FORBIDDEN");
  });

  test("refuse: a namespace not routed to the sender gets 403 NAMESPACE_NOT_ROUTED", async () => {
    const r = await post("/federation/request", signMessage<Request>({ type: "request", v: 2, namespace: "dao:other", aud: "did:vm:node:a", ts: now(), signer: honest.did }, honest.key.privateKey));
    assert.equal(r.status, 403);
    assert.equal(r.body.error.code, "NAMESPACE_NOT_ROUTED");
  });

  test("refuse: a replayed message gets 409 REPLAY", async () => {
    const m = signMessage<Request>({ type: "request", v: 2, namespace: NS, aud: "did:vm:node:a", ts: now(), signer: reader.did }, reader.key.privateKey);
    assert.equal((await post("/federation/request", m)).status, 200);
    const again = await post("/federation/request", m);
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, "REPLAY");
  });

  test("refuse: a stale ts gets 401 STALE_TIMESTAMP", async () => {
    const r = await post("/federation/announce", signedAnnounce(honest, { ts: now() - 3600 }));
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, "STALE_TIMESTAMP");
  });

  test("refuse: an oversize body gets 413, a non-JSON content type 415, bad JSON 400, and no stack trace", async () => {
    const big = await post("/federation/announce", `{"pad":"${"x".repeat(1_100_000)}"}`);
    assert.equal(big.status, 413);
    assert.equal(big.body.error.code, "BODY_TOO_LARGE");
    const type = await post("/federation/announce", "{}", { "content-type": "text/plain" });
    assert.equal(type.status, 415);
    const bad = await post("/federation/announce", "{not json");
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, "MALFORMED_JSON");
    for (const r of [big, type, bad]) assert.doesNotMatch(JSON.stringify(r.body), /at .*\.js:\d+|node:internal/);
  });

  test("refuse: unknown paths get 404 and wrong methods 405, as JSON errors", async () => {
    const missing = await fetch(`${url}/federation/nothing`, { method: "POST" });
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as any).error.code, "NOT_FOUND");
    const method = await fetch(`${url}/federation/announce`);
    assert.equal(method.status, 405);
  });

  test("refuse: a flood gets 429 with Retry-After while another peer still gets through", async () => {
    // FLOOD announces at once from one peer against a bucket of BURST_S seconds of ANNOUNCES_PER_MIN
    // (at least one; docs/FEDERATION_PROTOCOL.md §Limits): those are taken whatever the timing, and
    // the bucket cannot refill the rest.
    const answers = await Promise.all(Array.from({ length: FLOOD }, () => post("/federation/announce", signedAnnounce(flooder))));
    const accepted = answers.filter((r) => r.status === 202);
    const limited = answers.filter((r) => r.status === 429);
    assert.equal(accepted.length + limited.length, FLOOD, `other answers: ${JSON.stringify(answers.filter((r) => r.status !== 202 && r.status !== 429).map((r) => [r.status, r.body]))}`);
    const bucket = Math.max(1, Math.floor((ANNOUNCES_PER_MIN * BURST_S) / 60));
    assert.ok(accepted.length >= bucket, `only ${accepted.length} of a full bucket of ${bucket} accepted`);
    assert.ok(accepted.length < ANNOUNCES_PER_MIN, `${accepted.length} accepted at once: a minute's worth, not a few seconds'`);
    assert.ok(limited.length > 0, `no 429 after ${FLOOD} announces against ${ANNOUNCES_PER_MIN} a minute`);
    for (const r of limited) {
      assert.equal(r.body.error.code, "RATE_LIMITED");
      assert.match(r.headers.get("retry-after") ?? "", /^[1-9]\d*$/);
    }
    const other = await post("/federation/announce", signedAnnounce(honest));
    assert.equal(other.status, 202);
    const h = await mesh.node("a").health();
    assert.equal(h.status, 200);
  });

  test("accept: an Announce signed with the jose package (independent JOSE code) is accepted", async () => {
    const body = withAnchor({ type: "announce", v: 2, namespace: NS, aud: "did:vm:node:a", batchId: "b-jose", batchRoot: ROOT, checkpoint: checkpointBy(honest, { namespace: NS, batchId: "b-jose", batchRoot: ROOT }), anchors: [], ts: now(), signer: honest.did });
    const payload = new TextEncoder().encode(canonicalJson(unsigned(body as Announce)));
    const jws = await new jose.CompactSign(payload).setProtectedHeader({ alg: "EdDSA", kid: `${honest.did}#key-1` }).sign(honest.key.privateKey);
    const [h, , s] = jws.split(".");
    const r = await post("/federation/announce", { ...body, sig: `${h}..${s}` });
    assert.equal(r.status, 202, JSON.stringify(r.body));
    assert.deepEqual(r.body, { accepted: true });
  });

  test("refuse: a peer removed from peers.yaml is refused after SIGHUP", async () => {
    const a = mesh.node("a");
    const file = join(a.configDir, "peers.yaml");
    const original = await readFile(file, "utf8");
    const others = [flooder, reader].map((g) => ({ did: g.did, url: "http://127.0.0.1:9", roles: g.roles, key: `ed25519:${Buffer.from(g.key.publicKeyBytes).toString("base64url")}` }));
    await mesh.writePeers("a", others);
    const r = await post("/federation/announce", signedAnnounce(honest));
    assert.equal(r.status, 401);
    assert.equal(r.body.error.code, "SIGNER_UNKNOWN");
    await writeFile(file, original);
    a.signal("SIGHUP");
  });

  test("health and metrics: /health answers anyone, /metrics counts what happened", async () => {
    const h = await mesh.node("a").health();
    assert.equal(h.status, 200);
    assert.deepEqual(Object.keys(h.body).sort(), ["node", "status", "uptimeS", "version"]);
    const limitedBefore = rateLimitedTotal(await metricsText());
    // What this test counts, it causes: an unknown signer, and a burst over the flooder's allowance.
    const stranger = { name: "x", did: "did:vm:node:stranger", key: generateNodeKey(), roles: [], url: "http://127.0.0.1:9" };
    assert.equal((await post("/federation/announce", signedAnnounce(stranger))).status, 401);
    const burst = await Promise.all(Array.from({ length: FLOOD }, () => post("/federation/announce", signedAnnounce(flooder))));
    const limited = burst.filter((r) => r.status === 429).length;
    assert.ok(limited > 0, `no 429 in a burst of ${FLOOD}`);
    const text = await metricsText();
    assert.match(text, /vmsh_federation_messages_total\{type="announce",outcome="SIGNER_UNKNOWN"\} [1-9]/);
    assert.equal(rateLimitedTotal(text), limitedBefore + limited);
    assert.match(text, /# TYPE vmsh_federation_anchors gauge/);
  });

  test("lifecycle: SIGTERM makes serve exit 0", async () => {
    assert.equal(await mesh.node("a").stop("SIGTERM"), 0);
    await mesh.node("a").waitForLog(/"msg":"stopped"/);
  });
});
