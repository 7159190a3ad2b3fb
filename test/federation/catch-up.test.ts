/**
 * Catch-up at scale (docs/ANTI_ENTROPY.md §Catching up): a node with nothing fetches 10^4
 * receipts (50 batches × 200) from a real `serve` with its own state dir, with one `sync`; a
 * `sync` killed part-way keeps every page it imported, and the next one fetches only the rest.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { openStore } from "../../lib/store/index.js";
import { BIN } from "../support/cli.js";
import { receiptCount, startMesh, waitUntil, MESH_NAMESPACE as NS, type Mesh } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { repoRoot } from "../support/repo-root.js";
import { seedStore } from "../support/seed-store.js";

const BATCHES = 50;
const PER_BATCH = 200;
const TOTAL = BATCHES * PER_BATCH;

let tsa: OpensslTsa;
let mesh: Mesh;
let seeded: string[];

async function receiptIds(stateDir: string): Promise<string[]> {
  const store = await openStore(stateDir, { readOnly: true });
  try {
    return store.receiptKeys(NS).map((k) => k.id).sort();
  } finally {
    await store.close();
  }
}

before(async () => {
  tsa = createOpensslTsa();
  mesh = await startMesh([{ name: "a", routes: ["b"] }, { name: "b", routes: ["a"] }], { trustPem: tsa.rootPem });
  // a is filled while it is down; b stays down so that only the `sync` CLI fetches (its timer would too).
  await Promise.all([mesh.node("a").stop(), mesh.node("b").stop()]);
  seeded = (await seedStore(mesh.node("a").stateDir, tsa, { namespace: NS, origin: { did: mesh.node("a").did, keyFile: join(mesh.node("a").configDir, "keys", "node.key") }, batches: BATCHES, receiptsPerBatch: PER_BATCH })).sort();
  await mesh.node("a").start();
});
after(async () => {
  await mesh?.stop();
  tsa?.cleanup();
});

describe(`federation: a fresh node catches up ${TOTAL.toLocaleString("en")} receipts from a real serve`, () => {
  test("sync: killed after its first imported page, it keeps what it imported; the next sync fetches only the rest", async () => {
    const b = mesh.node("b");
    // Pinned to Request version 2 (receipts with paths, 1,000 a page): a fresh node on version 3
    // takes all 10^4 as leaves in one page (test/federation/catch-up-wire.test.ts), nothing to kill part-way.
    const child = spawn(process.execPath, [BIN, "--config", b.configDir, "sync", "--namespace", NS, "--json"], { cwd: repoRoot, env: { ...process.env, VMSH_FEDERATION_REQUEST_V: "2" }, stdio: "ignore" });
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    let running = true;
    void exited.then(() => (running = false));
    try {
      await waitUntil(async () => !running || (await receiptCount(b)) > 0, 120_000, "the first page to be imported");
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
    const kept = await receiptCount(b);
    // A page of wanted ids also names attachment items (docs/ANTI_ENTROPY.md §Attachment items), so
    // a page can end inside a batch: what counts is that every imported receipt is kept, and the
    // next sync fetches exactly the rest (below).
    assert.ok(kept > 0 && kept < TOTAL, `after the kill b holds ${kept} receipts`);
    const r = await b.cli("sync", "--namespace", NS, "--json");
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const [peer] = (JSON.parse(r.stdout) as { peers: Array<Record<string, number | boolean>> }).peers;
    assert.equal(peer!.ok, true);
    assert.equal(peer!.compared, kept);
    assert.equal(peer!.missingHere, TOTAL - kept, `what the killed sync imported is not fetched again: ${JSON.stringify(peer)}`);
    assert.equal(peer!.imported, TOTAL - kept);
    assert.equal(peer!.rejected, 0);
    assert.equal(peer!.held, 0);
    assert.deepEqual(await receiptIds(b.stateDir), seeded);
  });

  test("sync: with both serve processes running, the fresh node is in step in one round trip", async () => {
    const b = mesh.node("b");
    await b.start();
    await waitUntil(async () => (await receiptCount(b)) === TOTAL, 10_000, "b to hold everything");
    const r = await b.cli("sync", "--namespace", NS, "--json");
    assert.equal(r.code, 0, r.stderr);
    const [peer] = (JSON.parse(r.stdout) as { peers: Array<Record<string, number | boolean>> }).peers;
    assert.equal(peer!.missingHere, 0);
    assert.equal(peer!.missingThere, 0);
    assert.equal(peer!.roundTrips, 1);
  });
});
