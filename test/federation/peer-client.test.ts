/**
 * PeerClient against real loopback HTTP and HTTPS servers: answers, docs/FEDERATION_PROTOCOL.md §Errors bodies,
 * what is retryable, byte limits, timeouts, refused connections, TLS, credentials in URLs.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { ArgumentError } from "../../lib/errors.js";
import type { GossipClient } from "../../lib/federation/gossip.js";
import { PeerClient, type PeerResponse } from "../../lib/federation/peer-client.js";

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
  remotePort: number;
}

const servers: Server[] = [];
const clients: PeerClient[] = [];

async function listen(server: Server, port = 0): Promise<string> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve));
  return String((server.address() as AddressInfo).port);
}

/** An HTTP peer answering with `handler`, recording every request it read. */
async function peerServer(handler: Handler): Promise<{ url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (d: string) => (body += d));
    req.on("end", () => {
      received.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body, remotePort: req.socket.remotePort ?? 0 });
      handler(req, res, body);
    });
  });
  return { url: `http://127.0.0.1:${await listen(server)}`, received };
}

function json(status: number, value: unknown, headers: Record<string, string> = {}): Handler {
  return (_req, res) => {
    res.writeHead(status, { "content-type": "application/json", ...headers });
    res.end(JSON.stringify(value));
  };
}

function client(options: ConstructorParameters<typeof PeerClient>[0] = {}): PeerClient {
  const c = new PeerClient(options);
  clients.push(c);
  return c;
}

function failure(r: PeerResponse): Extract<PeerResponse, { ok: false }> {
  assert.equal(r.ok, false, `expected a failure, got ${JSON.stringify(r)}`);
  return r as Extract<PeerResponse, { ok: false }>;
}

const message = { type: "announce", v: 1, namespace: "dao:x", ts: 1, signer: "did:vm:node:a", sig: "x..y" };

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

describe("PeerClient.postJson", () => {
  test("postJson: returns a peer's 2xx JSON answer and sends the message as JSON under the URL's base path", async () => {
    const peer = await peerServer(json(202, { accepted: true }));
    const r = await client().postJson({ did: "did:vm:node:b", url: `${peer.url}/mesh/` }, "/federation/announce", message);
    const sent = Buffer.byteLength(JSON.stringify(message));
    assert.deepEqual(r, { ok: true, status: 202, body: { accepted: true }, bytes: 17, inflatedBytes: 17, sentBytes: sent });
    // Compressed answers are welcome; the body went plain (docs/FEDERATION_PROTOCOL.md §Compression).
    assert.equal(peer.received[0]!.headers["accept-encoding"], "br, gzip");
    assert.equal(peer.received[0]!.headers["content-encoding"], undefined);
    assert.equal(peer.received[0]!.url, "/mesh/federation/announce");
    assert.equal(peer.received[0]!.method, "POST");
    assert.equal(peer.received[0]!.headers["content-type"], "application/json");
    assert.deepEqual(JSON.parse(peer.received[0]!.body), message);
  });

  test("postJson: a 429 is retryable and carries the peer's Retry-After and error code", async () => {
    const peer = await peerServer(json(429, { error: { code: "RATE_LIMITED", message: "slow down" } }, { "retry-after": "7" }));
    const r = failure(await client().postJson({ did: "b", url: peer.url }, "/federation/announce", message));
    assert.deepEqual(r, { ok: false, status: 429, code: "RATE_LIMITED", message: "slow down", retryable: true, retryAfterS: 7 });
  });

  test("postJson: 5xx answers are retryable, including a proxy's HTML page", async () => {
    const busy = await peerServer(json(503, { error: { code: "SHUTTING_DOWN", message: "bye" } }));
    const proxy = await peerServer((_q, res) => res.writeHead(502, { "content-type": "text/html" }).end("<html>bad gateway</html>"));
    const a = failure(await client().postJson({ did: "b", url: busy.url }, "/x", message));
    assert.equal(a.code, "SHUTTING_DOWN");
    assert.equal(a.retryable, true);
    const b = failure(await client().postJson({ did: "b", url: proxy.url }, "/x", message));
    assert.deepEqual([b.status, b.code, b.retryable], [502, "HTTP_502", true]);
  });

  for (const [status, code] of [[400, "MALFORMED"], [401, "SIG_INVALID"], [403, "ROLE_FORBIDDEN"], [409, "REPLAY"], [413, "BODY_TOO_LARGE"], [415, "NOT_JSON"]] as const) {
    test(`postJson: a ${status} ${code} is not retryable and keeps the peer's code and message`, async () => {
      const peer = await peerServer(json(status, { error: { code, message: `because ${status}` } }));
      const r = failure(await client().postJson({ did: "b", url: peer.url }, "/x", message));
      assert.deepEqual(r, { ok: false, status, code, message: `because ${status}`, retryable: false });
    });
  }

  test("postJson: a peer's error text is cut to one printable line and an unusable code is replaced", async () => {
    const peer = await peerServer(json(400, { error: { code: "bad code\n", message: `a\nb\u0007${"z".repeat(600)}` } }));
    const r = failure(await client().postJson({ did: "b", url: peer.url }, "/x", message));
    assert.equal(r.code, "HTTP_400");
    assert.ok(!/[\n\u0007]/.test(r.message));
    assert.ok(r.message.length <= 501);
  });

  test("postJson: a 2xx answer that is not JSON, or nested too deep, is refused without throwing", async () => {
    const garbage = await peerServer((_q, res) => res.writeHead(200).end("{not json"));
    const deep = await peerServer((_q, res) => res.writeHead(200).end("[".repeat(100) + "]".repeat(100)));
    for (const url of [garbage.url, deep.url]) {
      const r = failure(await client().postJson({ did: "b", url }, "/x", message));
      assert.deepEqual([r.status, r.code, r.retryable], [200, "RESPONSE_NOT_JSON", false]);
    }
  });

  test("postJson: an answer declaring more than maxResponseBytes is refused before it is read", async () => {
    const peer = await peerServer((_q, res) => res.writeHead(200, { "content-length": "5000" }).end("x".repeat(5000)));
    const r = failure(await client().postJson({ did: "b", url: peer.url }, "/x", message, { maxResponseBytes: 1000 }));
    assert.deepEqual([r.code, r.retryable], ["RESPONSE_TOO_LARGE", false]);
  });

  test("postJson: an endless chunked answer is cut at maxResponseBytes and the connection dropped", { timeout: 20_000 }, async () => {
    let closed!: () => void;
    const socketClosed = new Promise<void>((resolve) => (closed = resolve));
    const peer = await peerServer((_q, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const chunk = "[" + "0,".repeat(8191);
      const pump = (): void => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once("drain", pump);
      };
      res.on("close", closed);
      pump();
    });
    const r = failure(await client().postJson({ did: "b", url: peer.url }, "/x", message, { maxResponseBytes: 256 * 1024 }));
    assert.equal(r.code, "RESPONSE_TOO_LARGE");
    await socketClosed;
  });

  test("postJson: a refused connection is a retryable CONNECTION_REFUSED", async () => {
    const gone = createServer();
    const port = await listen(gone);
    await new Promise((resolve) => gone.close(resolve));
    const r = failure(await client().postJson({ did: "b", url: `http://127.0.0.1:${port}` }, "/x", message));
    assert.deepEqual([r.code, r.retryable, r.status], ["CONNECTION_REFUSED", true, undefined]);
  });

  test("postJson: a peer that never answers ends in HEADERS_TIMEOUT, or TIMEOUT under a call deadline", async () => {
    const silent = await peerServer(() => undefined);
    const a = failure(await client({ headersTimeoutMs: 200 }).postJson({ did: "b", url: silent.url }, "/x", message));
    assert.deepEqual([a.code, a.retryable], ["HEADERS_TIMEOUT", true]);
    const b = failure(await client().postJson({ did: "b", url: silent.url }, "/x", message, { timeoutMs: 200 }));
    assert.deepEqual([b.code, b.retryable], ["TIMEOUT", true]);
  });

  test("postJson: user info in the peer URL is sent as Basic auth and never appears in a failure", async () => {
    const peer = await peerServer(json(202, { accepted: true }));
    const withAuth = peer.url.replace("http://", "http://mesh:s3cr3t-pw@");
    assert.equal((await client().postJson({ did: "b", url: withAuth }, "/x", message)).ok, true);
    assert.equal(peer.received[0]!.headers.authorization, `Basic ${Buffer.from("mesh:s3cr3t-pw").toString("base64")}`);
    const gone = createServer();
    const port = await listen(gone);
    await new Promise((resolve) => gone.close(resolve));
    const r = failure(await client().postJson({ did: "b", url: `http://mesh:s3cr3t-pw@127.0.0.1:${port}` }, "/x", message));
    assert.ok(!JSON.stringify(r).includes("s3cr3t"), JSON.stringify(r));
  });

  test("postJson: at most `connections` sockets are opened to one peer however many calls are in flight", async () => {
    const held: ServerResponse[] = [];
    let release!: () => void;
    const allHeld = new Promise<void>((resolve) => (release = resolve));
    const peer = await peerServer((_q, res) => {
      held.push(res);
      if (held.length === 2) release();
    });
    const c = client({ connections: 2 });
    const calls = Array.from({ length: 6 }, (_, i) => c.postJson({ did: "b", url: peer.url }, `/x/${i}`, message));
    await allHeld;
    // Answer one at a time: each answer frees a socket for the next queued call.
    for (let answered = 0; answered < 6; answered++) {
      while (held.length === 0) await new Promise((resolve) => setImmediate(resolve));
      held.shift()!.writeHead(202, { "content-type": "application/json" }).end("{}");
    }
    assert.ok((await Promise.all(calls)).every((r) => r.ok));
    assert.ok(new Set(peer.received.map((r) => r.remotePort)).size <= 2);
  });

  test("postJson: a bad path or a non-http URL is the caller's mistake and throws ArgumentError", async () => {
    const c = client();
    await assert.rejects(c.postJson({ did: "b", url: "http://127.0.0.1:1" }, "federation/announce", message), ArgumentError);
    await assert.rejects(c.postJson({ did: "b", url: "ftp://127.0.0.1/" }, "/x", message), /peer\.url/);
    await assert.rejects(c.postJson({ did: "b", url: "http://127.0.0.1:1" }, "/x", message, { maxResponseBytes: 0 }), /maxResponseBytes/);
  });

  test("PeerClient: is the GossipClient that pullBatch takes", async () => {
    const peer = await peerServer(json(200, { type: "bundle" }));
    const gossip: GossipClient = client();
    const r = await gossip.postJson({ did: "b", url: peer.url }, "/federation/request", message, { maxResponseBytes: 1024 });
    assert.deepEqual(r.ok && r.body, { type: "bundle" });
  });

  test("close: later calls fail as CLIENT_CLOSED instead of opening connections", async () => {
    const peer = await peerServer(json(202, {}));
    const c = new PeerClient();
    assert.equal((await c.postJson({ did: "b", url: peer.url }, "/x", message)).ok, true);
    await c.close();
    const r = failure(await c.postJson({ did: "b", url: peer.url }, "/x", message));
    assert.deepEqual([r.code, r.retryable], ["CLIENT_CLOSED", true]);
    assert.equal(peer.received.length, 1);
  });
});

describe("PeerClient.getJson", () => {
  test("getJson: reads GET /health and reports latency", async () => {
    const peer = await peerServer(json(200, { status: "ok", node: "did:vm:node:b", version: "1.0.0", uptimeS: 3 }));
    const r = await client().getJson({ did: "did:vm:node:b", url: peer.url }, "/health");
    assert.equal(r.ok, true);
    assert.deepEqual(r.ok && r.body, { status: "ok", node: "did:vm:node:b", version: "1.0.0", uptimeS: 3 });
    assert.ok(r.latencyMs >= 0);
    assert.equal(peer.received[0]!.method, "GET");
  });

  test("getJson: an unreachable peer is a failure with a latency, not an exception", async () => {
    const gone = createServer();
    const port = await listen(gone);
    await new Promise((resolve) => gone.close(resolve));
    const r = await client().getJson({ did: "b", url: `http://127.0.0.1:${port}` }, "/health");
    assert.equal(r.ok, false);
    assert.ok(r.latencyMs >= 0);
  });
});

describe("PeerClient over https", () => {
  let dir: string;
  let url: string;
  let ca: Buffer;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "vmsh-peer-tls-"));
    // A throwaway self-signed certificate for 127.0.0.1, made by openssl as docs/RELIABILITY.md §How the tests are built prefers.
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=vmsh test peer",
      "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem")], { stdio: "ignore" });
    ca = readFileSync(join(dir, "cert.pem"));
    const server = createHttpsServer({ key: readFileSync(join(dir, "key.pem")), cert: ca }, (_req, res) => res.writeHead(200, { "content-type": "application/json" }).end('{"status":"ok"}'));
    url = `https://127.0.0.1:${await listen(server as unknown as Server)}`;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("https: a peer whose certificate chains to the given CA is reached", async () => {
    const r = await client({ ca }).getJson({ did: "b", url }, "/health");
    assert.equal(r.ok, true);
  });

  test("https: a certificate the client does not trust is a TLS_FAILED failure", async () => {
    const r = failure(await client().postJson({ did: "b", url }, "/x", message));
    assert.equal(r.code, "TLS_FAILED");
  });
});

describe("PeerClient.retain", () => {
  test("retain: pools of peers no longer configured are closed, the others kept", async () => {
    const one = await peerServer(json(200, { ok: 1 }));
    const two = await peerServer(json(200, { ok: 2 }));
    const client = new PeerClient();
    try {
      const a = { did: "did:vm:node:one", url: one.url };
      const b = { did: "did:vm:node:two", url: two.url };
      assert.equal((await client.postJson(a, "/x", {})).ok, true);
      assert.equal((await client.postJson(b, "/x", {})).ok, true);
      assert.deepEqual(client.origins.sort(), [new URL(one.url).origin, new URL(two.url).origin].sort());
      assert.equal(await client.retain([b]), 1);
      assert.deepEqual(client.origins, [new URL(two.url).origin]);
      // A peer that comes back gets a fresh pool.
      assert.equal((await client.postJson(a, "/x", {})).ok, true);
      assert.equal(client.origins.length, 2);
    } finally {
      await client.close();
    }
  });
});
