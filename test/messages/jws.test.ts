import { describe, test } from "node:test";
import assert from "node:assert/strict";
import nacl from "tweetnacl";
import * as jose from "jose";
import { generateNodeKey, publicKeyFromRaw } from "../../lib/identity/keys.js";
import { signDetached, verifyDetached } from "../../lib/messages/jws.js";
import { canonicalJson } from "../../lib/messages/canonical.js";

const did = "did:vm:node:a";
const payload = Buffer.from(canonicalJson({ type: "request", v: 1, namespace: "dao:x", ts: 1700000000, signer: did }), "utf8");

describe("jws: detached EdDSA compact serialization", () => {
  test("jws: signs and verifies a detached payload", () => {
    const key = generateNodeKey();
    const jws = signDetached(payload, did, key.privateKey);
    assert.match(jws, /^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$/);
    assert.deepEqual(verifyDetached(jws, payload, did, key.publicKey), { ok: true, header: { alg: "EdDSA", kid: `${did}#key-1` } });
  });

  test("jws: tweetnacl verifies node:crypto signatures and node:crypto verifies tweetnacl's", () => {
    const key = generateNodeKey();
    const jws = signDetached(payload, did, key.privateKey);
    const [h, , s] = jws.split(".");
    const input = Buffer.from(`${h}.${payload.toString("base64url")}`, "ascii");
    assert.equal(nacl.sign.detached.verify(input, Buffer.from(s!, "base64url"), key.publicKeyBytes), true);

    const pair = nacl.sign.keyPair();
    const naclSig = nacl.sign.detached(input, pair.secretKey);
    const forged = `${h}..${Buffer.from(naclSig).toString("base64url")}`;
    assert.equal(verifyDetached(forged, payload, did, publicKeyFromRaw(pair.publicKey)).ok, true);
    assert.equal(verifyDetached(forged, payload, did, key.publicKey).ok, false);
  });

  test("jws: the jose package verifies our JWS and we verify jose's", async () => {
    const key = generateNodeKey();
    const jws = signDetached(payload, did, key.privateKey);
    const [h, , s] = jws.split(".");
    const { payload: got, protectedHeader } = await jose.compactVerify(`${h}.${payload.toString("base64url")}.${s}`, key.publicKey);
    assert.equal(Buffer.from(got).toString("utf8"), payload.toString("utf8"));
    assert.equal(protectedHeader.kid, `${did}#key-1`);

    const joseJws = await new jose.CompactSign(payload).setProtectedHeader({ alg: "EdDSA", kid: `${did}#key-1` }).sign(key.privateKey);
    const parts = joseJws.split(".");
    assert.equal(verifyDetached(`${parts[0]}..${parts[2]}`, payload, did, key.publicKey).ok, true);
  });

  test("jws: rejects a tampered payload, a wrong key and a wrong kid", () => {
    const key = generateNodeKey();
    const jws = signDetached(payload, did, key.privateKey);
    const tampered = Buffer.from(payload);
    tampered[tampered.length - 3] = tampered[tampered.length - 3]! ^ 1;
    assert.deepEqual(verifyDetached(jws, tampered, did, key.publicKey), { ok: false, reason: "signature does not verify with the signer's key" });
    assert.equal(verifyDetached(jws, payload, did, generateNodeKey().publicKey).ok, false);
    const other = verifyDetached(jws, payload, "did:vm:node:b", key.publicKey);
    assert.equal(other.ok, false);
    assert.match((other as { reason: string }).reason, /kid .* does not name the signer's key did:vm:node:b#key-1/);
  });

  test("jws: rejects every single flipped character of the compact form", () => {
    const key = generateNodeKey();
    const jws = signDetached(payload, did, key.privateKey);
    for (let i = 0; i < jws.length; i++) {
      if (jws[i] === ".") continue;
      const c = jws[i] === "A" ? "B" : "A";
      const flipped = jws.slice(0, i) + c + jws.slice(i + 1);
      assert.equal(verifyDetached(flipped, payload, did, key.publicKey).ok, false, `flip at ${i} accepted`);
    }
  });

  const malformed: Array<[string, (jws: string) => string, RegExp]> = [
    ["an attached payload", (j) => j.replace("..", `.${payload.toString("base64url")}.`), /detached/],
    ["two parts", (j) => j.replace("..", "."), /three dot-separated parts/],
    ["padding in the signature", (j) => `${j}==`, /base64url/],
    ["standard base64 characters", (j) => j.replace(/-/g, "+").replace(/_/g, "/") + (/[-_]/.test(j) ? "" : "+"), /base64url|signature/],
    ["a truncated signature", (j) => j.slice(0, -4), /base64url|64 bytes/],
    ["alg none", (j) => `${Buffer.from('{"alg":"none","kid":"did:vm:node:a#key-1"}').toString("base64url")}..${j.split(".")[2]}`, /not EdDSA/],
    ["an extra header member", (j) => `${Buffer.from('{"alg":"EdDSA","crit":["b64"],"kid":"did:vm:node:a#key-1"}').toString("base64url")}..${j.split(".")[2]}`, /exactly alg and kid/],
    ["a non-JSON header", (j) => `${Buffer.from("not json").toString("base64url")}..${j.split(".")[2]}`, /not JSON/],
  ];
  for (const [name, mutate, reason] of malformed) {
    test(`jws: rejects ${name}`, () => {
      const key = generateNodeKey();
      const r = verifyDetached(mutate(signDetached(payload, did, key.privateKey)), payload, did, key.publicKey);
      assert.equal(r.ok, false);
      assert.match((r as { reason: string }).reason, reason);
    });
  }

  test("jws: never throws on non-string or oversized input", () => {
    const key = generateNodeKey();
    for (const bad of [undefined, null, 42, {}, "x".repeat(5000)]) assert.equal(verifyDetached(bad, payload, did, key.publicKey).ok, false);
  });
});
