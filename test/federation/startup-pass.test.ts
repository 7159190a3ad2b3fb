/**
 * The start-up pass (docs/STATE.md §Start-up pass): the store's open reads every batch file once,
 * and the reconcile items (lib/reconcile/namespace-indexes.ts) and the origin-log backfill
 * (lib/origin-log/backfill.ts) take what they need of each version from that read instead of
 * reading every file again; a version whose file changed since is read from its file. Counted,
 * never timed: file reads of the index, `getBatch` calls, and, for a real `serve`, every batch
 * file read through an fs hook in the child process.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { StartupPass } from "../../lib/federation/startup-pass.js";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { merkleRoot, receiptsForBatch } from "../../lib/merkle/index.js";
import { encodeLeaves } from "../../lib/messages/leaves.js";
import { backfillOriginLog } from "../../lib/origin-log/backfill.js";
import { OriginLog } from "../../lib/origin-log/origin-log.js";
import { NamespaceIndexes } from "../../lib/reconcile/namespace-indexes.js";
import { openStore, type Store } from "../../lib/store/index.js";
import { checkpointBy } from "../support/checkpoint.js";
import { MESH_NAMESPACE } from "../support/mesh.js";
import { seedStore } from "../support/seed-store.js";
import { useMesh } from "../support/use-mesh.js";
import { tempDir } from "../store/tree.js";
import { sampleBatch } from "../store/sample.js";

const NS = "acme/audit";
const ME = { did: "did:vm:node:me", key: generateNodeKey() };
const OTHER = { did: "did:vm:node:other", key: generateNodeKey() };
/** Versions of ME: five of receipts with paths, one kept as its leaves. */
const MINE = 6;
/** Every version: MINE, plus one of OTHER held without all its receipts. */
const VERSIONS = MINE + 1;

/** A version kept as its leaves (docs/STATE.md §Leaves form): a real tree, so the store takes it. */
function leavesVersion(batchId: string, createdAt: number) {
  const leaves = Array.from({ length: 8 }, (_, i) => `sha256:${(i + 1).toString(16).padStart(64, "0")}`);
  const root = merkleRoot(leaves, "vmsh-dup-sha256");
  return { namespace: NS, batchId, batchRoot: root, createdAt, receipts: [], leaves: encodeLeaves(leaves), anchors: [], checkpoint: checkpointBy(ME, { namespace: NS, batchId, batchRoot: root, size: 8, createdAt }) };
}

/** A state directory holding VERSIONS versions (claims of each verdict, a leaves version, an incomplete one), closed. */
async function seeded(): Promise<{ dir: string; cleanup: () => void }> {
  const t = tempDir();
  const store = await openStore(t.dir);
  try {
    for (let k = 0; k < 5; k++) {
      const outcome = (["verified", "pending", "rejected"] as const)[k % 3]!;
      const b = sampleBatch({ namespace: NS, batchId: `b${k}`, size: 4, seed: `s${k}`, createdAt: 1_732_000_000 + k, anchors: [{ outcome, reason: outcome === "rejected" ? "no" : undefined }] });
      await store.putBatch({ ...b, checkpoint: checkpointBy(ME, { namespace: NS, batchId: b.batchId, batchRoot: b.batchRoot, size: 4, createdAt: b.createdAt }) });
    }
    await store.putBatch(leavesVersion("leaves", 1_732_000_010));
    const partial = sampleBatch({ namespace: NS, batchId: "partial", size: 6, seed: "p", createdAt: 1_732_000_020 });
    await store.putBatch({ ...partial, receipts: partial.receipts.slice(0, 3), checkpoint: checkpointBy(OTHER, { namespace: NS, batchId: "partial", batchRoot: partial.batchRoot, size: 6, createdAt: partial.createdAt }) });
  } finally {
    await store.close();
  }
  return t;
}

/** Counts `store.getBatch` calls. */
function countGetBatch(store: Store): { calls: number } {
  const counter = { calls: 0 };
  const original = store.getBatch.bind(store);
  store.getBatch = (...args: Parameters<Store["getBatch"]>) => {
    counter.calls++;
    return original(...args);
  };
  return counter;
}

/** The reconcile index of NS after one prepare, as (size, fingerprint). */
async function prepared(indexes: NamespaceIndexes): Promise<[number, unknown]> {
  await indexes.prepare(NS);
  const index = indexes.get(NS);
  return [index.size, index.fingerprint(0, index.size)];
}

describe("start-up pass: one read of every batch file feeds the reconcile items and the origin-log backfill", () => {
  test("items: taken from the open's read (no file read), equal to those read from the files, from a manifest open and a full scan alike", async () => {
    const t = await seeded();
    try {
      for (const how of ["manifest", "scan"] as const) {
        if (how === "scan") rmSync(join(t.dir, "v1", "namespaces", "x" + Buffer.from(NS).toString("hex"), "manifest.json"));
        const pass = new StartupPass();
        const store = await openStore(t.dir, { onBatchFileRead: pass.hear });
        try {
          assert.equal(store.openedFrom().get(NS)?.source, how === "manifest" ? "manifest" : "files");
          assert.equal(pass.heard, VERSIONS, `${how}: each batch file handed over once by the open's read`);
          const fromPass = new NamespaceIndexes(store, pass);
          const fromFiles = new NamespaceIndexes(store);
          const [a, b] = [await prepared(fromPass), await prepared(fromFiles)];
          assert.equal(fromPass.fileReads, 0, `${how}: no batch file read again for the items`);
          assert.equal(fromFiles.fileReads, VERSIONS);
          assert.deepEqual(a, b, `${how}: the same reconcile index as reading every file`);
          // 4×5 + 8 + 3 receipts; per version a checkpoint, one claim each for the five, a complete
          // mark for each complete version (the incomplete one's is held only, not reconciled).
          assert.equal(a[0], 31 + VERSIONS + 5 + (VERSIONS - 1));
          fromPass.close();
          fromFiles.close();
        } finally {
          await store.close();
        }
      }
    } finally {
      t.cleanup();
    }
  });

  test("items: a version rewritten after the open's read is read from its file, and the index matches the files", async () => {
    const t = await seeded();
    try {
      const pass = new StartupPass();
      const store = await openStore(t.dir, { onBatchFileRead: pass.hear });
      try {
        const b1 = store.listBatches(NS).find((s) => s.batchId === "b1")!;
        const claim = (await store.getBatch(NS, "b1", b1.batchRoot))!.anchors[0]!;
        // A new verdict rewrites the file: its identity moves on, what the open read of it is stale.
        await store.putAnchors(NS, "b1", [{ ...claim, outcome: "verified", reason: undefined }]);
        const bogus = { ...claim, block: 99, outcome: "rejected" as const, reason: "not in block 99" };
        await store.putAnchors(NS, "b1", [bogus]);
        assert.equal(pass.items(store.listBatches(NS).find((s) => s.batchId === "b1")!), undefined);
        const fromPass = new NamespaceIndexes(store, pass);
        const fromFiles = new NamespaceIndexes(store);
        assert.deepEqual(await prepared(fromPass), await prepared(fromFiles));
        assert.equal(fromPass.fileReads, 1, "only the rewritten version is read");
        pass.release();
        const afterRelease = new NamespaceIndexes(store, pass);
        await prepared(afterRelease);
        assert.equal(afterRelease.fileReads, VERSIONS, "released: every file is read again");
        for (const x of [fromPass, fromFiles, afterRelease]) x.close();
      } finally {
        await store.close();
      }
    } finally {
      t.cleanup();
    }
  });

  test("released, the pass is heard no more: a file another process rewrites later builds nothing for it", async () => {
    const t = await seeded();
    try {
      const pass = new StartupPass();
      let calls = 0;
      const store = await openStore(t.dir, { onBatchFileRead: (read) => (calls++, pass.hear(read)) });
      const other = await openStore(t.dir);
      try {
        assert.equal(calls, VERSIONS, "the open's read of every file");
        pass.release();
        for (const block of [97, 98, 99]) {
          const b1 = other.listBatches(NS).find((s) => s.batchId === "b1")!;
          const claim = (await other.getBatch(NS, "b1", b1.batchRoot))!.anchors[0]!;
          await other.putAnchors(NS, "b1", [{ ...claim, block, outcome: "rejected" as const, reason: `not in block ${block}` }]);
          await store.refresh();
          assert.equal(store.listBatches(NS).find((s) => s.batchId === "b1")!.fileIdentity, other.listBatches(NS).find((s) => s.batchId === "b1")!.fileIdentity, "the rewrite was read");
        }
        assert.equal(calls, VERSIONS + 1, "one call after the release, answered false, then none");
        assert.equal(pass.heard, VERSIONS);
      } finally {
        await other.close();
        await store.close();
      }
    } finally {
      t.cleanup();
    }
  });

  test("backfill: this node's checkpoints from the open's read (no getBatch), the same log as reading the files; a rewritten version is read", async () => {
    const t = await seeded();
    const copy = tempDir();
    try {
      cpSync(t.dir, copy.dir, { recursive: true });
      const pass = new StartupPass();
      const store = await openStore(t.dir, { onBatchFileRead: pass.hear });
      const plain = await openStore(copy.dir);
      try {
        const withPass = countGetBatch(store);
        const withFiles = countGetBatch(plain);
        const log = await OriginLog.open(t.dir, ME.did, ME.key);
        const logFromFiles = await OriginLog.open(copy.dir, ME.did, ME.key);
        assert.equal(await backfillOriginLog(store, log, ME.did, pass), MINE);
        assert.equal(await backfillOriginLog(plain, logFromFiles, ME.did), MINE);
        assert.equal(withPass.calls, 0, "no batch file read again for the backfill");
        assert.equal(withFiles.calls, MINE);
        assert.equal(log.head.size, MINE);
        assert.deepEqual(Buffer.from(log.head.rootHash), Buffer.from(logFromFiles.head.rootHash), "the same entries in the same order");

        // A version rewritten since the open's read: its checkpoint is read from the file.
        const b0 = store.listBatches(NS).find((s) => s.batchId === "b0")!;
        const claim = (await store.getBatch(NS, "b0", b0.batchRoot))!.anchors[0]!;
        await store.putAnchors(NS, "b0", [{ ...claim, outcome: "rejected", reason: "re-checked" }]);
        withPass.calls = 0;
        assert.equal(await backfillOriginLog(store, log, ME.did, pass), 0);
        assert.equal(withPass.calls, 1, "only the rewritten version's file");
      } finally {
        await store.close();
        await plain.close();
      }
    } finally {
      t.cleanup();
      copy.cleanup();
    }
  });
});

describe("start-up pass: a real serve reads each batch file once at start", () => {
  const BATCHES = 20;
  const scratch = tempDir("vmsh-startup-reads-");
  after(() => scratch.cleanup());
  const reads = join(scratch.dir, "reads");
  const mesh = useMesh([{ name: "a", routes: [] }], { env: { VMSH_TEST_BATCH_READS_FILE: reads } });
  const hook = new URL("../support/count-batch-reads.js", import.meta.url).href;

  test("serve over 20 batches × 100 receipts: the index, the reconcile items and the backfill together read each batch file once, the reconcile index is built before listening; a restart reads each once again", async () => {
    const a = mesh.node("a");
    await a.stop();
    await seedStore(a.stateDir, mesh.tsa, { namespace: MESH_NAMESPACE, origin: { did: a.did, keyFile: join(a.configDir, "keys", "node.key") }, batches: BATCHES, receiptsPerBatch: 100 });
    for (const run of ["first", "restart"] as const) {
      writeFileSync(reads, "");
      await a.start({ nodeArgs: ["--import", hook] });
      // The first start's backfill says when it is done (a build without the pass too); a stop then
      // waits for the background work still running (the reconcile items).
      if (run === "first") assert.match(await a.waitForLog(/checkpoints added to this node's origin log/, 60_000), new RegExp(`"added":${BATCHES}\\b`));
      else await a.waitForLog(/start-up work done/, 60_000);
      await a.stop();
      const paths = readFileSync(reads, "utf8").split("\n").filter((l) => l !== "");
      assert.equal(new Set(paths).size, BATCHES, `${run}: every batch file read`);
      assert.equal(paths.length, BATCHES, `${run}: each batch file read once (${paths.length} reads)`);
      const done = JSON.parse(a.logs.find((l) => /start-up work done/.test(l)) ?? "{}") as { versionsReadAtOpen?: number; itemFilesRead?: number; indexesBuiltBeforeListening?: number };
      assert.equal(done.indexesBuiltBeforeListening, 1, "the namespace's reconcile index was built before listening");
      assert.equal(done.versionsReadAtOpen, BATCHES);
      assert.equal(done.itemFilesRead, 0);
    }
    assert.equal(a.logs.some((l) => /checkpoints added/.test(l)), false, "the restart finds every checkpoint logged");
  });
});

describe("start-up pass: a prepare that takes its items from memory lets other work run", () => {
  test("prepare over 600 versions known in memory yields to the event loop between runs of 256 versions", async () => {
    const summaries = Array.from({ length: 600 }, (_, k) => ({ namespace: NS, batchId: `b${k}`, batchRoot: `sha256:${k.toString(16).padStart(64, "0")}`, createdAt: 1_732_000_000 + k, receiptCount: 0, anchorCount: 0, cosignatureCount: 0, fileIdentity: `id-${k}`, outcomes: { verified: 0, pending: 0, rejected: 0 }, equivocal: false }));
    let fileReads = 0;
    const source = {
      receiptKeys: () => [],
      receiptCount: () => 0,
      onReceiptsAdded: () => () => undefined,
      listBatches: () => summaries,
      getBatch: () => {
        fileReads++;
        return Promise.resolve(undefined);
      },
    };
    const known = { items: (s: (typeof summaries)[number]) => [{ ts: s.createdAt, id: `sha256:${"0".repeat(60)}${s.batchId.slice(1).padStart(4, "0")}`, kind: "claim" as const, batchId: s.batchId, batchRoot: s.batchRoot, digest: "sha256:00" }] };
    const indexes = new NamespaceIndexes(source, known);
    let turns = 0;
    let done = false;
    const tick = () => {
      turns++;
      if (!done) setImmediate(tick);
    };
    setImmediate(tick);
    await indexes.prepare(NS);
    done = true;
    assert.equal(fileReads, 0);
    assert.equal(indexes.get(NS).size, 600);
    assert.ok(turns >= 2, `other work ran ${turns} times during the prepare`);
    indexes.close();
  });
});
