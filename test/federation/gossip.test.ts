import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { activeBatchIds, LINE_ABC, receiptCount, waitUntil, MESH_NAMESPACE as NS, type MeshNode } from "../support/mesh.js";
import { sealTsaBatch, type SealedFiles } from "../support/sealer.js";
import { useMesh, type UsedMesh } from "../support/use-mesh.js";

const mesh = useMesh(LINE_ABC);

async function hasBatch(n: MeshNode, id: string): Promise<boolean> {
  return (await activeBatchIds(n)).includes(id);
}

/** Starts every node a previous test may have left stopped, so a test needs no other test's state. */
async function allRunning(): Promise<void> {
  for (const n of mesh.nodes.values()) if (!n.running) await n.start();
}

/** Announces `sealed` on a (the CLI) and waits until c holds it through b's relay. */
async function announceAndAwaitC(on: UsedMesh, sealed: SealedFiles, id: string): Promise<void> {
  const r = await on.node("a").cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).deliveries, [{ peer: "did:vm:node:b", outcome: "delivered" }]);
  await waitUntil(() => hasBatch(on.node("c"), id), 30_000, `c to hold ${id} via b's relay`);
}

/** A counter of a node's /metrics, e.g. accepted Announces. */
async function metric(n: MeshNode, line: RegExp): Promise<number> {
  const text = await (await fetch(`${n.url}/metrics`)).text();
  const m = text.split("\n").map((l) => line.exec(l)).find((x) => x !== null);
  return m === undefined ? 0 : Number(m![1]);
}
const ACCEPTED_ANNOUNCES = /^vmsh_federation_messages_total\{type="announce",outcome="accepted"\} (\d+)$/;

describe("federation: gossip between real serve processes", () => {
  test("gossip: a batch announced on a reaches b directly and c through b's relay, verified", async () => {
    const a = mesh.node("a");
    const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "b-0001", 6, mesh.tsa);
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
    const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "b-0002", 3, mesh.tsa);
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
    const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "b-0003", 4, mesh.tsa);
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
    await allRunning();
    const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "b-status", 5, mesh.tsa);
    await announceAndAwaitC(mesh, sealed, "b-status");
    const b = mesh.node("b");
    const r = await b.cli("status", "--json");
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(doc.peers.map((p: { did: string; reachable: boolean }) => [p.did, p.reachable]), [["did:vm:node:a", true], ["did:vm:node:c", true]]);
    assert.ok(doc.peers.every((p: { latencyMs: number }) => typeof p.latencyMs === "number"));
    assert.ok(doc.counts.receipts >= 5, JSON.stringify(doc.counts));
    assert.equal(doc.counts.receipts, await receiptCount(b), JSON.stringify(doc.counts));
    assert.equal(doc.counts.anchors.rejected, 0);
    const text = await b.cli("status");
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
});

// Its own mesh, so no outbox entry or restart left by the tests above sends an Announce while
// this test counts them, and with anti-entropy an hour apart: a node that fetched a batch by
// anti-entropy announces it too, and c could hold a batch before the relay it counts arrived.
describe("federation: gossip relays a batch once", () => {
  const quiet = useMesh(LINE_ABC, { antiEntropyIntervalS: 3600 });

  test("gossip: re-announcing a batch everyone holds is not relayed again", async () => {
    const [b, c] = [quiet.node("b"), quiet.node("c")];
    const sealer = join(quiet.root, "sealer");
    const sealed = await sealTsaBatch(sealer, "b-again", 3, quiet.tsa);
    await announceAndAwaitC(quiet, sealed, "b-again");
    // Taken after the first announce finished, so the next second is surely later than its ts.
    const firstSecond = Math.floor(Date.now() / 1000);
    const [bBefore, cBefore] = [await metric(b, ACCEPTED_ANNOUNCES), await metric(c, ACCEPTED_ANNOUNCES)];
    // A re-announce in the same second would be the same signed bytes, refused as a replay, not re-announced.
    await waitUntil(() => Math.floor(Date.now() / 1000) > firstSecond, 5_000, "the next second");
    // The real re-announce: the same sealer files through `announce` again, delivered to b.
    const again = await quiet.node("a").cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(JSON.parse(again.stdout).deliveries, [{ peer: "did:vm:node:b", outcome: "delivered" }]);
    // A barrier: a new batch, which b does relay. c is routed only to b and fetches only on an
    // Announce, so every Announce c accepts is a relay of b's, counted before c holds its batch;
    // a relay of the re-announce (sent before the barrier, with nothing to pull) would make two.
    await announceAndAwaitC(quiet, await sealTsaBatch(sealer, "b-again-barrier", 2, quiet.tsa), "b-again-barrier");
    await waitUntil(async () => (await metric(c, ACCEPTED_ANNOUNCES)) > cBefore, 30_000, "c to accept the barrier's relay");
    assert.ok((await metric(b, ACCEPTED_ANNOUNCES)) >= bBefore + 2, "b accepted the re-announce and the barrier");
    assert.equal(await metric(c, ACCEPTED_ANNOUNCES), cBefore + 1, "c got only the barrier from b, not the re-announce");
    assert.equal(b.logs.filter((l) => /imported announced batch.*"batch":"b-again"/.test(l)).length, 1);
  });
});
