import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { limitConcurrency } from "../../lib/anchors/limit.js";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { merkleRoot, receiptsForBatch } from "../../lib/merkle/index.js";
import { signCheckpoint, type Checkpoint } from "../../lib/messages/checkpoint.js";
import { importBundle } from "../../lib/pipeline/bundle.js";
import type { ImportContext } from "../../lib/pipeline/import.js";
import type { Receipt } from "../../lib/receipt.js";
import { openStore, type Store } from "../../lib/store/index.js";
import { layout, namespaceMetaPath } from "../../lib/store/layout.js";
import { sampleBatch } from "../store/sample.js";

const NS = "dao:vaultmesh";
const ORIGIN = { did: "did:vm:node:origin", key: generateNodeKey() };
let root: string;
let n = 0;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "vmsh-bundle-write-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

const rev = async (dir: string, ns: string): Promise<number> => (JSON.parse(await readFile(namespaceMetaPath(layout(dir), ns), "utf8")) as { rev: number }).rev;

function bundleOf(batches: number, size: number): { receipts: Receipt[]; checkpoints: Checkpoint[] } {
  const receipts: Receipt[] = [];
  const checkpoints: Checkpoint[] = [];
  for (let b = 0; b < batches; b++) {
    const id = `b-${b}`;
    const createdAt = 1_700_000_000 + b;
    const leaves = Array.from({ length: size }, (_, i) => `sha256:${(b * 1000 + i + 1).toString(16).padStart(64, "0")}`);
    const batchRoot = merkleRoot(leaves, "vmsh-dup-sha256");
    receipts.push(...receiptsForBatch({ id, root: batchRoot, leaves, createdAt }, NS));
    checkpoints.push(signCheckpoint({ namespace: NS, origin: ORIGIN.did, batchId: id, batchRoot, tree: "vmsh-dup-sha256", size, createdAt, ts: 1_800_000_000 }, ORIGIN.key.privateKey));
  }
  return { receipts, checkpoints };
}

const ctxOf = (store: Store): ImportContext => ({
  store,
  verify: async () => ({ outcome: "pending", reason: "no verdict in test" }),
  limit: limitConcurrency(2),
  now: () => 1_800_000_000,
  origins: new Map([[ORIGIN.did, ORIGIN.key.publicKey]]),
});

describe("store.putBatches and importBundle: one write transaction per Bundle", () => {
  test("a Bundle of five batches is stored with one change-counter bump, every receipt counted", async () => {
    const dir = join(root, `s${n++}`);
    const store = await openStore(dir);
    const { receipts, checkpoints } = bundleOf(5, 20);
    const reports = await importBundle(NS, receipts, [], ctxOf(store), checkpoints);
    assert.equal(reports.length, 5);
    assert.deepEqual(reports.map((r) => [r.batchId, r.receiptsAdded, r.written]), [0, 1, 2, 3, 4].map((b) => [`b-${b}`, 20, true]));
    assert.equal(await rev(dir, NS), 1, "one transaction");
    assert.equal(store.counts().receipts, 100);
    await store.close();
    const again = await openStore(dir, { readOnly: true });
    assert.equal(again.counts().receipts, 100);
    assert.equal(again.counts().batches, 5);
    await again.close();
  });

  test("putBatches writes the good inputs and reports the refused one in its place, storing nothing for it", async () => {
    const dir = join(root, `s${n++}`);
    const store = await openStore(dir);
    await store.putBatch(sampleBatch({ namespace: NS, batchId: "fixed", size: 4, createdAt: 1_732_000_000 }));
    const before = await rev(dir, NS);
    const [r0, r1, r2] = await store.putBatches([
      sampleBatch({ namespace: NS, batchId: "x1", size: 3 }),
      sampleBatch({ namespace: NS, batchId: "fixed", size: 4, createdAt: 1_732_000_999 }),
      sampleBatch({ namespace: NS, batchId: "x2", size: 2 }),
    ]);
    assert.ok(r0 !== undefined && !("error" in r0) && r0.receiptsAdded === 3);
    assert.ok(r1 !== undefined && "error" in r1);
    assert.match(r1.error.message, /1732000999 differs from 1732000000, fixed when batch fixed was first stored/);
    assert.ok(r2 !== undefined && !("error" in r2) && r2.receiptsAdded === 2);
    assert.equal(await rev(dir, NS), before + 1);
    assert.equal((await store.getBatch(NS, "fixed", sampleBatch({ namespace: NS, batchId: "fixed", size: 4 }).batchRoot))?.createdAt, 1_732_000_000);
    assert.equal(store.counts().receipts, 9);
    await store.close();
  });

  test("two inputs for one version in one call are merged into one file", async () => {
    const dir = join(root, `s${n++}`);
    const store = await openStore(dir);
    const whole = sampleBatch({ namespace: NS, batchId: "m", size: 6 });
    const [a, b] = await store.putBatches([{ ...whole, receipts: whole.receipts.slice(0, 4) }, { ...whole, receipts: whole.receipts.slice(2) }]);
    assert.ok(a !== undefined && !("error" in a) && a.receiptsAdded === 4 && a.created);
    assert.ok(b !== undefined && !("error" in b) && b.receiptsAdded === 2);
    assert.equal((await store.getBatch(NS, "m", whole.batchRoot))?.receipts.length, 6);
    assert.equal(store.counts().receipts, 6);
    await store.close();
  });
});
