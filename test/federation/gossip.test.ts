import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { activeBatchIds, LINE_ABC, startMesh, waitUntil, MESH_NAMESPACE as NS, type Mesh, type MeshNode } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { sealTsaBatch } from "../support/sealer.js";

let tsa: OpensslTsa;
let mesh: Mesh;

async function hasBatch(n: MeshNode, id: string): Promise<boolean> {
  return (await activeBatchIds(n)).includes(id);
}

before(async () => {
  tsa = createOpensslTsa();
  mesh = await startMesh(
    LINE_ABC,
    { trustPem: tsa.rootPem },
  );
});
after(async () => {
  await mesh?.stop();
  tsa?.cleanup();
});

describe("federation: gossip between real serve processes", () => {
  test("gossip: a batch announced on a reaches b directly and c through b's relay, verified", async () => {
    const a = mesh.node("a");
    const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "b-0001", 6, tsa);
    const r = await a.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(doc.deliveries, [{ peer: "did:vm:node:b", outcome: "delivered" }]);
    await waitUntil(() => hasBatch(mesh.node("b"), "b-0001"), 20_000, "b to hold b-0001");
    await waitUntil(() => hasBatch(mesh.node("c"), "b-0001"), 20_000, "c to hold b-0001 via relay");
    await mesh.node("c").waitForLog(/imported announced batch.*"from":"did:vm:node:b"/);
  });

  test("gossip: a node that was down receives the announcement from the outbox after it restarts", async () => {
    const c = mesh.node("c");
    assert.equal(await c.stop("SIGTERM"), 0);
    const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "b-0002", 3, tsa);
    const r = await mesh.node("a").cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir);
    assert.equal(r.code, 0, r.stderr);
    await waitUntil(() => hasBatch(mesh.node("b"), "b-0002"), 20_000, "b to hold b-0002").catch((e: Error) => {
      throw new Error(`${e.message}\nannounce: ${r.stdout}\nb: ${mesh.node("b").logs.slice(-10).join("\n")}`);
    });
    // b's relay to c failed and sits in b's outbox; c comes back on the same port.
    await c.start();
    await waitUntil(() => hasBatch(c, "b-0002"), 30_000, "c to receive b-0002 after restart");
  });

  test("gossip: SIGTERM of the relaying node during gossip loses no announcement", async () => {
    const b = mesh.node("b");
    const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "b-0003", 4, tsa);
    const announcing = mesh.node("a").cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir);
    // Whenever the signal lands (before, during or after b's pull), the batch must end up on b and c.
    await new Promise((r) => setTimeout(r, 150));
    const code = await b.stop("SIGTERM");
    assert.equal(code, 0, b.logs.slice(-5).join("\n"));
    assert.equal((await announcing).code, 0);
    await b.start();
    await waitUntil(() => hasBatch(b, "b-0003"), 30_000, "b to hold b-0003 after its restart");
    await waitUntil(() => hasBatch(mesh.node("c"), "b-0003"), 30_000, "c to hold b-0003");
  });

  test("status: shows peers reachable with latency and what the node stores", async () => {
    const r = await mesh.node("b").cli("status", "--json");
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(doc.peers.map((p: { did: string; reachable: boolean }) => [p.did, p.reachable]), [["did:vm:node:a", true], ["did:vm:node:c", true]]);
    assert.ok(doc.peers.every((p: { latencyMs: number }) => typeof p.latencyMs === "number"));
    assert.ok(doc.counts.receipts >= 13, JSON.stringify(doc.counts));
    assert.equal(doc.counts.anchors.rejected, 0);
    const text = await mesh.node("b").cli("status");
    assert.match(text.stdout, /did:vm:node:a\s+yes\s+[\d.]+ ms/);
    assert.match(text.stdout, /Stored: \d+ batches, \d+ receipts; anchors \d+ verified/);
  });

  test("status: a peer that is down is shown unreachable with the reason", async () => {
    const c = mesh.node("c");
    await c.stop("SIGTERM");
    try {
      const doc = JSON.parse((await mesh.node("b").cli("status", "--json")).stdout);
      const row = doc.peers.find((p: { did: string }) => p.did === "did:vm:node:c");
      assert.equal(row.reachable, false);
      assert.match(row.detail, /CONNECTION_REFUSED|ECONNREFUSED|refused/i);
    } finally {
      await c.start();
    }
  });

  test("gossip: re-announcing a batch everyone holds is not relayed again", async () => {
    const b = mesh.node("b");
    const before = b.logs.filter((l) => /imported announced batch/.test(l)).length;
    const sealedAgain = await mesh.node("a").cli("verify-online", "--json");
    assert.equal(sealedAgain.code, 0, sealedAgain.stderr);
    const health = await b.health();
    assert.equal(health.status, 200);
    assert.equal(health.body.node, "did:vm:node:b");
    assert.equal(b.logs.filter((l) => /imported announced batch/.test(l)).length, before);
  });
});
