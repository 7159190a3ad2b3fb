/**
 * A body over the 1 MiB limit (docs/FEDERATION_PROTOCOL.md §Limits) must be answered with 413 BODY_TOO_LARGE that the sender
 * can read: closing the connection while the body is still arriving makes the kernel reset it,
 * and the sender then sees ECONNRESET instead of the answer. Found by the hostile-input suite.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { useMesh } from "../support/use-mesh.js";

const mesh = useMesh([{ name: "a", routes: [] }]);

/** POSTs `size` bytes in 64 KiB writes, with or without Content-Length; resolves the answer or the socket error. */
function postBig(size: number, declared: boolean): Promise<{ status: number; body: string } | { error: string }> {
  const url = new URL(`${mesh.node("a").url}/federation/announce`);
  return new Promise((resolve) => {
    const headers: Record<string, string | number> = { "content-type": "application/json" };
    if (declared) headers["content-length"] = size;
    const req = request({ host: url.hostname, port: url.port, path: url.pathname, method: "POST", headers, agent: false }, (res) => {
      let body = "";
      res.setEncoding("utf8").on("data", (d: string) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", (e) => resolve({ error: e.message }));
    });
    req.on("error", (e) => resolve({ error: (e as NodeJS.ErrnoException).code ?? e.message }));
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const pump = (): void => {
      while (sent < size) {
        const n = Math.min(chunk.length, size - sent);
        sent += n;
        if (!req.write(n === chunk.length ? chunk : chunk.subarray(0, n))) return void req.once("drain", pump);
      }
      req.end();
    };
    pump();
  });
}

describe("hardening: oversize bodies", () => {
  for (const declared of [true, false]) {
    test(`oversize body: ${declared ? "a declared Content-Length" : "a chunked body"} over 1 MiB gets a readable 413, every time`, async () => {
      for (let i = 0; i < 12; i++) {
        const r = await postBig(1024 * 1024 + 64 * 1024 * (1 + (i % 4)), declared);
        assert.ok("status" in r, `attempt ${i}: no answer, the connection failed with ${"error" in r ? r.error : "?"}`);
        assert.equal(r.status, 413);
        assert.equal((JSON.parse(r.body) as { error: { code: string } }).error.code, "BODY_TOO_LARGE");
      }
      assert.equal((await mesh.node("a").health()).status, 200);
    });
  }
});
