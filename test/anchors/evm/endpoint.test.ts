/**
 * An EVM endpoint that cannot answer makes an anchor pending, never rejected,
 * and the reason names the endpoint without its credentials (docs/ANCHORS.md §Outcomes). The
 * failing endpoints are loopback servers on port 0 started by the tests.
 */
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createTcpServer } from "node:net";
import type { AddressInfo } from "node:net";
import type { Anchor } from "../../../lib/anchors/anchor.js";
import { endpointName, verifyEvmAnchor } from "../../../lib/anchors/evm/index.js";
import { ArgumentError } from "../../../lib/errors.js";

const ROOT = `sha256:${"ab".repeat(32)}`;
const ANCHOR: Anchor = {
  batchId: "batch-endpoint",
  batchRoot: ROOT,
  chain: "eip155:31337",
  contract: "0x5fbdb2315678afecb367f032d93f642f64180aa3",
  tx: `0x${"11".repeat(32)}`,
  block: 7,
  ts: 1_795_000_000,
};

const servers: Server[] = [];
after(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<number> {
  const server = createHttpServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

/** A loopback port that nothing listens on: bound, read, and released. */
async function closedPort(): Promise<number> {
  const probe = createTcpServer();
  await new Promise<void>((resolve) => probe.listen(0, "127.0.0.1", resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe("verifyEvmAnchor with a failing endpoint", () => {
  test("endpoint: a closed port makes the anchor pending, naming the endpoint", async () => {
    const port = await closedPort();
    const result = await verifyEvmAnchor(ANCHOR, ROOT, { rpcUrl: `http://127.0.0.1:${port}`, confirmations: 1 });
    assert.deepEqual(result, { outcome: "pending", unreachable: true, reason: `EVM endpoint http://127.0.0.1:${port} failed: connection refused` });
  });

  test("endpoint: an HTTP 503 makes the anchor pending", async () => {
    const port = await serve((_req, res) => res.writeHead(503, { "content-type": "text/plain" }).end("upstream overloaded"));
    const result = await verifyEvmAnchor(ANCHOR, ROOT, { rpcUrl: `http://127.0.0.1:${port}/`, confirmations: 1 });
    assert.deepEqual(result, { outcome: "pending", unreachable: true, reason: `EVM endpoint http://127.0.0.1:${port} failed: HTTP 503` });
  });

  test("endpoint: an answer over the byte limit makes the anchor pending without reading it all", async () => {
    const port = await serve((_req, res) => {
      // Declares 64 MiB and starts sending: the verifier must stop at its 32 MiB limit.
      res.writeHead(200, { "content-type": "application/json", "content-length": String(64 * 1024 * 1024) });
      res.write("[".repeat(1024));
    });
    const result = await verifyEvmAnchor(ANCHOR, ROOT, { rpcUrl: `http://127.0.0.1:${port}`, confirmations: 1, timeoutMs: 5000 });
    assert.equal(result.outcome, "pending");
    assert.match(result.reason ?? "", new RegExp(`EVM endpoint http://127\\.0\\.0\\.1:${port} failed: .*answer larger than 33554432 bytes`));
  });

  test("endpoint: a node that never answers makes the anchor pending after the timeout", async () => {
    const port = await serve(() => undefined);
    const result = await verifyEvmAnchor(ANCHOR, ROOT, { rpcUrl: `http://127.0.0.1:${port}`, confirmations: 1, timeoutMs: 300 });
    assert.deepEqual(result, { outcome: "pending", unreachable: true, reason: `EVM endpoint http://127.0.0.1:${port} failed: timed out after 300 ms` });
  });

  test("endpoint: a JSON-RPC error from the node makes the anchor pending with the node's code", async () => {
    const port = await serve((_req, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ jsonrpc: "2.0", id: 0, error: { code: -32005, message: "limit exceeded, see https://rpc.example/v3/SECRETKEY" } }));
    });
    const result = await verifyEvmAnchor(ANCHOR, ROOT, { rpcUrl: `http://127.0.0.1:${port}`, confirmations: 1 });
    assert.equal(result.outcome, "pending");
    assert.match(result.reason!, /^EVM endpoint http:\/\/127\.0\.0\.1:\d+ failed: JSON-RPC error -32005: limit exceeded/);
    assert.ok(!result.reason!.includes("SECRETKEY"), result.reason);
  });

  test("endpoint: credentials in the RPC URL never appear in the reason", async () => {
    const port = await serve((_req, res) => res.writeHead(502).end());
    const result = await verifyEvmAnchor(ANCHOR, ROOT, { rpcUrl: `http://alice:hunter2@127.0.0.1:${port}/v3/APIKEY123?token=T0K3N`, confirmations: 1 });
    assert.equal(result.outcome, "pending");
    for (const secret of ["alice", "hunter2", "APIKEY123", "T0K3N"]) assert.ok(!result.reason!.includes(secret), result.reason);
    assert.equal(result.reason, `EVM endpoint http://127.0.0.1:${port} failed: HTTP 502`);
  });

  test("endpoint: a static rejection needs no endpoint at all", async () => {
    const port = await closedPort();
    const result = await verifyEvmAnchor({ ...ANCHOR, batchRoot: `sha256:${"cd".repeat(32)}` }, ROOT, { rpcUrl: `http://127.0.0.1:${port}`, confirmations: 1 });
    assert.equal(result.outcome, "rejected");
  });
});

describe("endpointName", () => {
  const table: Array<[string, string]> = [
    ["http://127.0.0.1:8545", "http://127.0.0.1:8545"],
    ["https://user:pass@rpc.example.org/v3/KEY", "https://rpc.example.org"],
    ["https://rpc.example.org:8443/path?apikey=1#frag", "https://rpc.example.org:8443"],
    ["http://[::1]:8545/", "http://[::1]:8545"],
  ];
  for (const [url, name] of table) {
    test(`endpointName: ${url} is shown as ${name}`, () => assert.equal(endpointName(url), name));
  }

  test("endpointName: a non-http URL is a caller's mistake", () => {
    assert.throws(() => endpointName("ws://127.0.0.1:8545"), ArgumentError);
    assert.throws(() => endpointName("not a url"), ArgumentError);
  });
});
