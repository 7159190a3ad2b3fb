/**
 * The explorer's JSON API against one real `serve` process (docs/EXPLORER.md §API):
 * docs/explorer-openapi.json and the route table agree, every documented route answers,
 * refusals are clear and change nothing, the signed topology exchange holds its checks, and
 * verify-proof tells a good proof from altered ones.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { request } from "node:http";
import { join } from "node:path";
import { API_ROUTES } from "../../lib/explorer/api.js";
import { topologyRequest, verifyTopologyAnswer } from "../../lib/explorer/topology.js";
import { parseKeyLine } from "../../lib/identity/did.js";
import { generateNodeKey, publicKeyFromRaw } from "../../lib/identity/keys.js";
import { setExplorerConfig } from "../support/explorer-config.js";
import { startMesh, MESH_NAMESPACE as NS, type Mesh, type MeshNode } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { repoRoot } from "../support/repo-root.js";
import { sealTsaBatch, type SealedFiles } from "../support/sealer.js";

let tsa: OpensslTsa;
let mesh: Mesh;
let a: MeshNode;
let sealed: SealedFiles;

interface OpenApi {
  paths: Record<string, unknown>;
}

before(async () => {
  tsa = createOpensslTsa();
  mesh = await startMesh([{ name: "a", routes: [] }], { trustPem: tsa.rootPem, guests: [{ name: "watcher", roles: ["request"] }] });
  a = mesh.node("a");
  sealed = await sealTsaBatch(join(mesh.root, "sealer"), "b-1", 4, tsa);
  const r = await a.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir);
  assert.equal(r.code, 0, r.stderr);
});
after(async () => {
  await mesh?.stop();
  tsa?.cleanup();
});

const get = (path: string, init: RequestInit = {}) => fetch(`${a.url}${path}`, init);
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- answers are checked field by field below
const json = async (res: Response): Promise<any> => res.json();

describe("explorer API: one real node", () => {
  test("openapi: every documented route answers 200, and every route the node serves is documented", async () => {
    const doc = JSON.parse(await readFile(join(repoRoot, "docs", "explorer-openapi.json"), "utf8")) as OpenApi;
    const documented = Object.keys(doc.paths).map((p) => p.replace(/\{[^}]+\}/g, "*")).sort();
    const served = [...API_ROUTES.map((r) => r.pattern), "/api/v1/events"].sort();
    assert.deepEqual(documented, served);
    const values: Record<string, string> = { namespace: encodeURIComponent(NS), batchId: "b-1", batchRoot: sealed.root, id: sealed.leaves[1]! };
    for (const path of Object.keys(doc.paths)) {
      const url = path.replace(/\{([^}]+)\}/g, (_, name: string) => values[name]!);
      const controller = new AbortController();
      const res = await get(url, { signal: controller.signal });
      assert.equal(res.status, 200, `${url}: ${res.status}`);
      if (path === "/api/v1/events") {
        assert.match(res.headers.get("content-type") ?? "", /^text\/event-stream/);
        controller.abort();
        continue;
      }
      assert.match(res.headers.get("content-type") ?? "", /^application\/json/, url);
      await res.json();
    }
  });

  test("batch: one version carries its anchors with verdict, winner and superseded_by", async () => {
    const res = await get(`/api/v1/namespaces/${encodeURIComponent(NS)}/batches/b-1/${sealed.root}`);
    const b = await json(res);
    assert.equal(b.status, "active");
    assert.equal(b.size, 4);
    assert.deepEqual(b.anchorRecords.map((x: { chain: string; outcome: string; winner: boolean; superseded_by: null }) => [x.chain, x.outcome, x.winner, x.superseded_by]), [["rfc3161:vmsh-test", "verified", true, null]]);
    assert.equal(b.winner.tx, "tsa-b-1");
    assert.deepEqual(b.quorum, { state: "final", k: 1, cosigners: [a.did] }, "no quorum in federation.yaml: final once this node verified it");
    const page = await json(await get(`/api/v1/namespaces/${encodeURIComponent(NS)}/batches?status=held`));
    assert.deepEqual(page.items, []);
  });

  test("refusals: writes, bodies, bad queries, unknown things and path tricks get a clear error", async () => {
    const cases: Array<[string, RequestInit, number, string]> = [
      ["/api/v1/node", { method: "POST", body: "{}", headers: { "content-type": "application/json" } }, 405, "METHOD_NOT_ALLOWED"],
      ["/api/v1/node", { method: "DELETE" }, 405, "METHOD_NOT_ALLOWED"],
      [`/api/v1/namespaces/${encodeURIComponent(NS)}/batches?limit=0`, {}, 400, "BAD_QUERY"],
      [`/api/v1/namespaces/${encodeURIComponent(NS)}/batches?status=lost`, {}, 400, "BAD_QUERY"],
      ["/api/v1/namespaces/nope/batches", {}, 404, "NOT_FOUND"],
      ["/api/v1/receipts/not-a-hash", {}, 400, "BAD_QUERY"],
      [`/api/v1/receipts/sha256:${"0".repeat(64)}`, {}, 404, "NOT_FOUND"],
      ["/api/v1/receipts/%E0%A4%A", {}, 400, "BAD_PATH"],
      ["/api/v1/secrets", {}, 404, "NOT_FOUND"],
      ["/explorer/../../etc/passwd", {}, 404, "NOT_FOUND"],
      ["/explorer/app.js.map", {}, 404, "NOT_FOUND"],
    ];
    const before = await (await get("/api/v1/namespaces")).json();
    for (const [path, init, status, code] of cases) {
      const res = await get(path, init);
      assert.equal(res.status, status, `${init.method ?? "GET"} ${path}`);
      assert.equal((await json(res)).error.code, code, path);
    }
    // fetch will not send a GET with a body; node:http will.
    const withBody = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(`${a.url}/api/v1/node`, { method: "GET", headers: { "content-type": "application/json", "content-length": "2" } }, (res) => {
        let body = "";
        res.setEncoding("utf8").on("data", (d: string) => (body += d)).on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on("error", reject);
      req.end("{}");
    });
    assert.equal(withBody.status, 400);
    assert.equal(JSON.parse(withBody.body).error.code, "BODY_NOT_ALLOWED");
    assert.deepEqual(await (await get("/api/v1/namespaces")).json(), before);
  });

  test("page: index, script and style come with a same-origin-only Content-Security-Policy", async () => {
    const redirect = await get("/explorer", { redirect: "manual" });
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.get("location"), "/explorer/");
    for (const [path, type] of [["/explorer/", "text/html"], ["/explorer/app.js", "text/javascript"], ["/explorer/app.css", "text/css"]] as const) {
      const res = await get(path);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get("content-type") ?? "", new RegExp(`^${type}`));
      assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'none'; script-src 'self'/);
      const text = await res.text();
      // The SVG namespace is a name, not an address; the browser test intercepts real requests.
      assert.doesNotMatch(text.replaceAll("http://www.w3.org/2000/svg", ""), /https?:\/\/(?!127\.0\.0\.1)[a-z]/i, `${path} names an outside URL`);
    }
  });

  test("topology: a signed request from an admitted peer is answered, signed; replays, strangers and misaddressed requests are refused", async () => {
    const watcher = mesh.guests.get("watcher")!;
    const now = Math.floor(Date.now() / 1000);
    const post = (body: unknown) => get("/federation/topology", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const request = topologyRequest(watcher.did, a.did, now, watcher.key.privateKey);
    const res = await post(request);
    assert.equal(res.status, 200);
    const key = parseKeyLine(a.verifyKey) as Uint8Array;
    const v = verifyTopologyAnswer(await res.json(), request, publicKeyFromRaw(key), now, 300);
    assert.ok(v.ok, JSON.stringify(v));
    assert.deepEqual(v.ok && v.topology.peers, [{ did: watcher.did, namespaces: [NS] }]);
    assert.equal((await post(request)).status, 409, "replay");
    assert.equal((await post(topologyRequest(watcher.did, "did:vm:node:other", now + 1, watcher.key.privateKey))).status, 401, "addressed to another node");
    assert.equal((await post(topologyRequest("did:vm:node:stranger", a.did, now, generateNodeKey().privateKey))).status, 401, "unknown signer");
    const forged = topologyRequest(watcher.did, a.did, now + 2, generateNodeKey().privateKey);
    const refused = await post(forged);
    assert.equal(refused.status, 401);
    assert.equal((await json(refused)).error.code, "SIG_INVALID");
    assert.equal((await post({ ...request, extra: 1 })).status, 400);
    assert.equal((await get("/federation/topology")).status, 405);
  });

  test("verify-proof: the downloaded proof verifies; altered ones and non-proofs exit 1, an unreadable file exits 2", async () => {
    const res = await get(`/api/v1/receipts/${sealed.leaves[0]}/proof`);
    assert.match(res.headers.get("content-disposition") ?? "", /^attachment; filename="proof-[0-9a-f]{16}\.json"$/);
    const proof = await json(res);
    const file = join(mesh.root, "p.json");
    await writeFile(file, JSON.stringify(proof));
    const ok = await a.cli("verify-proof", file);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /proof verified/);
    const variants: Array<[string, (p: any) => void, RegExp]> = [
      ["a path element changed", (p) => (p.receipt.proof.path[0] = `sha256:${"1".repeat(64)}`), /inclusion: proof does not recompute batchRoot/],
      ["the anchor moved to another root", (p) => (p.anchors[0].batchRoot = `sha256:${"2".repeat(64)}`), /anchors root sha256:2{64}, not the checkpoint's sha256:/],
      ["the time-stamp token altered", (p) => (p.anchors[0].sig = Buffer.from(Buffer.from(p.anchors[0].sig, "base64").map((b: number, i: number) => (i === 60 ? b ^ 1 : b))).toString("base64")), /rejected/],
      ["the anchors removed", (p) => (p.anchors = []), /NOT verified/],
      ["not a proof at all", (p) => (p.type = "bundle"), /not a proof file/],
    ];
    for (const [what, alter, expected] of variants) {
      const copy = structuredClone(proof);
      alter(copy);
      await writeFile(file, JSON.stringify(copy));
      const r = await a.cli("verify-proof", file);
      assert.equal(r.code, 1, `${what}: ${r.stdout}`);
      assert.match(r.stdout, expected, what);
    }
    await writeFile(file, "{not json");
    assert.equal((await a.cli("verify-proof", file)).code, 1);
    const missing = await a.cli("verify-proof", join(mesh.root, "absent.json"));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /cannot be read: ENOENT/);
  });

  test("events: the stream says hello, and an open stream does not keep serve from stopping cleanly", async () => {
    const res = await get("/api/v1/events");
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /event: hello\ndata: \{"node":"did:vm:node:a"\}/);
    assert.equal(await a.stop("SIGTERM"), 0, a.logs.slice(-5).join("\n"));
    // The node ended the stream itself on the way down.
    let done = false;
    while (!done) done = (await reader.read().catch(() => ({ done: true }))).done;
    await a.start();
  });

  test("rate: past the configured allowance a client gets 429 with Retry-After", async () => {
    await setExplorerConfig(a, "explorer:\n  rate_per_min: 3");
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await get("/api/v1/node")).status);
    assert.deepEqual(statuses, [200, 200, 200, 429]);
    const limited = await get("/api/v1/node");
    assert.ok(Number(limited.headers.get("retry-after")) >= 1);
  });
});
