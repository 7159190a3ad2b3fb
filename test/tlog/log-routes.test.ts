/**
 * The `/log/` routes' refusals before a witness decides (lib/http/log-routes.ts,
 * docs/FEDERATION_PROTOCOL.md §Origin log): an add-checkpoint body over the bound is 413
 * BODY_TOO_LARGE whether declared or streamed, one that is not UTF-8 is 400 MALFORMED, a GET of it
 * is 405, and none of them reaches the witness.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ProtocolError } from "../../lib/errors.js";
import { MAX_ADD_CHECKPOINT_BYTES, serveLog, type ServedLog } from "../../lib/http/log-routes.js";

let server: Server;
let url: string;
const reached: string[] = [];
const log: ServedLog = {
  get: async () => undefined,
  addCheckpoint: async (body) => {
    reached.push(body);
    return { status: 200, contentType: "text/plain; charset=utf-8", body: "— w 1\n" };
  },
};

before(async () => {
  server = createServer((req, res) => {
    serveLog(req, res, new URL(req.url!, "http://x").pathname, log).catch((e: unknown) => {
      const p = e as ProtocolError;
      req.resume();
      res.writeHead(p.status ?? 500, { "content-type": "application/json" }).end(JSON.stringify({ error: { code: p.code } }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => server.close(() => r())));

/** POSTs `chunks` (chunked: no Content-Length unless `declared`); resolves status and error code. */
function post(chunks: Buffer[], declared?: number): Promise<{ status: number; code?: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/log/add-checkpoint`, { method: "POST", headers: declared === undefined ? {} : { "content-length": declared } }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode!, code: res.statusCode === 200 ? undefined : (JSON.parse(text) as { error: { code: string } }).error.code }));
    });
    req.on("error", reject);
    for (const c of chunks) req.write(c);
    req.end();
  });
}

describe("/log/ routes: body refusals", () => {
  test("over the bound (declared or streamed) is 413 BODY_TOO_LARGE, not UTF-8 is 400 MALFORMED, GET is 405; a valid body reaches the witness", async () => {
    const big = Buffer.alloc(MAX_ADD_CHECKPOINT_BYTES + 1, 0x61);
    assert.deepEqual(await post([big], big.length), { status: 413, code: "BODY_TOO_LARGE" });
    assert.deepEqual(await post([big.subarray(0, 40_000), big.subarray(40_000)]), { status: 413, code: "BODY_TOO_LARGE" });
    assert.deepEqual(await post([Buffer.from([0x6f, 0x6c, 0x64, 0xff, 0xfe])]), { status: 400, code: "MALFORMED" });
    const get = await fetch(`${url}/log/add-checkpoint`);
    assert.equal(get.status, 405);
    assert.equal(((await get.json()) as { error: { code: string } }).error.code, "METHOD_NOT_ALLOWED");
    assert.deepEqual(reached, [], "no refused body reached the witness");
    assert.deepEqual(await post([Buffer.from("old 0\n\nnote\n")]), { status: 200, code: undefined });
    assert.deepEqual(reached, ["old 0\n\nnote\n"]);
  });
});
