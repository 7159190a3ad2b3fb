/**
 * Compressed answers (docs/FEDERATION_PROTOCOL.md §Compression): brotli streams declare a
 * 256 KiB window whatever the body's size, so compressing a multi-megabyte answer costs the
 * memory of that window and not of one sized to the body, and they inflate to the same bytes.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { BROTLI_WINDOW_BITS, compressBody, compressChunks, inflateBody } from "../../lib/http/encoding.js";

/** WBITS of a brotli stream's header (RFC 7932 §9.2): 16, 17–24 or 10–15, read from its first bits. */
function windowBits(stream: Buffer): number {
  const bits = stream[0]! | (stream[1]! << 8);
  if ((bits & 1) === 0) return 16;
  const n = (bits >> 1) & 7;
  if (n !== 0) return 17 + n;
  const m = (bits >> 4) & 7;
  return m === 1 ? 17 : 8 + m;
}

test("compressBody br: a 5 MB answer is compressed with a 256 KiB window and inflates to the same bytes", async () => {
  const body = Buffer.from(JSON.stringify({ receipts: Array.from({ length: 40_000 }, (_, i) => ({ id: `sha256:${(i * 2654435761).toString(16).padStart(64, "0")}`, index: i, namespace: "dao:vaultmesh" })) }));
  assert.ok(body.length > 4 * 1024 * 1024, `${body.length} bytes`);
  const wire = await compressBody(body, "br");
  assert.equal(BROTLI_WINDOW_BITS, 18);
  assert.equal(windowBits(wire), BROTLI_WINDOW_BITS);
  assert.ok(wire.length < body.length / 2, `${wire.length} of ${body.length} bytes`);
  assert.deepEqual(await inflateBody(wire, "br", body.length), body);
});

test("compressChunks: a body in 64 KiB chunks streams through brotli (256 KiB window) or gzip to the same bytes, and each input chunk is let go", async () => {
  const body = Buffer.from(JSON.stringify({ receipts: Array.from({ length: 40_000 }, (_, i) => ({ id: `sha256:${(i * 2654435761).toString(16).padStart(64, "0")}`, index: i, note: "é€😀".slice(0, i % 4) })) }));
  for (const encoding of ["br", "gzip"] as const) {
    const chunks: Buffer[] = [];
    for (let i = 0; i < body.length; i += 64 * 1024) chunks.push(body.subarray(i, i + 64 * 1024));
    const wire = await compressChunks(chunks, encoding);
    assert.ok(chunks.every((c) => c.length === 0), "no input chunk is still held");
    const joined = Buffer.concat(wire.chunks);
    assert.equal(joined.length, wire.length);
    if (encoding === "br") assert.equal(windowBits(joined), BROTLI_WINDOW_BITS);
    assert.ok(wire.length < body.length / 2, `${encoding}: ${wire.length} of ${body.length} bytes`);
    assert.deepEqual(await inflateBody(joined, encoding, body.length), body);
  }
});
