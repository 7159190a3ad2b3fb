import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { authenticate } from "../../lib/messages/authenticate.js";
import { messageDigest } from "../../lib/messages/canonical.js";
import { announce, context, NOW, peer, request } from "./fixtures.js";

const a = peer("did:vm:node:a", ["announce", "request"]);
const b = peer("did:vm:node:b", ["serve"]);
const routes = { "dao:vaultmesh": [a.did, b.did] };

function code(r: ReturnType<typeof authenticate>): string {
  return r.ok ? "OK" : `${r.error.status} ${r.error.code}`;
}

describe("authenticate: the checks of docs/FEDERATION_PROTOCOL.md §Verification order", () => {
  test("authenticate: accepts a fresh, signed, routed announce from a peer with the role", () => {
    const r = authenticate(announce(a), context([a, b], routes));
    assert.equal(code(r), "OK");
    assert.equal(r.ok && r.digest, messageDigest(announce(a)));
  });

  test("authenticate: refuses a message addressed to another node with 401 WRONG_AUDIENCE, before the signature and the replay cache", () => {
    const ctx = context([a, b], routes);
    const elsewhere = announce(a, { aud: "did:vm:node:other" });
    assert.equal(code(authenticate(elsewhere, ctx)), "401 WRONG_AUDIENCE");
    assert.equal(ctx.replay.size, 0, "nothing remembered for it");
    // Re-addressed after signing, the message no longer verifies at all.
    assert.equal(code(authenticate({ ...elsewhere, aud: ctx.self }, ctx)), "401 SIG_INVALID");
  });

  test("authenticate: refuses an unknown signer with 401 SIGNER_UNKNOWN", () => {
    const stranger = peer("did:vm:node:x", ["announce"]);
    assert.equal(code(authenticate(announce(stranger), context([a], routes))), "401 SIGNER_UNKNOWN");
  });

  test("authenticate: refuses a message kind the sender's role does not permit with 403", () => {
    assert.equal(code(authenticate(announce(b), context([a, b], routes))), "403 ROLE_FORBIDDEN");
    assert.equal(code(authenticate(request(b), context([a, b], routes))), "403 ROLE_FORBIDDEN");
  });

  test("authenticate: refuses a namespace not routed to the sender with 403", () => {
    const r = authenticate(announce(a, { namespace: "dao:other", anchors: [] }), context([a], routes));
    assert.equal(code(r), "403 NAMESPACE_NOT_ROUTED");
  });

  test("authenticate: accepts ts exactly at the skew edge and refuses one second beyond", () => {
    assert.equal(code(authenticate(request(a, { ts: NOW - 300 }), context([a], routes))), "OK");
    assert.equal(code(authenticate(request(a, { ts: NOW + 300 }), context([a], routes))), "OK");
    assert.equal(code(authenticate(request(a, { ts: NOW - 301 }), context([a], routes))), "401 STALE_TIMESTAMP");
    assert.equal(code(authenticate(request(a, { ts: NOW + 301 }), context([a], routes))), "401 STALE_TIMESTAMP");
  });

  test("authenticate: refuses a replay with 409 while the message is in its window", () => {
    const ctx = context([a], routes);
    const m = request(a);
    assert.equal(code(authenticate(m, ctx)), "OK");
    assert.equal(code(authenticate(m, ctx)), "409 REPLAY");
    ctx.clock.now = NOW + 299;
    assert.equal(code(authenticate(m, ctx)), "409 REPLAY");
  });

  test("authenticate: refuses a tampered signature with 401 SIG_INVALID", () => {
    const m = request(a, { fromTs: 5 });
    assert.equal(code(authenticate({ ...m, fromTs: 6 } as typeof m, context([a], routes))), "401 SIG_INVALID");
  });

  test("authenticate: refuses the key of one peer used for another's DID", () => {
    const impostor = { ...a, key: b.key };
    assert.equal(code(authenticate(request(impostor), context([a, b], routes))), "401 SIG_INVALID");
  });

  test("authenticate: a forged copy does not poison the replay cache", () => {
    const ctx = context([a], routes);
    const m = request(a);
    const forged = { ...m, sig: request(peer(a.did, ["request"])).sig };
    assert.equal(code(authenticate(forged, ctx)), "401 SIG_INVALID");
    assert.equal(code(authenticate(m, ctx)), "OK");
  });

  test("authenticate: a signature for one message type cannot be replayed as another", () => {
    const m = request(a);
    const asAnnounce = { ...m, type: "announce" };
    assert.equal(code(authenticate(asAnnounce, context([a], routes))), "401 SIG_INVALID");
  });

  test("authenticate: checks the allowlist before spending a signature check", () => {
    // An unknown signer with garbage in sig is refused as unknown, not as a bad signature.
    const m = { ...request(a), signer: "did:vm:node:nobody", sig: "x..y" };
    assert.equal(code(authenticate(m, context([a], routes))), "401 SIGNER_UNKNOWN");
  });
});
