// Signing in slices gives the same bytes and signature as signMessage (docs/FEDERATION_PROTOCOL.md §Limits).
import { test } from "node:test";
import assert from "node:assert/strict";
import { authenticate, signMessage } from "../../lib/messages/authenticate.js";
import { canonicalJson } from "../../lib/messages/canonical.js";
import { ReplayCache } from "../../lib/messages/replay.js";
import { canonicalJsonInSlices, signMessageInSlices, yieldToLoop } from "../../lib/messages/sign-in-slices.js";
import { generateNodeKey } from "../../lib/identity/keys.js";

const did = "did:vm:node:a";

test("canonicalJsonInSlices: the RFC 8785 form of canonicalJson, with long arrays built in slices and pauses between them", async () => {
  let pauses = 0;
  const pause = async () => {
    pauses++;
    await yieldToLoop();
  };
  const message = { type: "bundle", z: [1, "é", { b: 2, a: [null, true] }], receipts: Array.from({ length: 1234 }, (_, i) => ({ id: `r${i}`, ts: i, nested: { y: "\u2028", x: -0 } })), skipped: undefined, namespace: "dao:x" };
  assert.equal(await canonicalJsonInSlices(message, pause), canonicalJson(message));
  assert.ok(pauses >= 6, `paused ${pauses} times for 1,234 elements`);
});

test("signMessageInSlices: the bytes are the signed message; it authenticates and carries signMessage's signature", async () => {
  const key = generateNodeKey();
  const body = { type: "request", v: 2, namespace: "dao:x", aud: "did:vm:node:b", want: Array.from({ length: 700 }, (_, i) => `sha256:${i.toString(16).padStart(64, "0")}`), ts: 1_800_000_000, signer: did };
  const { body: bytes, sig } = await signMessageInSlices({ ...body, memo: "é€😀".repeat(100_000) }, key.privateKey);
  const parsed = JSON.parse(bytes.toString("utf8")) as typeof body & { sig: string; memo: string };
  assert.equal(parsed.sig, sig);
  assert.equal(parsed.memo, "é€😀".repeat(100_000), "multi-byte text survives being encoded in slices");
  assert.equal(sig, signMessage({ ...body, memo: parsed.memo }, key.privateKey).sig, "Ed25519 is deterministic: the same signature");
  const peers = new Map([[did, { did, roles: new Set(["request" as const]), publicKey: key.publicKey }]]);
  const r = authenticate(parsed, { peers, isRouted: () => true, now: () => 1_800_000_000, skewS: 300, replay: new ReplayCache(), self: "did:vm:node:b" });
  assert.ok(r.ok, r.ok ? "" : r.error.message);
});
