// Signing in slices gives the same bytes and signature as signMessage (docs/FEDERATION_PROTOCOL.md §Limits).
import { test } from "node:test";
import assert from "node:assert/strict";
import { authenticate, signMessage } from "../../lib/messages/authenticate.js";
import { canonicalJson } from "../../lib/messages/canonical.js";
import { ReplayCache } from "../../lib/messages/replay.js";
import { canonicalBytesInSlices, signMessageInSlices, yieldToLoop } from "../../lib/messages/sign-in-slices.js";
import { generateNodeKey } from "../../lib/identity/keys.js";

const did = "did:vm:node:a";

test("canonicalBytesInSlices: the RFC 8785 form of canonicalJson, with long arrays built in slices and pauses between them", async () => {
  let pauses = 0;
  const pause = async () => {
    pauses++;
    await yieldToLoop();
  };
  const message = { type: "bundle", z: [1, "é", { b: 2, a: [null, true] }], receipts: Array.from({ length: 1234 }, (_, i) => ({ id: `r${i}`, ts: i, nested: { y: "\u2028", x: -0 } })), skipped: undefined, namespace: "dao:x" };
  const { chunks, length } = await canonicalBytesInSlices(message, pause);
  assert.equal(Buffer.concat(chunks).toString("utf8"), canonicalJson(message));
  assert.equal(length, Buffer.byteLength(canonicalJson(message)));
  assert.ok(pauses >= 6, `paused ${pauses} times for 1,234 elements`);
});

test("signMessageInSlices: the bytes are the signed message; it authenticates and carries signMessage's signature", async () => {
  const key = generateNodeKey();
  const body = { type: "request", v: 2, namespace: "dao:x", aud: "did:vm:node:b", want: Array.from({ length: 700 }, (_, i) => `sha256:${i.toString(16).padStart(64, "0")}`), ts: 1_800_000_000, signer: did };
  const { body: chunked, sig } = await signMessageInSlices({ ...body, memo: "é€😀".repeat(100_000) }, key.privateKey);
  const bytes = Buffer.concat(chunked.chunks);
  assert.equal(bytes.length, chunked.length);
  const parsed = JSON.parse(bytes.toString("utf8")) as typeof body & { sig: string; memo: string };
  assert.equal(parsed.sig, sig);
  assert.equal(parsed.memo, "é€😀".repeat(100_000), "multi-byte text survives being encoded in slices");
  assert.equal(sig, signMessage({ ...body, memo: parsed.memo }, key.privateKey).sig, "Ed25519 is deterministic: the same signature");
  const peers = new Map([[did, { did, roles: new Set(["request" as const]), publicKey: key.publicKey }]]);
  const r = authenticate(parsed, { peers, isRouted: () => true, now: () => 1_800_000_000, skewS: 300, replay: new ReplayCache(), self: "did:vm:node:b" });
  assert.ok(r.ok, r.ok ? "" : r.error.message);
});

test("signMessageInSlices: a Bundle of thousands of receipts is sent as exactly its canonical form with `sig` last, whatever falls on a chunk's edge", async () => {
  const key = generateNodeKey();
  // Receipts with paths and text of 1 to 4 UTF-8 bytes a character, so chunk edges (64 KiB) fall inside characters and inside base64 groups.
  const receipts = Array.from({ length: 3000 }, (_, i) => ({ id: `sha256:${i.toString(16).padStart(64, "0")}`, ts: 1_800_000_000 + i, note: "aé€😀".slice(0, 1 + (i % 5)), proof: { index: i, size: 3000, path: Array.from({ length: 12 }, (_, k) => `sha256:${(i * 13 + k).toString(16).padStart(64, "0")}`) } }));
  const message = { type: "bundle", v: 2, namespace: "dao:x", aud: "did:vm:node:b", receipts, checkpoints: [], anchors: [], ts: 1_800_000_000, signer: did };
  const { body, sig } = await signMessageInSlices(message, key.privateKey);
  assert.ok(body.chunks.length > 10, `${body.chunks.length} chunks`);
  const expected = `${canonicalJson(message).slice(0, -1)},"sig":${JSON.stringify(sig)}}`;
  assert.equal(Buffer.concat(body.chunks).toString("utf8"), expected);
  assert.equal(body.length, Buffer.byteLength(expected));
  assert.equal(sig, signMessage(message, key.privateKey).sig);
});
