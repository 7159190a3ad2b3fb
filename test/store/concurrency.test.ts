/**
 * Two real processes writing the same state directory at once (docs/STATE.md §Two processes on one state directory: the
 * daemon and a CLI command never lose each other's updates).
 */
import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { checkIntegrity, openStore } from "../../lib/store/index.js";
import { finished, spawnWriter } from "./child.js";
import { sampleBatch } from "./sample.js";
import { tempDir } from "./tree.js";

const NS = "acme/audit";
const { dir, cleanup } = tempDir("vmsh-concurrent-");
const children: Array<ReturnType<typeof spawnWriter>> = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  cleanup();
});

describe("store: two processes", () => {
  test("concurrent writers: every batch, doc increment and anchor of both processes is kept", async () => {
    const n = 15;
    const setup = await openStore(dir);
    await setup.putBatch(sampleBatch({ batchId: "shared", size: 4 }));
    await setup.close();
    const runs = ["p", "q"].map((prefix) => {
      const child = spawnWriter(["concurrent", dir, prefix, String(n)]);
      children.push(child);
      return finished(child);
    });
    // This process writes too, while both children run.
    const store = await openStore(dir);
    for (let i = 0; i < n; i++) await store.updateDoc<Record<string, number>>("counters", (c) => ({ ...c, parent: (c?.["parent"] ?? 0) + 1, total: (c?.["total"] ?? 0) + 1 }));
    for (const r of await Promise.all(runs)) assert.equal(r.code, 0, r.stderr);
    await store.refresh();
    assert.deepEqual(await store.getDoc("counters"), { p: n, q: n, parent: n, total: 3 * n });
    const ids = store.listBatches(NS).map((b) => b.batchId);
    for (const prefix of ["p", "q"]) for (let i = 0; i < n; i++) assert.ok(ids.includes(`${prefix}-${i}`), `${prefix}-${i} missing`);
    assert.equal(store.receiptCount(NS), 2 * n * 10 + 4);
    const txs = (await store.anchors(NS, "shared")).map((a) => a.tx).sort();
    assert.equal(txs.length, 2 * n);
    assert.deepEqual(store.counts().anchors.verified, 2 * n);
    await store.close();
    const report = await checkIntegrity(dir);
    assert.deepEqual(report.problems, []);
    assert.deepEqual(report.tempFiles, []);
  });
});
