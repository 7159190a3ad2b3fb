/**
 * The per-namespace manifest (docs/STATE.md §Manifest): a store opened from it answers like
 * one opened from its files; a stale, corrupted, truncated or misfiled manifest is detected,
 * the files are read instead and nothing is written by a reader; a concurrent writer never
 * makes an open see a half state; version 1 state (no manifests) still opens.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, stat, truncate, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StoreError } from "../../lib/errors.js";
import { openStore, type Store } from "../../lib/store/index.js";
import { batchPath, layout, namespaceManifestPath, namespaceMetaPath } from "../../lib/store/layout.js";
import { diffTrees, snapshotTree } from "../hardening/state-snapshot.js";
import { finished, spawnWriter } from "./child.js";
import { sampleBatch } from "./sample.js";

const NS = "acme/audit";
let root: string;
let pristine: string;
let n = 0;

/** A fresh copy of the pristine state (cp gives new inodes, so copy the manifest's view along: rewrite it by a commit). */
async function copy(): Promise<string> {
  const dir = join(root, `s${n++}`);
  await cp(pristine, dir, { recursive: true, preserveTimestamps: true });
  // A copy has new inodes and ctimes: one writable commit re-issues the manifest for this copy.
  const store = await openStore(dir);
  await store.putBatch(sampleBatch({ batchId: "copy", size: 3, createdAt: 1_732_100_000 }));
  await store.close();
  return dir;
}

/** What a reader sees, for comparing two opens. */
async function view(store: Store) {
  await store.loadReceiptIndex();
  return { counts: store.counts(), batches: store.listBatches(NS), keys: store.receiptKeys(NS).map((k) => `${k.ts}/${k.id}`), equivocations: store.equivocations() };
}

async function lazyView(dir: string, readOnly = true) {
  const store = await openStore(dir, { readOnly, receiptIndex: "lazy" });
  try {
    const opened = store.openedFrom().get(NS);
    const counts = store.counts();
    const batches = store.listBatches(NS);
    return { opened, counts, batches, full: await view(store) };
  } finally {
    await store.close();
  }
}

async function eagerView(dir: string) {
  const store = await openStore(dir, { readOnly: true });
  try {
    return await view(store);
  } finally {
    await store.close();
  }
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vmsh-manifest-"));
  pristine = join(root, "pristine");
  const store = await openStore(pristine);
  for (let i = 0; i < 6; i++) await store.putBatch(sampleBatch({ batchId: `b${i}`, size: 5 + i, createdAt: 1_732_000_000 + (5 - i) * 60, anchors: i % 2 === 0 ? [{ outcome: "verified" }] : [{ outcome: "pending" }] }));
  await store.putBatch(sampleBatch({ batchId: "b1", size: 4, seed: "other", createdAt: 1_732_000_000 + 4 * 60 }));
  await store.close();
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("store manifest", () => {
  test("a closed writer leaves a manifest; a lazy open uses it and answers as an open from the files does", async () => {
    const dir = await copy();
    const lazy = await lazyView(dir);
    assert.deepEqual(lazy.opened, { source: "manifest" });
    const eager = await eagerView(dir);
    assert.deepEqual(lazy.counts, eager.counts);
    assert.deepEqual(lazy.batches, eager.batches);
    assert.deepEqual(lazy.full, eager);
    assert.equal(eager.counts.receipts, 5 + 6 + 7 + 8 + 9 + 10 + 4 + 3);
    // Two roots for b1 without signed checkpoints are not an equivocation (docs/FEDERATION_SEMANTICS.md §Equivocation).
    assert.equal(eager.counts.equivocations, 0);
  });

  test("lazily opened: receipt keys need loadReceiptIndex, receipt reads and putBatch load them by themselves", async () => {
    const dir = await copy();
    const store = await openStore(dir, { receiptIndex: "lazy" });
    try {
      assert.throws(() => store.receiptKeys(NS), (e: unknown) => e instanceof StoreError && e.code === "STATE_INDEX_NOT_LOADED");
      assert.throws(() => store.receiptPosition(NS, { ts: 0, id: "" }), (e: unknown) => e instanceof StoreError && e.code === "STATE_INDEX_NOT_LOADED");
      // A want page asks for many ids at once: the concurrent reads share one load and all find their receipt.
      const ids = [...sampleBatch({ batchId: "b3", size: 8 }).receipts, ...sampleBatch({ batchId: "b0", size: 5 }).receipts].map((r) => r.id);
      assert.deepEqual((await Promise.all(ids.map((id) => store.getReceipt(NS, id)))).map((r) => r?.id), ids);
      assert.equal(store.receiptKeys(NS).length, store.counts().receipts);
      const before0 = store.counts().receipts;
      await store.putBatch(sampleBatch({ batchId: "new", size: 9, createdAt: 1_732_200_000 }));
      assert.equal(store.counts().receipts, before0 + 9);
    } finally {
      await store.close();
    }
    const again = await lazyView(dir);
    assert.deepEqual(again.opened, { source: "manifest" });
    assert.deepEqual(again.full, await eagerView(dir));
  });

  test("stale: a batch written after the manifest (writer killed before close) is seen, from the files", async () => {
    const dir = await copy();
    const writer = await openStore(dir);
    await writer.putBatch(sampleBatch({ batchId: "late", size: 12, createdAt: 1_732_300_000 }));
    // Not closed: as if the process died here. The manifest still describes the state before "late".
    const snapshot = await snapshotTree(dir);
    const lazy = await lazyView(dir);
    assert.equal(lazy.opened?.source, "files");
    assert.match((lazy.opened as { reason: string }).reason, /describes change \d+, meta\.json is at \d+/);
    assert.ok(lazy.batches.some((b) => b.batchId === "late"));
    assert.deepEqual(lazy.full, await eagerView(dir));
    assert.deepEqual(diffTrees(snapshot, await snapshotTree(dir)), [], "a reader wrote nothing");
    await writer.close();
  });

  test("stale: a second root filed beside a batch by a writer killed before meta.json moved is detected by its directory", async () => {
    const dir = await copy();
    const metaPath = namespaceMetaPath(layout(dir), NS);
    const meta = await readFile(metaPath, "utf8");
    const writer = await openStore(dir);
    await writer.putBatch(sampleBatch({ batchId: "b5", size: 3, seed: "crash", createdAt: 1_732_000_000 }));
    await writeFile(metaPath, meta); // as if the commit died between the batch file and meta.json
    const lazy = await lazyView(dir);
    assert.equal(lazy.opened?.source, "files");
    assert.match((lazy.opened as { reason: string }).reason, /batches\/x6235 changed since the manifest was written/);
    assert.equal(lazy.batches.filter((b) => b.batchId === "b5").length, 2);
    await writer.close();
  });

  test("stale: a batch file rewritten in place, size kept and mtime set back, is detected", async () => {
    const dir = await copy();
    const file = batchPath(layout(dir), NS, "b2", sampleBatch({ batchId: "b2", size: 7 }).batchRoot);
    const text = await readFile(file, "utf8");
    const { mtime, atime } = await stat(file);
    const edited = text.replace('"outcome":"verified"', '"outcome":"rejected"');
    assert.ok(edited !== text && edited.length === text.length);
    await writeFile(file, edited);
    await utimes(file, atime, mtime);
    const lazy = await lazyView(dir);
    assert.equal(lazy.opened?.source, "files");
    assert.match((lazy.opened as { reason: string }).reason, /changed since the manifest was written/);
    assert.equal(lazy.batches.find((b) => b.batchId === "b2")!.outcomes.rejected, 1);
  });

  for (const [what, damage, reason] of [
    ["one digit of a count changed", (t: string) => t.replace(/"receipts":(\d+)/, (_m, d: string) => `"receipts":${Number(d) + 1}`), /digest does not match/],
    ["truncated to half", (t: string) => t.slice(0, Math.floor(t.length / 2)), /not valid JSON/],
    ["emptied", () => "", /not valid JSON/],
    ["another namespace's manifest", (t: string) => t.replace(`"namespace":"${NS}"`, '"namespace":"other/ns"'), /names namespace "other\/ns"/],
    ["an unknown manifest version", (t: string) => t.replace('"version":4', '"version":9'), /manifest version 9/],
  ] as const) {
    test(`corrupted (${what}): detected, the files are read, a reader leaves it as it is, the next commit rewrites it`, async () => {
      const dir = await copy();
      const path = namespaceManifestPath(layout(dir), NS);
      const damaged = damage(await readFile(path, "utf8"));
      await writeFile(path, damaged);
      const snapshot = await snapshotTree(dir);
      for (const readOnly of [true, false]) {
        const lazy = await lazyView(dir, readOnly);
        assert.equal(lazy.opened?.source, "files", `${what}, readOnly ${readOnly}`);
        assert.match((lazy.opened as { reason: string }).reason, reason);
        assert.deepEqual(lazy.full, await eagerView(dir));
      }
      assert.deepEqual(diffTrees(snapshot, await snapshotTree(dir)), [], "opening and reading wrote nothing");
      assert.equal(await readFile(path, "utf8"), damaged);
      const writer = await openStore(dir);
      await writer.putBatch(sampleBatch({ batchId: "fix", size: 2, createdAt: 1_732_400_000 }));
      await writer.close();
      assert.deepEqual((await lazyView(dir)).opened, { source: "manifest" });
    });
  }

  test("a batch file damaged after a manifest open: loadReceiptIndex names it and stays unloaded, nothing written", async () => {
    const dir = await copy();
    const store = await openStore(dir, { readOnly: true, receiptIndex: "lazy" });
    try {
      assert.deepEqual(store.openedFrom().get(NS), { source: "manifest" });
      const file = batchPath(layout(dir), NS, "b4", sampleBatch({ batchId: "b4", size: 9 }).batchRoot);
      await truncate(file, 40);
      const snapshot = await snapshotTree(dir);
      await assert.rejects(store.loadReceiptIndex(), (e: unknown) => e instanceof StoreError && e.code === "STATE_CORRUPT" && e.path === file);
      assert.throws(() => store.receiptKeys(NS), (e: unknown) => e instanceof StoreError && e.code === "STATE_INDEX_NOT_LOADED");
      assert.deepEqual(diffTrees(snapshot, await snapshotTree(dir)), []);
    } finally {
      await store.close();
    }
  });

  test("concurrent writer: every open while another process writes sees a whole state; after it closes, the manifest is current", async () => {
    const dir = await copy();
    const setup = await openStore(dir);
    await setup.putBatch(sampleBatch({ batchId: "shared", size: 4 }));
    await setup.close();
    const child = spawnWriter(["concurrent", dir, "w", "30"]);
    const done = finished(child);
    let exited = false;
    void done.then(() => (exited = true));
    let opens = 0;
    let lastBatches = 0;
    while (!exited) {
      const store = await openStore(dir, { readOnly: true, receiptIndex: "lazy" });
      try {
        const c = store.counts();
        const batches = store.listBatches(NS);
        assert.equal(c.batches, batches.length);
        // No receipt id is in two batches here, so the distinct count is the sum of the batches'.
        assert.equal(c.receipts, batches.reduce((s, b) => s + b.receiptCount, 0));
        assert.ok(c.batches >= lastBatches, "an open never sees fewer batches than the one before");
        lastBatches = c.batches;
        await store.loadReceiptIndex();
        assert.equal(store.receiptKeys(NS).length, c.receipts);
      } finally {
        await store.close();
      }
      opens++;
    }
    const r = await done;
    assert.equal(r.code, 0, r.stderr);
    assert.ok(opens > 0);
    const lazy = await lazyView(dir);
    assert.deepEqual(lazy.opened, { source: "manifest" });
    assert.deepEqual(lazy.full, await eagerView(dir));
  });

  test("version 1 state (no manifests) opens as it is; the first commit writes FORMAT 3 and the manifest", async () => {
    const dir = await copy();
    const paths = layout(dir);
    await rm(namespaceManifestPath(paths, NS));
    await writeFile(paths.format, '{"format":"vmsh-federation-state","version":1}\n');
    const snapshot = await snapshotTree(dir);
    for (const readOnly of [true, false]) {
      const lazy = await lazyView(dir, readOnly);
      assert.deepEqual(lazy.opened, { source: "files", reason: "no manifest" });
      assert.deepEqual(lazy.full, await eagerView(dir));
    }
    assert.deepEqual(diffTrees(snapshot, await snapshotTree(dir)), [], "opening version 1 state changes nothing");
    const writer = await openStore(dir);
    await writer.putBatch(sampleBatch({ batchId: "v2", size: 2, createdAt: 1_732_500_000 }));
    await writer.close();
    assert.deepEqual(JSON.parse(await readFile(paths.format, "utf8")), { format: "vmsh-federation-state", version: 3 });
    assert.deepEqual((await lazyView(dir)).opened, { source: "manifest" });
  });
});
