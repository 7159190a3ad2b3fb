/**
 * The store's cache of parsed batch files (lib/store/batch-cache.ts) against a read that finishes
 * after a write: a slow read of a large file began, the write committed and set its copy, and the
 * read, finishing later, put the older copy back, so answers to peers (which read the cache)
 * served the file as it was before the write until the next change. Ordered by promises, not time.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BatchCache } from "../../lib/store/batch-cache.js";
import { loadBatch } from "../../lib/store/receipt-reader.js";
import type { BatchFile } from "../../lib/store/schema.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "vmsh-cache-race-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const ROOT = `sha256:${"ab".repeat(32)}`;
function batch(anchors: number): BatchFile {
  return {
    kind: "batch",
    namespace: "acme:audit",
    batchId: "b-1",
    batchRoot: ROOT,
    createdAt: 1_760_000_000,
    receipts: [],
    anchors: Array.from({ length: anchors }, (_, i) => ({ batchId: "b-1", batchRoot: ROOT, chain: "rfc3161:tsa", tx: `stamp-${i}`, block: 0, ts: 1_760_000_000 + i, outcome: "rejected" as const, reason: "test" })),
  } as BatchFile;
}

test("cache race: a write's copy set while a read of the file is in flight stays; the read's older copy is not kept", async () => {
  const path = join(dir, "b-1.json");
  await writeFile(path, JSON.stringify(batch(1)));
  const cache = new BatchCache(8);
  const reading = loadBatch(cache, path, true);
  // The write commits (its copy goes to the cache) before the read has parsed the older file.
  cache.set(path, batch(2));
  const read = await reading;
  assert.equal(read?.file.anchors.length, 1, "the reader itself gets what it read");
  assert.equal(cache.get(path)?.file.anchors.length, 2, "the cache keeps the write's copy");
  // A reader that accepts a cached copy now gets the written one.
  assert.equal((await loadBatch(cache, path, false))?.file.anchors.length, 2);
});

test("cache race: a copy read before the file was dropped (changed on disk) or the cache cleared is not kept", async () => {
  const cache = new BatchCache(8);
  const path = join(dir, "b-2.json");
  const before = cache.mark(path);
  cache.delete(path);
  cache.set(path, batch(1), before);
  assert.equal(cache.get(path), undefined, "dropped after the read began");
  const again = cache.mark(path);
  cache.clear();
  cache.set(path, batch(1), again);
  assert.equal(cache.get(path), undefined, "cleared after the read began");
  // A read that began after both is kept.
  cache.set(path, batch(3), cache.mark(path));
  assert.equal(cache.get(path)?.file.anchors.length, 3);
});
