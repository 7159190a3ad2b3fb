/**
 * Requests that are not valid HTTP/1.1 (garbage, oversized headers, Content-Length together with
 * chunked encoding, bad header names) never reach a route; they must still be answered with a
 * JSON error `{ error: { code, message } }` (docs/FEDERATION_PROTOCOL.md §Errors), then the connection is closed, and the
 * node keeps serving. Found by probing serve with raw sockets.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { useMesh } from "../support/use-mesh.js";

const mesh = useMesh([{ name: "a", routes: [] }]);

/** Writes `raw` to a fresh connection and resolves everything the server sent until it closed. */
function sendRaw(raw: string): Promise<string> {
  const { port } = new URL(mesh.node("a").url);
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port: Number(port) });
    let out = "";
    s.setEncoding("latin1");
    s.on("data", (d: string) => (out += d));
    s.on("close", () => resolve(out));
    s.on("error", () => undefined);
    s.write(raw);
    setTimeout(() => s.destroy(), 5000).unref();
  });
}

function parseAnswer(text: string): { status: number; headers: string; body: string } {
  const end = text.indexOf("\r\n\r\n");
  assert.ok(end > 0, `no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`);
  return { status: Number(/^HTTP\/1\.1 (\d{3}) /.exec(text)?.[1]), headers: text.slice(0, end).toLowerCase(), body: text.slice(end + 4) };
}

describe("hardening: requests that are not HTTP", () => {
  const cases: Array<[string, string, number]> = [
    ["a garbage request line", "HELLO\r\n\r\n", 400],
    ["a header over node's 16 KiB limit", `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(20_000)}\r\n\r\n`, 431],
    ["Content-Length together with chunked encoding", "POST /federation/announce HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400],
    ["a space in a header name", "GET /health HTTP/1.1\r\nHo st: x\r\n\r\n", 400],
    ["a NUL in the path", "GET /hea\u0000lth HTTP/1.1\r\nHost: x\r\n\r\n", 400],
  ];
  for (const [what, raw, status] of cases) {
    test(`framing: ${what} gets ${status} with a JSON error body`, async () => {
      const a = parseAnswer(await sendRaw(raw));
      assert.equal(a.status, status);
      assert.match(a.headers, /content-type: application\/json/);
      const body = JSON.parse(a.body) as { error: { code: string; message: string } };
      assert.deepEqual(Object.keys(body), ["error"]);
      assert.match(body.error.code, /^[A-Z_]+$/);
      assert.equal(typeof body.error.message, "string");
      assert.doesNotMatch(a.body, /\n\s+at |node:internal/);
      assert.equal((await mesh.node("a").health()).status, 200);
    });
  }
});
