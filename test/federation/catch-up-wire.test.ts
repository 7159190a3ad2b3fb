/**
 * The catch-up wire (docs/FEDERATION_PROTOCOL.md §Leaves, §Compression, §Version negotiation):
 * a fresh node takes 10^4 receipts (50 batches × 200, TSA-anchored) from a real `serve` with one
 * `sync`, counted byte for byte by a TCP proxy in between; the same node pinned to Request
 * version 2 (as 0.2.0 speaks) through a peer that refuses version 3 still converges; leaves that
 * do not rebuild to the signed root are refused whole; compressed bodies are inflated under a
 * bound on both sides.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, request as httpRequest, type IncomingMessage, type Server } from "node:http";
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { brotliCompressSync, gunzipSync, gzipSync } from "node:zlib";
import { PeerClient } from "../../lib/federation/peer-client.js";
import { readKeyFile } from "../../lib/identity/key-file.js";
import { signMessage } from "../../lib/messages/authenticate.js";
import { parseBundle, type Bundle, type Request } from "../../lib/messages/schema.js";
import { verifyInclusion } from "../../lib/merkle/index.js";
import { openStore } from "../../lib/store/index.js";
import { BIN } from "../support/cli.js";
import { startCountingProxy, type CountingProxy } from "../support/counting-proxy.js";
import { receiptCount, startMesh, MESH_NAMESPACE as NS, type Mesh, type MeshNode } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { repoRoot } from "../support/repo-root.js";
import { seedStore } from "../support/seed-store.js";

const BATCHES = 50;
const PER_BATCH = 200;
const TOTAL = BATCHES * PER_BATCH;
/** The target of docs/FEDERATION_PROTOCOL.md §Leaves: bytes on the wire, both ways, per receipt. */
const BYTES_PER_RECEIPT = 64;

let tsa: OpensslTsa;
let mesh: Mesh;
let seeded: string[];
let proxy: CountingProxy;
let peersYaml: string;

async function receiptIds(stateDir: string): Promise<string[]> {
  const store = await openStore(stateDir, { readOnly: true });
  try {
    return store.receiptKeys(NS).map((k) => k.id).sort();
  } finally {
    await store.close();
  }
}

/** b's peers.yaml with a's URL replaced by `url`. */
async function pointBAt(url: string): Promise<void> {
  const a = mesh.node("a");
  await writeFile(join(mesh.node("b").configDir, "peers.yaml"), peersYaml.split(a.url).join(url));
}

interface SyncRun {
  code: number | null;
  stdout: string;
  stderr: string;
  peer: { ok: boolean; error?: string; imported: number; fetched: number; bytes: number; roundTrips: number };
}

/** `vmsh-federation sync` of b, with `env` added. */
async function syncB(env: Record<string, string> = {}): Promise<SyncRun> {
  const b = mesh.node("b");
  const child = spawn(process.execPath, [BIN, "--config", b.configDir, "sync", "--namespace", NS, "--json"], { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  const parsed = stdout.trim() === "" ? { peers: [] } : (JSON.parse(stdout) as { peers: SyncRun["peer"][] });
  return { code, stdout, stderr, peer: parsed.peers[0]! };
}

async function emptyB(): Promise<void> {
  await rm(mesh.node("b").stateDir, { recursive: true, force: true });
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c)).on("end", () => resolve(Buffer.concat(chunks))).on("error", reject);
  });
}

/**
 * An HTTP peer in front of a's serve that forwards everything without Accept-Encoding (so a
 * answers plain) and lets `edit` refuse a request or rewrite a's answer to it.
 */
async function startFront(a: MeshNode, edit: { refuse?: (path: string, body: Buffer) => { status: number; body: unknown } | undefined; answer?: (path: string, body: Buffer) => Buffer }): Promise<{ url: string; server: Server; refused: number }> {
  const target = new URL(a.url);
  const state = { refused: 0 };
  const server = createServer(async (req, res) => {
    const body = await readAll(req);
    const refusal = edit.refuse?.(req.url ?? "/", body);
    if (refusal !== undefined) {
      state.refused++;
      const text = JSON.stringify(refusal.body);
      res.writeHead(refusal.status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
      res.end(text);
      return;
    }
    const headers: Record<string, string> = { "content-type": String(req.headers["content-type"] ?? "application/json"), "content-length": String(body.length) };
    if (req.headers["content-encoding"] !== undefined) headers["content-encoding"] = String(req.headers["content-encoding"]);
    const upstream = httpRequest({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers }, async (up) => {
      let answer = await readAll(up);
      if (up.statusCode === 200 && edit.answer !== undefined) answer = edit.answer(req.url ?? "/", answer);
      res.writeHead(up.statusCode ?? 502, { "content-type": "application/json", "content-length": answer.length });
      res.end(answer);
    });
    upstream.on("error", () => res.destroy());
    upstream.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    get refused() {
      return state.refused;
    },
  };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

before(async () => {
  tsa = createOpensslTsa();
  mesh = await startMesh([{ name: "a", routes: ["b"] }, { name: "b", routes: ["a"] }], { trustPem: tsa.rootPem });
  // a is filled while it is down; b stays down so that only the `sync` CLI fetches.
  await Promise.all([mesh.node("a").stop(), mesh.node("b").stop()]);
  seeded = (await seedStore(mesh.node("a").stateDir, tsa, { namespace: NS, origin: { did: mesh.node("a").did, keyFile: join(mesh.node("a").configDir, "keys", "node.key") }, batches: BATCHES, receiptsPerBatch: PER_BATCH })).sort();
  await mesh.node("a").start();
  peersYaml = await readFile(join(mesh.node("b").configDir, "peers.yaml"), "utf8");
  proxy = await startCountingProxy(new URL(mesh.node("a").url));
});
after(async () => {
  await proxy?.close();
  await mesh?.stop();
  tsa?.cleanup();
});

describe(`federation: catch-up of ${TOTAL.toLocaleString("en")} receipts as leaves, compressed`, () => {
  test(`one sync of a fresh node costs at most ${BYTES_PER_RECEIPT} bytes a receipt on the wire, counted by a TCP proxy`, async () => {
    await pointBAt(proxy.url);
    proxy.reset();
    const r = await syncB();
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(r.peer.ok, true, r.peer.error);
    assert.equal(r.peer.imported, TOTAL);
    assert.deepEqual(await receiptIds(mesh.node("b").stateDir), seeded);
    const perReceipt = (proxy.up + proxy.down) / TOTAL;
    assert.ok(perReceipt <= BYTES_PER_RECEIPT, `${proxy.up} B up + ${proxy.down} B down = ${perReceipt.toFixed(1)} B a receipt`);
    console.log(`# catch-up of ${TOTAL} receipts as leaves: ${proxy.up} B up + ${proxy.down} B down = ${perReceipt.toFixed(1)} B a receipt, ${r.peer.roundTrips} round trips`);
    // The report counts bodies as they travelled (compressed), within the proxy's count (which adds the HTTP headers).
    assert.ok(r.peer.bytes <= proxy.up + proxy.down, `report ${r.peer.bytes} B, proxy ${proxy.up + proxy.down} B`);
    // b keeps every version as its leaves (docs/STATE.md §Leaves form); each receipt read back, path
    // derived, is a's and proves its inclusion.
    const [held, source] = await Promise.all([openStore(mesh.node("b").stateDir, { readOnly: true }), openStore(mesh.node("a").stateDir, { readOnly: true })]);
    try {
      const versions = held.listBatches(NS);
      assert.equal(versions.length, BATCHES);
      for (const v of versions) assert.equal(typeof (await held.getBatch(NS, v.batchId, v.batchRoot, v.origin))?.leaves, "string", v.batchId);
      const receipts = await held.receiptsAt(NS, 0, TOTAL);
      assert.equal(receipts.length, TOTAL);
      assert.ok(receipts.every((x) => verifyInclusion(x).ok));
      assert.deepEqual(receipts, await source.receiptsAt(NS, 0, TOTAL));
    } finally {
      await Promise.all([held.close(), source.close()]);
    }
  });

  test("the node that caught up as leaves answers a Request of version 2 with receipts and paths derived from them", async () => {
    const a = mesh.node("a");
    const b = mesh.node("b");
    await b.start();
    try {
      const key = await readKeyFile(join(a.configDir, "keys", "node.key"));
      const want = seeded.slice(0, 500);
      const request = signMessage<Request>({ type: "request", v: 2, namespace: NS, aud: b.did, want, ts: Math.floor(Date.now() / 1000), signer: a.did }, key.privateKey);
      const res = await fetch(`${b.url}/federation/request`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(request) });
      assert.equal(res.status, 200);
      const bundle = parseBundle(await res.json());
      assert.equal(bundle.leaves, undefined);
      assert.deepEqual(bundle.receipts.map((x) => x.id).sort(), want);
      assert.ok(bundle.receipts.every((x) => verifyInclusion(x).ok));
      const source = await openStore(a.stateDir, { readOnly: true });
      try {
        assert.deepEqual(bundle.receipts.sort((x, y) => (x.id < y.id ? -1 : 1)), (await source.getReceipts(NS, want)).sort((x, y) => (x.id < y.id ? -1 : 1)));
      } finally {
        await source.close();
      }
    } finally {
      await b.stop();
    }
  });

  test("pinned to Request version 2 (what 0.2.0 sends), the fresh node gets receipts with paths: same store, many times the bytes", async () => {
    await emptyB();
    await pointBAt(proxy.url);
    proxy.reset();
    const r = await syncB({ VMSH_FEDERATION_REQUEST_V: "2" });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(r.peer.ok, true, r.peer.error);
    assert.deepEqual(await receiptIds(mesh.node("b").stateDir), seeded);
    const perReceipt = (proxy.up + proxy.down) / TOTAL;
    assert.ok(perReceipt > 2 * BYTES_PER_RECEIPT, `version 2 took ${perReceipt.toFixed(1)} B a receipt`);
  });

  test("a peer that refuses Request version 3 as 0.2.0 does (400 MALFORMED request.v) is asked again with version 2, and the catch-up converges", async () => {
    await emptyB();
    const old = await startFront(mesh.node("a"), {
      refuse: (path, body) => {
        if (path !== "/federation/request") return undefined;
        const v = (JSON.parse(body.toString("utf8")) as { v: number }).v;
        return v === 2 ? undefined : { status: 400, body: { error: { code: "MALFORMED", message: "request.v: expected 2" } } };
      },
    });
    try {
      await pointBAt(old.url);
      const r = await syncB();
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.equal(r.peer.ok, true, r.peer.error);
      assert.deepEqual(await receiptIds(mesh.node("b").stateDir), seeded);
      // One refusal: the sync remembers the peer speaks version 2 and asks so from then on.
      assert.equal(old.refused, 1);
    } finally {
      await closeServer(old.server);
    }
  });

  test("leaves that do not rebuild to the checkpoint's root refuse the whole Bundle: the sync fails naming it, nothing is stored", async () => {
    await emptyB();
    const a = mesh.node("a");
    const key = await readKeyFile(join(a.configDir, "keys", "node.key"));
    // An admitted peer (a's own key) that swaps two leaves of the first version and signs again.
    const hostile = await startFront(a, {
      answer: (path, body) => {
        if (path !== "/federation/request") return body;
        const bundle = JSON.parse(body.toString("utf8")) as Bundle & Record<string, unknown>;
        if (bundle.v !== 4 || bundle.leaves === undefined || bundle.leaves.length === 0) return body;
        const raw = Buffer.from(bundle.leaves[0]!.leaves, "base64");
        const first = Buffer.from(raw.subarray(0, 32));
        raw.copy(raw, 0, 32, 64);
        first.copy(raw, 32);
        bundle.leaves[0]!.leaves = raw.toString("base64");
        const { sig: _sig, ...unsigned } = bundle;
        return Buffer.from(JSON.stringify(signMessage<Bundle>(unsigned, key.privateKey)));
      },
    });
    try {
      await pointBAt(hostile.url);
      const r = await syncB();
      assert.equal(r.peer.ok, false);
      assert.match(r.peer.error ?? "", /bundle\.leaves\[0\]: 200 leaves rebuild to the vmsh-dup-sha256 root sha256:[0-9a-f]{64}, but the checkpoint of batch seed-000000 signs sha256:[0-9a-f]{64}; the bundle is refused whole/);
      assert.equal(await receiptCount(mesh.node("b")), 0);
    } finally {
      await closeServer(hostile.server);
    }
  });

  test("a catch-up page imports only the claims of the versions it brings whole: a claim slipped in for a version of an earlier page is not stored", async () => {
    await emptyB();
    const a = mesh.node("a");
    const key = await readKeyFile(join(a.configDir, "keys", "node.key"));
    let pages = 0;
    let firstPage: Bundle | undefined;
    let slipped: { batchId: string; sig: string } | undefined;
    // An admitted peer (a's own key) that leaves the last version out of its first page, so that
    // a second page follows, and adds to that page a claim of its own making for a version of the
    // first page, signed again.
    const hostile = await startFront(a, {
      answer: (path, body) => {
        if (path !== "/federation/request") return body;
        const bundle = JSON.parse(body.toString("utf8")) as Bundle & Record<string, unknown>;
        if (bundle.v !== 4 || bundle.leaves === undefined || bundle.leaves.length === 0) return body;
        pages++;
        if (pages === 1 && bundle.leaves.length >= 2) {
          bundle.leaves.pop();
          firstPage = bundle;
        } else if (pages === 2 && firstPage !== undefined) {
          const c = firstPage.checkpoints[firstPage.leaves![0]!.checkpoint]!;
          const genuine = firstPage.anchors.find((x) => x.batchId === c.batchId && x.batchRoot === c.batchRoot)!;
          // A time-stamp token with one byte flipped: another claim, which no check passes.
          const token = Buffer.from(genuine.sig!, "base64");
          token[token.length - 40]! ^= 0x01;
          slipped = { batchId: c.batchId, sig: token.toString("base64") };
          bundle.anchors.push({ ...genuine, sig: slipped.sig });
        } else return body;
        const { sig: _sig, ...unsigned } = bundle;
        return Buffer.from(JSON.stringify(signMessage<Bundle>(unsigned, key.privateKey)));
      },
    });
    try {
      await pointBAt(hostile.url);
      const r = await syncB();
      assert.equal(r.code, 0, r.stderr + r.stdout);
      assert.equal(r.peer.ok, true, r.peer.error);
      assert.ok(slipped !== undefined, "the front rewrote a second page");
      assert.deepEqual(await receiptIds(mesh.node("b").stateDir), seeded);
      const store = await openStore(mesh.node("b").stateDir, { readOnly: true });
      try {
        // The version of the first page holds its genuine claim only.
        const claims = await store.anchors(NS, slipped.batchId);
        assert.deepEqual(claims.map((c) => [c.sig === slipped!.sig ? "slipped" : "genuine", c.outcome]), [["genuine", "verified"]]);
      } finally {
        await store.close();
      }
    } finally {
      await closeServer(hostile.server);
    }
  });

  test("a compressed Request is inflated and answered compressed; a gzip or brotli bomb is refused 413 INFLATED_TOO_LARGE", async () => {
    const a = mesh.node("a");
    const b = mesh.node("b");
    const key = await readKeyFile(join(b.configDir, "keys", "node.key"));
    const want = seeded.slice(0, 1000);
    const request = signMessage<Request>({ type: "request", v: 3, namespace: NS, aud: a.did, want, ts: Math.floor(Date.now() / 1000), signer: b.did }, key.privateKey);
    // The members type, v and signer first, as a node sends them (docs/FEDERATION_PROTOCOL.md §Limits).
    const { type, v, signer, ...rest } = request;
    const plain = JSON.stringify({ type, v, signer, ...rest });
    const ok = await fetch(`${a.url}/federation/request`, { method: "POST", headers: { "content-type": "application/json", "content-encoding": "gzip", "accept-encoding": "gzip" }, body: gzipSync(plain) });
    assert.equal(ok.status, 200);
    // fetch inflates for us; the header says what travelled.
    assert.equal(ok.headers.get("content-encoding"), "gzip");
    const bundle = parseBundle(await ok.json());
    assert.equal(bundle.v, 4);
    // 1,000 ids sorted by id hold about 20 of each batch of 200: every batch travels as its leaves.
    assert.equal(bundle.leaves?.length, BATCHES);
    assert.equal(bundle.receipts.length, 0);
    // 16 MiB of JSON that names an admitted signer first, in about 16 KB of gzip (a few hundred bytes of brotli).
    const bomb = `{"type":"request","v":3,"signer":"${b.did}","pad":"${"0".repeat(16 * 1024 * 1024)}"}`;
    for (const [encoding, body] of [["gzip", gzipSync(bomb, { level: 9 })], ["br", brotliCompressSync(bomb)]] as const) {
      assert.ok(body.length < 32 * 1024);
      const res = await fetch(`${a.url}/federation/request`, { method: "POST", headers: { "content-type": "application/json", "content-encoding": encoding }, body });
      assert.equal(res.status, 413, encoding);
      const error = ((await res.json()) as { error: { code: string; message: string } }).error;
      assert.equal(error.code, "INFLATED_TOO_LARGE");
      assert.match(error.message, /inflates to more than the limit of 1048576 bytes/);
    }
    const unknown = await fetch(`${a.url}/federation/request`, { method: "POST", headers: { "content-type": "application/json", "content-encoding": "zstd" }, body: plain });
    assert.equal(unknown.status, 415);
    assert.equal(((await unknown.json()) as { error: { code: string } }).error.code, "UNSUPPORTED_MEDIA_TYPE");
    assert.equal((await a.health()).status, 200);
  });
});

describe("peer client: compressed bodies both ways, inflated under the answer's byte limit", () => {
  test("compressBody sends a large body gzip-compressed (and reports the bytes sent); a small one goes plain", async () => {
    const seen: Array<{ encoding: string | undefined; body: Buffer }> = [];
    const server = createServer(async (req, res) => {
      seen.push({ encoding: req.headers["content-encoding"], body: await readAll(req) });
      res.writeHead(200, { "content-type": "application/json" });
      res.end("{}");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const client = new PeerClient();
    try {
      const large = { signer: "did:vm:node:x", want: Array.from({ length: 100 }, (_, i) => `sha256:${String(i).padStart(64, "0")}`) };
      const r = await client.postJson({ did: "did:vm:node:x", url }, "/federation/request", large, { compressBody: true });
      assert.equal(r.ok, true);
      assert.equal(seen[0]!.encoding, "gzip");
      assert.deepEqual(JSON.parse(gunzipSync(seen[0]!.body).toString("utf8")), large);
      assert.equal(r.ok && r.sentBytes, seen[0]!.body.length);
      assert.ok(seen[0]!.body.length < Buffer.byteLength(JSON.stringify(large)) / 2);
      await client.postJson({ did: "did:vm:node:x", url }, "/federation/request", { signer: "did:vm:node:x" }, { compressBody: true });
      assert.equal(seen[1]!.encoding, undefined);
    } finally {
      await client.close();
      await closeServer(server);
    }
  });

  test("a gzip bomb of 64 MiB answered to a 1 MiB limit ends RESPONSE_TOO_LARGE; a genuine gzip answer is read", async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20), { level: 9 });
    const small = gzipSync(JSON.stringify({ fine: true }));
    const server = createServer(async (req, res) => {
      await readAll(req);
      const body = req.url === "/bomb" ? bomb : small;
      res.writeHead(200, { "content-type": "application/json", "content-encoding": "gzip", "content-length": body.length });
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const client = new PeerClient();
    try {
      const r = await client.postJson({ did: "did:vm:node:x", url }, "/bomb", { x: 1 }, { maxResponseBytes: 1024 * 1024 });
      assert.equal(r.ok, false);
      assert.equal(!r.ok && r.code, "RESPONSE_TOO_LARGE");
      const fine = await client.postJson({ did: "did:vm:node:x", url }, "/fine", { x: 1 });
      assert.equal(fine.ok, true);
      assert.deepEqual(fine.ok && fine.body, { fine: true });
      assert.equal(fine.ok && fine.bytes, small.length);
      assert.equal(gunzipSync(small).toString(), '{"fine":true}');
    } finally {
      await client.close();
      await closeServer(server);
    }
  });
});
