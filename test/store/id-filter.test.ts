import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { IdFilter, versionsDigest } from "../../lib/store/id-filter.js";
import { openStore } from "../../lib/store/index.js";
import { idFilterPath, layout } from "../../lib/store/layout.js";
import { StoreError } from "../../lib/errors.js";
import { hashOf, sampleBatch } from "./sample.js";

const NS = "acme/audit";
let root: string;
let n = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "vmsh-idfilter-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A state of three batches of 50, its manifest and id filter written by a closing eager store. */
async function seeded(): Promise<string> {
  const dir = join(root, `s${n++}`);
  const store = await openStore(dir);
  for (let b = 0; b < 3; b++) await store.putBatch(sampleBatch({ batchId: `b${b}`, size: 50, createdAt: 1_732_000_000 + b }));
  await store.close();
  return dir;
}

/** True when the namespace's receipt keys are not in memory (the lazy store never read the batch files). */
function keysUnread(store: Awaited<ReturnType<typeof openStore>>): boolean {
  try {
    store.receiptKeys(NS);
    return false;
  } catch (e) {
    if (e instanceof StoreError && e.code === "STATE_INDEX_NOT_LOADED") return true;
    throw e;
  }
}

describe("store: the receipt-id filter (docs/STATE.md §Id filter)", () => {
  test("a filter never forgets an id it was given, survives its file, and is refused for other versions", () => {
    const f = IdFilter.sizedFor(1000);
    const ids = Array.from({ length: 1000 }, (_, i) => hashOf(`id/${i}`));
    for (const id of ids) f.add(id);
    assert.ok(ids.every((id) => f.mayHave(id)));
    const others = Array.from({ length: 10_000 }, (_, i) => hashOf(`other/${i}`)).filter((id) => f.mayHave(id)).length;
    assert.ok(others <= 5, `${others} of 10,000 unknown ids reported as maybe held`);
    const digest = versionsDigest([{ batchId: "b", batchRoot: "r", origin: "o", receiptCount: 1000 }]);
    const back = IdFilter.fromFile(JSON.parse(JSON.stringify(f.toFile(NS, digest))), NS, digest)!;
    assert.ok(ids.every((id) => back.mayHave(id)));
    assert.equal(IdFilter.fromFile(f.toFile(NS, digest), NS, versionsDigest([{ batchId: "b", batchRoot: "r", origin: "o", receiptCount: 1001 }])), undefined);
    assert.equal(IdFilter.fromFile(f.toFile(NS, digest), "other", digest), undefined);
    assert.equal(IdFilter.fromFile({ ...f.toFile(NS, digest), bits: "AAAA" }, NS, digest), undefined);
  });

  test("a lazily opened store adds a batch of new receipts without reading the namespace's keys, and counts them", async () => {
    const dir = await seeded();
    const store = await openStore(dir, { receiptIndex: "lazy" });
    const r = await store.putBatch(sampleBatch({ batchId: "b3", size: 40, createdAt: 1_732_000_010 }));
    assert.equal(r.receiptsAdded, 40);
    assert.ok(keysUnread(store), "the keys were read");
    assert.equal(store.counts().receipts, 190);
    // A second one in the same process: the filter kept in memory vouches for it too.
    await store.putBatch(sampleBatch({ batchId: "b4", size: 10, createdAt: 1_732_000_011 }));
    assert.ok(keysUnread(store));
    await store.close();
    // The next process, lazily, once more; then an eager open agrees with every count.
    const again = await openStore(dir, { receiptIndex: "lazy" });
    await again.putBatch(sampleBatch({ batchId: "b5", size: 5, createdAt: 1_732_000_012 }));
    assert.ok(keysUnread(again));
    await again.close();
    const eager = await openStore(dir, { readOnly: true });
    assert.equal(eager.counts().receipts, 205);
    assert.equal(eager.receiptKeys(NS).length, 205);
    await eager.close();
  });

  test("an id already stored in another version sends the write back to the keys, and is counted once", async () => {
    const dir = await seeded();
    const store = await openStore(dir, { receiptIndex: "lazy" });
    const b1 = sampleBatch({ batchId: "b1", size: 50, createdAt: 1_732_000_001 });
    const dup = sampleBatch({ batchId: "dup", size: 3, createdAt: 1_732_000_020 });
    dup.receipts[0] = { ...b1.receipts[7]!, batchId: "dup", batchRoot: dup.batchRoot, ts: 1_732_000_020 };
    await store.putBatch(dup);
    assert.equal(keysUnread(store), false, "the filter cannot vouch for an id it holds");
    assert.equal(store.counts().receipts, 152);
    await store.close();
    const eager = await openStore(dir, { readOnly: true });
    assert.equal(eager.counts().receipts, 152);
    await eager.close();
  });

  test("an anchor-only write keeps the filter valid; a missing or damaged filter file only costs reading the keys", async () => {
    const dir = await seeded();
    const path = idFilterPath(layout(dir), NS);
    const before = await readFile(path, "utf8");
    const s1 = await openStore(dir, { receiptIndex: "lazy" });
    await s1.putBatch({ ...sampleBatch({ batchId: "b0", size: 50, createdAt: 1_732_000_000, anchors: [{ outcome: "verified" }] }) });
    await s1.close();
    assert.equal(await readFile(path, "utf8"), before, "an anchor write leaves the filter as it was");
    const s2 = await openStore(dir, { receiptIndex: "lazy" });
    await s2.putBatch(sampleBatch({ batchId: "b7", size: 4, createdAt: 1_732_000_030 }));
    assert.ok(keysUnread(s2), "still valid after the anchor write");
    await s2.close();

    await writeFile(path, "{ not json");
    const s3 = await openStore(dir, { receiptIndex: "lazy" });
    await s3.putBatch(sampleBatch({ batchId: "b8", size: 4, createdAt: 1_732_000_031 }));
    assert.equal(keysUnread(s3), false, "a damaged filter is not trusted");
    assert.equal(s3.counts().receipts, 158);
    await s3.close();
    assert.ok(IdFilter.fromFile(JSON.parse(await readFile(path, "utf8")), NS, JSON.parse(await readFile(path, "utf8")).versions), "rewritten whole at close");

    await unlink(path);
    const s4 = await openStore(dir, { receiptIndex: "lazy" });
    await s4.putBatch(sampleBatch({ batchId: "b9", size: 4, createdAt: 1_732_000_032 }));
    assert.equal(keysUnread(s4), false);
    assert.equal(s4.counts().receipts, 162);
    await s4.close();
  });
});
