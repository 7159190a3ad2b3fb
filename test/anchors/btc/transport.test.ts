import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { endpointTarget, sendRequest } from "../../../lib/anchors/btc/transport.js";

let server: Server;
let base = "";

before(async () => {
  server = createServer((req, res) => {
    if (req.url === "/declared") {
      res.writeHead(200, { "content-length": String(10_000) });
      res.end("x".repeat(10_000));
    } else {
      // No Content-Length: chunked, so only counting while reading catches it.
      res.writeHead(200);
      for (let i = 0; i < 20; i++) res.write("y".repeat(1000));
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://user:secret@127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise((r) => server.close(r)));

test("transport: an answer over the byte limit is unreachable, whether declared or streamed, and never echoes credentials", async () => {
  const target = endpointTarget(base)!;
  for (const path of ["/declared", "/chunked"]) {
    const r = await sendRequest(target, path, { method: "GET" }, 5000, 4096);
    assert.equal(r.ok, false, path);
    assert.match((r as { unreachable: string }).unreachable, /answer larger than 4096 bytes/);
    assert.doesNotMatch((r as { unreachable: string }).unreachable, /secret/);
  }
  const fine = await sendRequest(target, "/chunked", { method: "GET" }, 5000, 100_000);
  assert.equal(fine.ok && fine.body.length, 20_000);
});
