/**
 * What the store does on disk: file names from hostile peer input, corrupt
 * files, format versions, read-only opens, leftover temp files (docs/STATE.md).
 */
import assert from "node:assert/strict";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, describe, test } from "node:test";
import { Low } from "lowdb";
import { StoreError } from "../../lib/errors.js";
import { AtomicJsonFile } from "../../lib/store/atomic-file.js";
import { batchPath, encodeName, isEncodedName, layout } from "../../lib/store/layout.js";
import { checkIntegrity, openStore } from "../../lib/store/index.js";
import { checkDocFile } from "../../lib/store/schema.js";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { checkpointBy } from "../support/checkpoint.js";
import { sampleBatch } from "./sample.js";
import { filesUnder, snapshot, tempDir } from "./tree.js";

const NS = "acme/audit";
const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));
function fresh(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}
const isCorrupt = (path: string) => (e: unknown) => e instanceof StoreError && e.code === "STATE_CORRUPT" && e.path === path && e.message.includes(path);

describe("store files: names from peers", () => {
  test("encodeName: traversal, case and length cannot escape or collide", () => {
    const names = ["../../etc/passwd", "..", ".", "/abs", "a\\b", "ACME", "acme", "Acme", "x".repeat(300), "x".repeat(301), "\u0000", "é", "e\u0301"];
    const encoded = names.map(encodeName);
    assert.equal(new Set(encoded).size, names.length);
    for (const e of encoded) {
      assert.match(e, /^[xh][0-9a-f]*$/);
      assert.ok(e.length <= 193, `${e.length} bytes`);
      assert.ok(isEncodedName(e));
    }
    assert.equal(isEncodedName("meta"), false);
    assert.equal(isEncodedName("x0"), false);
  });

  test("putBatch: hostile namespaces and batch ids are stored inside stateDir, each apart", async () => {
    const root = fresh();
    const dir = join(root, "state");
    const store = await openStore(dir);
    const hostile = [
      ["../../outside", "../../../x"],
      ["ACME", "B1"],
      ["acme", "b1"],
      ["acme", "/etc/passwd"],
      ["n".repeat(400), "id".repeat(300)],
    ] as const;
    for (const [namespace, batchId] of hostile) await store.putBatch(sampleBatch({ namespace, batchId, size: 2 }));
    assert.deepEqual(readdirSync(root), ["state"]);
    assert.deepEqual(store.namespaces(), [...new Set(hostile.map(([ns]) => ns))].sort());
    for (const [namespace, batchId] of hostile) {
      assert.deepEqual(store.listBatches(namespace).map((b) => b.batchId).filter((b) => b === batchId), [batchId]);
    }
    await store.close();
    const reopened = await openStore(dir, { readOnly: true });
    assert.equal(reopened.counts().batches, hostile.length);
    assert.equal(reopened.counts().receipts, hostile.length * 2);
    await reopened.close();
    assert.equal((await checkIntegrity(dir)).ok, true);
  });
});

describe("store files: corruption and formats", () => {
  test("openStore: a batch file that is not JSON is reported with its path and left byte for byte", async () => {
    const dir = fresh();
    const store = await openStore(dir);
    const batch = sampleBatch({ batchId: "b1", size: 3 });
    await store.putBatch(batch);
    await store.close();
    const file = batchPath(layout(dir), NS, "b1", batch.batchRoot);
    const garbage = Buffer.concat([readFileSync(file).subarray(0, 100), Buffer.from([0xff, 0x00])]);
    writeFileSync(file, garbage);
    await assert.rejects(openStore(dir), isCorrupt(file));
    await assert.rejects(openStore(dir, { readOnly: true }), isCorrupt(file));
    assert.deepEqual(readFileSync(file), garbage);
    const report = await checkIntegrity(dir);
    assert.equal(report.ok, false);
    assert.ok(report.problems.some((p) => p.includes(file)));
  });

  test("openStore: a batch file that parses but fails its schema check is reported, never rewritten", async () => {
    const dir = fresh();
    const store = await openStore(dir);
    const batch = sampleBatch({ batchId: "b1", size: 3 });
    await store.putBatch(batch);
    await store.close();
    const file = batchPath(layout(dir), NS, "b1", batch.batchRoot);
    const bad = JSON.parse(readFileSync(file, "utf8"));
    bad.receipts[1].ts = "yesterday";
    const bytes = `${JSON.stringify(bad)}\n`;
    writeFileSync(file, bytes);
    await assert.rejects(openStore(dir), (e: unknown) => isCorrupt(file)(e) && /receipts\[1\]\.ts/.test((e as Error).message));
    assert.equal(readFileSync(file, "utf8"), bytes);
  });

  test("openStore: a batch file copied under another batch's name is reported as misfiled", async () => {
    const dir = fresh();
    const store = await openStore(dir);
    const batch = sampleBatch({ batchId: "b1", size: 1 });
    await store.putBatch(batch);
    await store.close();
    const wrong = batchPath(layout(dir), NS, "b2", batch.batchRoot);
    mkdirSync(dirname(wrong), { recursive: true });
    copyFileSync(batchPath(layout(dir), NS, "b1", batch.batchRoot), wrong);
    await assert.rejects(openStore(dir), isCorrupt(wrong));
    assert.ok((await checkIntegrity(dir)).problems.some((p) => p.startsWith(wrong) && /wrong name/.test(p)));
  });

  test("openStore: a second file of one version (origin-named beside its <batchRoot>.json) or a file named after another origin is corrupt, reported, left as it is", async () => {
    const dir = fresh();
    const origin = { did: "did:vm:node:origin", key: generateNodeKey() };
    const store = await openStore(dir);
    const batch = sampleBatch({ batchId: "b1", size: 2 });
    await store.putBatch({ ...batch, checkpoint: undefined });
    await store.putBatch({ ...batch, checkpoint: checkpointBy(origin, { namespace: NS, batchId: "b1", batchRoot: batch.batchRoot, size: 2, createdAt: batch.createdAt }) });
    await store.close();
    const legacy = batchPath(layout(dir), NS, "b1", batch.batchRoot);
    const twin = batchPath(layout(dir), NS, "b1", batch.batchRoot, origin.did);
    copyFileSync(legacy, twin);
    const before = snapshot(dir);
    await assert.rejects(openStore(dir), (e: unknown) => isCorrupt(twin)(e) && /same batch version \(origin did:vm:node:origin\)/.test((e as Error).message));
    assert.deepEqual(snapshot(dir), before, "a refused open writes nothing");
    assert.ok((await checkIntegrity(dir)).problems.some((p) => p.startsWith(twin) && /same batch version as/.test(p)));
    rmSync(twin);
    const other = batchPath(layout(dir), NS, "b1", batch.batchRoot, "did:vm:node:someone-else");
    copyFileSync(legacy, other);
    await assert.rejects(openStore(dir), isCorrupt(other));
    assert.ok((await checkIntegrity(dir)).problems.some((p) => p.startsWith(other) && /wrong name/.test(p)));
    rmSync(other);
    assert.ok((await checkIntegrity(dir)).ok);
  });

  test("openStore: refuses a newer format version, naming it, and changes nothing", async () => {
    const dir = fresh();
    await (await openStore(dir)).close();
    const format = layout(dir).format;
    writeFileSync(format, '{"format":"vmsh-federation-state","version":7}\n');
    const before = snapshot(dir);
    await assert.rejects(openStore(dir), (e: unknown) => e instanceof StoreError && e.code === "STATE_FORMAT_UNSUPPORTED" && /version 7/.test(e.message) && e.path === format);
    assert.deepEqual(snapshot(dir), before);
  });

  test("openStore: data with a missing or empty FORMAT file is an error, not a new store", async () => {
    const dir = fresh();
    const store = await openStore(dir);
    await store.putBatch(sampleBatch({ batchId: "b1", size: 1 }));
    await store.close();
    rmSync(layout(dir).format);
    await assert.rejects(openStore(dir), isCorrupt(layout(dir).format));
    assert.ok((await checkIntegrity(dir)).problems.some((p) => p.startsWith(`${layout(dir).format}: missing`)));
    assert.equal(existsSync(layout(dir).format), false);
    writeFileSync(layout(dir).format, "");
    await assert.rejects(openStore(dir), isCorrupt(layout(dir).format));
  });
});

describe("store files: read-only opens and temp files", () => {
  test("openStore: a stateDir that is a regular file is a StoreError naming the path", async () => {
    const file = join(fresh(), "not-a-dir");
    writeFileSync(file, "x");
    await assert.rejects(openStore(file), (e: unknown) => e instanceof StoreError && e.path !== undefined && e.path.startsWith(file));
    assert.equal(readFileSync(file, "utf8"), "x");
  });

  test("openStore readOnly: creates nothing, locks nothing, and refuses writes", async () => {
    const root = fresh();
    const missing = join(root, "none");
    const empty = await openStore(missing, { readOnly: true });
    assert.deepEqual(empty.counts().batches, 0);
    assert.equal(existsSync(missing), false);
    const dir = fresh();
    const writer = await openStore(dir);
    await writer.putBatch(sampleBatch({ batchId: "b1", size: 3 }));
    await writer.close();
    const leftover = join(layout(dir).docs, ".x78.json.999.dead.tmp");
    mkdirSync(layout(dir).docs, { recursive: true });
    writeFileSync(leftover, "{half");
    const before = snapshot(dir);
    const reader = await openStore(dir, { readOnly: true });
    await reader.refresh();
    assert.equal(reader.receiptCount(NS), 3);
    await assert.rejects(reader.putBatch(sampleBatch({ batchId: "b2", size: 1 })), (e: unknown) => e instanceof StoreError && e.code === "STATE_READ_ONLY");
    await assert.rejects(reader.putDoc("x", 1), (e: unknown) => e instanceof StoreError && e.code === "STATE_READ_ONLY");
    await reader.close();
    assert.deepEqual(snapshot(dir), before);
  });

  test("openStore: a dead writer's temp files are never read as data and are removed", async () => {
    const dir = fresh();
    const store = await openStore(dir);
    const batch = sampleBatch({ batchId: "b1", size: 2 });
    await store.putBatch(batch);
    await store.close();
    const file = batchPath(layout(dir), NS, "b1", batch.batchRoot);
    const temps = [
      join(dirname(file), `.${file.split("/").pop()}.4242.abcd.tmp`),
      join(layout(dir).root, ".FORMAT.4242.abcd.tmp"),
      join(dirname(dirname(file)), ".x6232.4242.abcd.tmp"),
    ];
    for (const t of temps) writeFileSync(t, "{\"kind\":\"batch\"");
    const report = await checkIntegrity(dir);
    assert.equal(report.ok, true);
    assert.deepEqual([...report.tempFiles].sort(), [...temps].sort());
    const reopened = await openStore(dir);
    assert.equal(reopened.counts().batches, 1);
    for (const t of temps) assert.equal(existsSync(t), false, t);
    await reopened.close();
  });

  test("AtomicJsonFile: a lowdb write leaves exactly the target file, and a missing file reads as null", async () => {
    const dir = fresh();
    const path = join(dir, "d", "doc.json");
    const db = new Low(new AtomicJsonFile<{ kind: "doc"; name: string; value: unknown } | null>(path, checkDocFile), null);
    await db.read();
    assert.equal(db.data, null);
    db.data = { kind: "doc", name: "n", value: [1, 2] };
    await db.write();
    assert.deepEqual(filesUnder(dir), ["d/doc.json"]);
    const again = new Low(new AtomicJsonFile<unknown>(path, checkDocFile), null);
    await again.read();
    assert.deepEqual(again.data, { kind: "doc", name: "n", value: [1, 2] });
    await assert.rejects(new AtomicJsonFile<unknown>(path, checkDocFile).write({ kind: "nope" }), (e: unknown) => e instanceof StoreError && e.code === "STATE_INVALID_WRITE");
  });
});
