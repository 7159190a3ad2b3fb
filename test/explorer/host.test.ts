/**
 * DNS rebinding (docs/EXPLORER.md §Access): against one real `serve`, the explorer page, the
 * API and /metrics refuse a `Host` that names neither the node's address, localhost, nor
 * `explorer.public_url`'s host, with 421 HOST_NOT_ALLOWED; the genuine names are answered, and
 * the federation endpoints peers use answer whatever name a peer's URL holds. The name rules
 * themselves are checked beside, as a table.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { connect } from "node:net";
import { join } from "node:path";
import { hostAllowed, hostName } from "../../lib/http/host.js";
import { setExplorerConfig } from "../support/explorer-config.js";
import { startMesh, MESH_NAMESPACE as NS, type Mesh, type MeshNode } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { sealTsaBatch } from "../support/sealer.js";

let tsa: OpensslTsa;
let mesh: Mesh;
let a: MeshNode;

before(async () => {
  tsa = createOpensslTsa();
  mesh = await startMesh([{ name: "a", routes: [] }], { trustPem: tsa.rootPem });
  a = mesh.node("a");
  const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "b-1", 2, tsa);
  const r = await a.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir);
  // Stored and active; exit 1 only because a lone node announces to no one (README "The command line").
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /no peers are routed/);
});
after(async () => {
  await mesh?.stop();
  tsa?.cleanup();
});

/** One request to the node with the given Host header (fetch would not send a chosen Host). */
function ask(path: string, host: string, method = "GET", body?: string): Promise<{ status: number; body: string }> {
  const u = new URL(a.url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host };
    if (body !== undefined) Object.assign(headers, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) });
    const req = request({ host: u.hostname, port: u.port, path, method, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (d: string) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

/** One request written byte for byte (duplicate headers, absolute-form targets, raw bytes); the status and body. */
function raw(head: string): Promise<{ status: number; body: string }> {
  const u = new URL(a.url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(u.port), u.hostname, () => socket.write(Buffer.from(`${head}\r\nConnection: close\r\n\r\n`, "latin1")));
    let text = "";
    socket.setEncoding("latin1").on("data", (d: string) => (text += d));
    socket.on("error", reject);
    socket.on("close", () => resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0), body: text.slice(text.indexOf("\r\n\r\n") + 4) }));
  });
}

const READ_PATHS = ["/api/v1/node", "/api/v1/namespaces", "/explorer/", "/metrics"];

describe("Host check: explorer, API and /metrics against DNS rebinding", () => {
  test("a rebound name is refused with 421 HOST_NOT_ALLOWED on every read path, and answers nothing of the node", async () => {
    const port = new URL(a.url).port;
    for (const host of [`evil.example:${port}`, "evil.example", `127.0.0.1.evil.example:${port}`, `localhost.evil.example:${port}`, `[::2]:${port}`, `127.0.0.2:${port}`]) {
      for (const path of READ_PATHS) {
        const r = await ask(path, host);
        assert.equal(r.status, 421, `${host} ${path}: ${r.status} ${r.body.slice(0, 200)}`);
        const e = JSON.parse(r.body).error;
        assert.equal(e.code, "HOST_NOT_ALLOWED");
        assert.match(e.message, /is not this node's address, localhost, or explorer.public_url's host/);
        assert.doesNotMatch(r.body, /did:vm:node:a/);
      }
    }
  });

  test("the node's own address and localhost, with or without the port, are answered", async () => {
    const port = new URL(a.url).port;
    for (const host of [`127.0.0.1:${port}`, "127.0.0.1", `localhost:${port}`, "LOCALHOST"]) {
      for (const path of READ_PATHS) {
        const r = await ask(path, host);
        assert.equal(r.status, 200, `${host} ${path}: ${r.body.slice(0, 200)}`);
      }
    }
  });

  test("explorer.public_url's host is answered once configured, and refused again once removed", async () => {
    assert.equal((await ask("/api/v1/node", "explorer.example.org")).status, 421);
    await setExplorerConfig(a, 'explorer:\n  public_url: "https://explorer.example.org/vmsh/"');
    for (const path of READ_PATHS) assert.equal((await ask(path, "explorer.example.org")).status, 200, path);
    assert.equal((await ask("/api/v1/node", "evil.example")).status, 421);
    await setExplorerConfig(a, "");
    assert.equal((await ask("/api/v1/node", "explorer.example.org")).status, 421);
  });

  test("a malformed public_url is a configuration error naming the key", async () => {
    const { readFile, writeFile } = await import("node:fs/promises");
    const file = join(a.configDir, "federation.yaml");
    const before = await readFile(file, "utf8");
    try {
      await writeFile(file, `${before.trimEnd()}\nexplorer:\n  public_url: "javascript:alert(1)"\n`);
      const r = await a.cli("status");
      assert.equal(r.code, 2);
      assert.match(r.stderr, /explorer\.public_url: expected an http or https URL/);
    } finally {
      await writeFile(file, before);
    }
  });

  test("a forger's Host forms: port suffixes, IPv6 and mapped forms, a trailing dot, raw bytes, two Host headers, absolute-form targets", async () => {
    const port = new URL(a.url).port;
    const refused = [`127.0.0.1:${port}.evil.example`, `127.0.0.1:${port}@evil.example`, `[::1]:${port}`, `[::ffff:127.0.0.1]:${port}`, `[0:0:0:0:0:0:0:1]:${port}`, `localhost.:${port}`, `127.1:${port}`, `2130706433:${port}`, `loc\u00e4lhost:${port}`, `127.0.0.1:`];
    for (const host of refused) {
      const r = await raw(`GET /api/v1/node HTTP/1.1\r\nHost: ${host}`);
      assert.equal(r.status, 421, `${host}: ${r.status} ${r.body.slice(0, 200)}`);
      assert.doesNotMatch(r.body, /did:vm:node:a/);
    }
    assert.equal((await raw(`GET /api/v1/node HTTP/1.1\r\nHost: LocalHost:${port}`)).status, 200);
    // Node keeps the first of two Host headers and a proxy may keep the last: either order is refused.
    for (const [first, second] of [[`127.0.0.1:${port}`, "evil.example"], ["evil.example", `127.0.0.1:${port}`], [`127.0.0.1:${port}`, `127.0.0.1:${port}`]]) {
      const r = await raw(`GET /api/v1/node HTTP/1.1\r\nHost: ${first}\r\nHost: ${second}`);
      assert.equal(r.status, 421, `${first} + ${second}: ${r.body.slice(0, 200)}`);
      assert.match(JSON.parse(r.body).error.message, /carries 2 Host headers; one is allowed/);
    }
    // An absolute-form target names its own host (RFC 9112 §3.2.2); none is routed, whatever it names.
    for (const target of ["http://evil.example/api/v1/node", `http://127.0.0.1:${port}/api/v1/node`, "//evil.example/api/v1/node"]) {
      const r = await raw(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}`);
      assert.equal(r.status, 404, `${target}: ${r.body.slice(0, 200)}`);
      assert.doesNotMatch(r.body, /did:vm:node:a/);
    }
  });

  test("federation endpoints peers use answer any name: /health and POST /federation/*", async () => {
    assert.equal((await ask("/health", "peer-name.example")).status, 200);
    const topology = await ask("/federation/topology", "peer-name.example", "POST", "{}");
    assert.notEqual(topology.status, 421, topology.body);
    assert.match(JSON.parse(topology.body).error.code, /^MALFORMED/);
    const announce = await ask("/federation/announce", "peer-name.example", "POST", "{}");
    assert.notEqual(announce.status, 421, announce.body);
  });
});

describe("Host check: the name rules", () => {
  test("hostName: ports and IPv6 brackets are taken off; anything else is not a host", () => {
    const cases: Array<[string, string | undefined]> = [
      ["127.0.0.1:8088", "127.0.0.1"],
      ["LocalHost:1", "localhost"],
      ["[::1]:8088", "::1"],
      ["[::1]", "::1"],
      ["example.org", "example.org"],
      ["[::1]x", undefined],
      ["a:b:c", undefined],
      ["user@example.org", undefined],
      ["example.org/path", undefined],
      ["example.org:99999999", undefined],
    ];
    for (const [header, want] of cases) assert.equal(hostName(header), want, header);
  });

  test("hostAllowed: the local address (IPv4-mapped too), localhost and the public hosts only", () => {
    assert.equal(hostAllowed("127.0.0.1:1", "::ffff:127.0.0.1", []), true);
    assert.equal(hostAllowed("[::1]:1", "::1", []), true);
    assert.equal(hostAllowed("localhost", "10.0.0.1", []), true);
    assert.equal(hostAllowed("10.0.0.1:8088", "10.0.0.1", []), true);
    assert.equal(hostAllowed("127.0.0.1", "10.0.0.1", []), false);
    assert.equal(hostAllowed("localhost.", "127.0.0.1", []), false);
    assert.equal(hostAllowed("Explorer.Example.org", "127.0.0.1", ["explorer.example.org"]), true);
    assert.equal(hostAllowed("evil.example", "127.0.0.1", ["explorer.example.org"]), false);
    assert.equal(hostAllowed(undefined, "127.0.0.1", []), true);
  });
});
