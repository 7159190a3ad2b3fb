import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { docPath, layout } from "../../lib/store/layout.js";
import { LINE_ABC, receiptCount, waitUntil, MESH_NAMESPACE as NS } from "../support/mesh.js";
import { sealTsaBatch } from "../support/sealer.js";
import { useMesh } from "../support/use-mesh.js";

// Anti-entropy interval is 2 s in the mesh harness.
const mesh = useMesh(LINE_ABC);

describe("federation: anti-entropy between real serve processes", () => {
  test("partition: c is down while 20 batches are announced, and converges by itself after restart", async () => {
    const c = mesh.node("c");
    await c.stop("SIGTERM");
    const sealer = join(mesh.root, "sealer");
    for (let i = 0; i < 20; i++) {
      const s = await sealTsaBatch(sealer, `p-${String(i).padStart(3, "0")}`, 3, mesh.tsa, 1_760_000_000 + i);
      const r = await mesh.node("a").cli("announce", "--namespace", NS, "--batch", s.batchFile, "--receipts", s.receiptsDir);
      assert.equal(r.code, 0, r.stderr);
    }
    await waitUntil(async () => (await receiptCount(mesh.node("b"))) >= 60, 60_000, "b to hold all 60 receipts");
    await c.start();
    await waitUntil(async () => (await receiptCount(c)) >= 60, 60_000, "c to converge after restart");
  });

  test("timer: a node whose state was lost refills from its peer with no announcement pending", async () => {
    const c = mesh.node("c");
    const b = mesh.node("b");
    const expected = await receiptCount(b);
    await c.stop("SIGTERM");
    await rm(c.stateDir, { recursive: true, force: true });
    // b may still hold Announces for c queued while c was down in the test before; delivered,
    // they would refill c before any anti-entropy round. None may be pending: b restarts without
    // its outbox.
    assert.equal(await b.stop("SIGTERM"), 0);
    await rm(docPath(layout(b.stateDir), "outbox"), { force: true });
    await b.start();
    const bLogsBefore = b.logs.length;
    await c.start();
    await waitUntil(async () => (await receiptCount(c)) >= expected, 60_000, `c to refill ${expected} receipts by anti-entropy`);
    // Both run the timer: c fetches what it lacks, or b finds what c lacks and announces it to c.
    // Whichever runs first closes the gap; the other then finds nothing to do.
    // A round that fails while c is starting backs off (2 s doubling): allow for a few of those.
    await waitUntil(() => [...c.logs, ...b.logs.slice(bLogsBefore)].some((l) => /anti-entropy closed a gap/.test(l)), 45_000, "an anti-entropy log line on b or c").catch((e: Error) => {
      const seen = [...c.logs.map((l) => `c ${l}`), ...b.logs.slice(bLogsBefore).map((l) => `b ${l}`)].filter((l) => /anti-entropy|pull failed|no serving peer/.test(l)).slice(-12);
      throw new Error(`${e.message}; their anti-entropy lines:\n${seen.join("\n")}`);
    });
  });

  test("sync: an in-sync check is one round trip of a few hundred bytes; the summary counts it", async () => {
    await waitUntil(async () => (await receiptCount(mesh.node("c"))) === (await receiptCount(mesh.node("b"))), 30_000, "b and c in sync");
    const r = await mesh.node("c").cli("sync", "--namespace", NS, "--json");
    assert.equal(r.code, 0, r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.equal(doc.mode, "reconcile");
    const [peer] = doc.peers;
    assert.equal(peer.peer, "did:vm:node:b");
    assert.equal(peer.ok, true);
    assert.equal(peer.missingHere, 0);
    assert.equal(peer.missingThere, 0);
    assert.equal(peer.roundTrips, 1);
    assert.ok(peer.bytes < 2048, `in-sync check cost ${peer.bytes} bytes`);
  });

  test("sync: --from/--to fetches a plain range; --want one id; bad options are usage errors", async () => {
    const c = mesh.node("c");
    const range = await c.cli("sync", "--namespace", NS, "--from", "1760000000", "--to", "1760000002", "--json");
    assert.equal(range.code, 0, range.stderr);
    const doc = JSON.parse(range.stdout);
    assert.equal(doc.mode, "request");
    assert.equal(doc.peers[0].fetched, 9);
    assert.equal(doc.peers[0].imported, 0, "already held: nothing new");
    const bad = await c.cli("sync", "--namespace", NS, "--want", "nope");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--want: "nope" is not a receipt id/);
    const peer = await c.cli("sync", "--namespace", NS, "--peer", "did:vm:node:a");
    assert.equal(peer.code, 2);
    assert.match(peer.stderr, /--peer: did:vm:node:a is not a peer with role serve routed for dao:vaultmesh/);
  });

  test("sync: a peer that is down is reported failed and the command exits 1", async () => {
    const b = mesh.node("b");
    await b.stop("SIGTERM");
    try {
      const r = await mesh.node("c").cli("sync", "--namespace", NS, "--json");
      assert.equal(r.code, 1);
      const doc = JSON.parse(r.stdout);
      assert.equal(doc.peers[0].ok, false);
      assert.match(doc.peers[0].error, /did:vm:node:b answered \/federation\/reconcile with/);
    } finally {
      await b.start();
    }
  });

  test("status: shows the last successful sync per peer and namespace", async () => {
    const doc = JSON.parse((await mesh.node("c").cli("status", "--json")).stdout);
    const b = doc.peers.find((p: { did: string }) => p.did === "did:vm:node:b");
    assert.equal(typeof b.lastSync[NS], "number");
  });
});
