/**
 * Batch versions kept as their leaves (docs/STATE.md §Leaves form): `putBatches` takes a version as
 * its leaves and checkpoint, rebuilds the tree once and refuses leaves that do not give the signed
 * root before anything is written; every read derives the receipts and paths the leaves stand for,
 * identical to those a sealer makes (lib/merkle/tree.ts); files of receipts keep working beside them.
 */
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { after, describe, test } from "node:test";
import { ArgumentError, StoreError } from "../../lib/errors.js";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { inclusionProofs, merkleRoot, verifyInclusion } from "../../lib/merkle/index.js";
import { encodeLeaves } from "../../lib/messages/leaves.js";
import { parseProofFile, proofFile } from "../../lib/proof/file.js";
import { verifyProof } from "../../lib/proof/verify.js";
import type { Receipt, TreeKind } from "../../lib/receipt.js";
import { checkIntegrity, openStore } from "../../lib/store/index.js";
import { batchPath, layout } from "../../lib/store/layout.js";
import type { BatchInput } from "../../lib/store/types.js";
import { checkpointBy } from "../support/checkpoint.js";
import { hashOf } from "./sample.js";
import { snapshot, tempDir } from "./tree.js";

const NS = "acme:audit";
const ORIGIN = { did: "did:vm:node:leaves-origin", key: generateNodeKey() };
const dirs: Array<() => void> = [];
const fresh = (): string => {
  const t = tempDir("vmsh-leaves-");
  dirs.push(t.cleanup);
  return t.dir;
};
after(() => dirs.forEach((c) => c()));

/** A sealed version: its event hashes, root, checkpoint, and the receipts a sealer makes (paths from lib/merkle). */
function sealed(batchId: string, size: number, tree: TreeKind = "vmsh-dup-sha256", createdAt = 1_760_000_000) {
  const hashes = Array.from({ length: size }, (_, i) => hashOf(`leaf/${batchId}/${i}`));
  const batchRoot = merkleRoot(hashes, tree);
  const checkpoint = checkpointBy(ORIGIN, { namespace: NS, batchId, batchRoot, size, createdAt, tree });
  const receipts: Receipt[] = inclusionProofs(hashes, tree).map((proof, i) => ({ id: hashes[i]!, namespace: NS, batchId, batchRoot, eventHash: hashes[i]!, ts: createdAt, proof }));
  const asLeaves: BatchInput = { namespace: NS, batchId, batchRoot, createdAt, receipts: [], leaves: encodeLeaves(hashes), anchors: [], checkpoint };
  const asReceipts: BatchInput = { namespace: NS, batchId, batchRoot, createdAt, receipts, anchors: [], checkpoint };
  return { hashes, batchRoot, checkpoint, receipts, asLeaves, asReceipts };
}

const byId = (rs: readonly Receipt[]) => [...rs].sort((a, b) => (a.id < b.id ? -1 : 1));
/** The base64 of `text` with one bit of leaf `leaf` flipped: still canonical, still the right length. */
function flipLeaf(text: string, leaf: number): string {
  const bytes = Buffer.from(text, "base64");
  bytes[leaf * 32 + 5] = bytes[leaf * 32 + 5]! ^ 0x01;
  return bytes.toString("base64");
}

describe("store: a version kept as its leaves", () => {
  for (const tree of ["vmsh-dup-sha256", "rfc9162-sha256"] as const) {
    test(`${tree}: every receipt read back is the sealer's, path and all, for sizes 1 to 1,000`, async () => {
      const dir = fresh();
      const sizes = [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 16, 17, 31, 33, 100, 1000];
      const versions = sizes.map((n) => sealed(`b-${tree}-${n}`, n, tree));
      const store = await openStore(dir);
      const results = await store.putBatches(versions.map((v) => v.asLeaves));
      results.forEach((r, i) => assert.ok(!("error" in r) && r.written && r.receiptsAdded === sizes[i], `size ${sizes[i]}`));
      for (const v of versions) {
        const batch = await store.getBatch(NS, v.checkpoint.batchId, v.batchRoot, ORIGIN.did);
        assert.deepEqual(byId(batch!.receipts), byId(v.receipts));
        // A copy of the batch is a batch of receipts: the leaves do not ride along.
        assert.equal(JSON.parse(JSON.stringify(batch)).leaves, undefined);
        assert.equal({ ...batch! }.receipts.length, v.receipts.length);
        for (const r of v.receipts.slice(0, 40)) {
          const got = await store.getReceipt(NS, r.id);
          assert.deepEqual(got, r);
          assert.equal(verifyInclusion(got!).ok, true);
        }
      }
      assert.equal(store.counts().receipts, sizes.reduce((a, b) => a + b, 0));
      await store.close();
      // On disk: the leaves and the checkpoint, no receipt; FORMAT says 4.
      const big = versions.at(-1)!;
      const file = JSON.parse(readFileSync(batchPath(layout(dir), NS, big.checkpoint.batchId, big.batchRoot, ORIGIN.did), "utf8"));
      assert.deepEqual(file.receipts, []);
      assert.equal(file.leaves, big.asLeaves.leaves);
      assert.equal(JSON.parse(readFileSync(layout(dir).format, "utf8")).version, 4);
      // Opened again, eagerly or lazily, from the manifest or from the files: the same receipts.
      for (const receiptIndex of ["eager", "lazy"] as const) {
        const again = await openStore(dir, { receiptIndex, readOnly: true });
        assert.equal(again.openedFrom().get(NS)?.source, "manifest");
        await again.loadReceiptIndex();
        assert.deepEqual(byId(await again.getReceipts(NS, big.hashes)), byId(big.receipts));
        assert.equal(again.receiptCount(NS), sizes.reduce((a, b) => a + b, 0));
        await again.close();
      }
      const integrity = await checkIntegrity(dir);
      assert.deepEqual(integrity.problems, []);
      assert.equal(integrity.receipts, sizes.reduce((a, b) => a + b, 0));
    });
  }

  test("the receipts in (ts, id) order, by range and position, are derived alike", async () => {
    const dir = fresh();
    const a = sealed("a", 50, "rfc9162-sha256", 1_760_000_000);
    const b = sealed("b", 30, "vmsh-dup-sha256", 1_760_000_100);
    const store = await openStore(dir);
    await store.putBatches([a.asLeaves, b.asReceipts]);
    const all = await store.receiptsAt(NS, 0, 100);
    assert.deepEqual(all, [...byId(a.receipts), ...byId(b.receipts)]);
    assert.deepEqual(await store.receiptsInRange(NS, 1_760_000_000, 1_760_000_000), byId(a.receipts));
    await store.close();
  });

  test("a tampered leaf, a wrong count, bad base64, no checkpoint: refused with the reason, nothing written", async () => {
    const dir = fresh();
    const store = await openStore(dir);
    const held = sealed("held", 4);
    await store.putBatch(held.asLeaves);
    const before = snapshot(dir);
    const v = sealed("b1", 10);
    const refusals: Array<[string, BatchInput, RegExp]> = [
      ["a flipped bit in leaf 3", { ...v.asLeaves, leaves: flipLeaf(v.asLeaves.leaves!, 3) }, /^batch\.leaves: 10 leaves rebuild to the vmsh-dup-sha256 root sha256:[0-9a-f]{64}, but the checkpoint of batch b1 signs sha256:[0-9a-f]{64}; nothing of batch b1 is stored$/],
      ["two leaves swapped", { ...v.asLeaves, leaves: encodeLeaves([v.hashes[1]!, v.hashes[0]!, ...v.hashes.slice(2)]) }, /rebuild to the vmsh-dup-sha256 root .* but the checkpoint of batch b1 signs/],
      ["one leaf short", { ...v.asLeaves, leaves: encodeLeaves(v.hashes.slice(0, 9)) }, /^batch: "leaves" holds 384 base64 characters; 10 leaves are 428$/],
      ["one leaf more", { ...v.asLeaves, leaves: encodeLeaves([...v.hashes, v.hashes[0]!]) }, /^batch: "leaves" holds 472 base64 characters; 10 leaves are 428$/],
      ["non-canonical padding bits", { ...v.asLeaves, leaves: `${v.asLeaves.leaves!.slice(0, -2)}B=` }, /^batch: "leaves" is not canonical base64$/],
      ["a character outside base64", { ...v.asLeaves, leaves: `!${v.asLeaves.leaves!.slice(1)}` }, /^batch: "leaves" is not canonical base64$/],
      ["no checkpoint", { ...v.asLeaves, checkpoint: undefined }, /^batch: "leaves" needs a "checkpoint"$/],
      ["receipts beside leaves", { ...v.asLeaves, receipts: v.receipts.slice(0, 1) }, /^batch: "receipts" must be empty beside "leaves"$/],
      ["the leaves of another version", { ...v.asLeaves, leaves: sealed("other", 10).asLeaves.leaves }, /rebuild to the vmsh-dup-sha256 root/],
    ];
    for (const [what, input, message] of refusals) {
      await assert.rejects(store.putBatch(input), (e: unknown) => e instanceof ArgumentError && message.test(e.message), what);
      // Beside a good version in one transaction: that one goes in, the refused one leaves no trace.
      assert.deepEqual(snapshot(dir), before, what);
    }
    const [bad, good] = await store.putBatches([{ ...v.asLeaves, leaves: flipLeaf(v.asLeaves.leaves!, 0) }, sealed("b2", 3).asLeaves]);
    assert.ok("error" in bad! && /rebuild to/.test(bad.error.message));
    assert.ok(good !== undefined && !("error" in good) && good.receiptsAdded === 3);
    assert.equal(store.batchVersions(NS, "b1").length, 0);
    assert.equal(await store.getReceipt(NS, v.hashes[0]!), undefined);
    await store.close();
  });

  test("a leaves file tampered on disk: integrity names it, reads refuse it, nothing repairs it", async () => {
    const dir = fresh();
    const v = sealed("b1", 8, "rfc9162-sha256");
    const store = await openStore(dir);
    await store.putBatch(v.asLeaves);
    await store.close();
    const path = batchPath(layout(dir), NS, "b1", v.batchRoot, ORIGIN.did);
    const file = JSON.parse(readFileSync(path, "utf8"));
    writeFileSync(path, `${JSON.stringify({ ...file, leaves: flipLeaf(file.leaves, 6) })}\n`);
    const tampered = readFileSync(path, "utf8");
    const report = await checkIntegrity(dir);
    assert.equal(report.ok, false);
    assert.match(report.problems.join("\n"), /: 8 leaves rebuild to the rfc9162-sha256 root sha256:[0-9a-f]{64}, but the checkpoint of batch b1 signs /);
    const again = await openStore(dir);
    // Leaf 0 is untouched, but its path would come from leaves that do not make the root.
    await assert.rejects(again.getReceipt(NS, v.hashes[0]!), (e: unknown) => e instanceof StoreError && e.code === "STATE_CORRUPT" && e.path === path && /leaves rebuild to the rfc9162-sha256 root/.test(e.message));
    await assert.rejects(async () => (await again.getBatch(NS, "b1", v.batchRoot, ORIGIN.did))!.receipts, (e: unknown) => e instanceof StoreError && e.code === "STATE_CORRUPT");
    await again.close();
    assert.equal(readFileSync(path, "utf8"), tampered);
  });
});

describe("store: proofs of a version kept as its leaves", () => {
  for (const tree of ["vmsh-dup-sha256", "rfc9162-sha256"] as const) {
    test(`${tree}: a proof file exported from it verifies offline, receipt by receipt; one with a path from other leaves does not`, async () => {
      const dir = fresh();
      const v = sealed("b1", 25, tree);
      const store = await openStore(dir);
      await store.putBatch({ ...v.asLeaves, anchors: [{ batchId: "b1", batchRoot: v.batchRoot, chain: "eip155:8453", tx: `0x${"ab".repeat(32)}`, block: 1, ts: 1_760_000_100, outcome: "verified" }] });
      const policy = { namespaces: new Map([[NS, { origins: new Map([[ORIGIN.did, ORIGIN.key.publicKey]]) }]]) };
      const stored = (await store.getBatch(NS, "b1", v.batchRoot, ORIGIN.did))!;
      const version = { checkpoint: stored.checkpoint!, anchors: stored.anchors };
      for (const id of v.hashes) {
        const receipt = (await store.getReceipt(NS, id))!;
        const file = parseProofFile(JSON.parse(JSON.stringify(proofFile(receipt, version, "did:vm:node:exporter", 1_800_000_000))));
        const verdict = await verifyProof(file, policy, async () => ({ outcome: "verified" }));
        assert.equal(verdict.ok, true, `${id}: ${verdict.failure}`);
        assert.deepEqual(verdict.inclusion, { ok: true });
      }
      // The same receipt with the path of another leaf: the check that would catch a wrong derivation.
      const wrong = { ...(await store.getReceipt(NS, v.hashes[3]!))!, proof: (await store.getReceipt(NS, v.hashes[4]!))!.proof };
      const bad = await verifyProof(parseProofFile(JSON.parse(JSON.stringify(proofFile(wrong, version, "did:vm:node:exporter", 1_800_000_000)))), policy, async () => ({ outcome: "verified" }));
      assert.equal(bad.ok, false);
      await store.close();
    });
  }
});

describe("store: leaves beside files of receipts", () => {
  test("a version held as receipts (part of them) takes its leaves: it becomes one file of leaves, no receipt lost", async () => {
    const dir = fresh();
    const v = sealed("b1", 20);
    const store = await openStore(dir);
    await store.putBatch({ ...v.asReceipts, receipts: v.receipts.slice(3, 9) });
    const r = await store.putBatch(v.asLeaves);
    assert.equal(r.receiptsAdded, 14);
    assert.equal(store.receiptCount(NS), 20);
    assert.deepEqual(byId((await store.getBatch(NS, "b1", v.batchRoot, ORIGIN.did))!.receipts), byId(v.receipts));
    const file = JSON.parse(readFileSync(batchPath(layout(dir), NS, "b1", v.batchRoot, ORIGIN.did), "utf8"));
    assert.equal(file.leaves, v.asLeaves.leaves);
    // The same leaves again, or receipts it holds: nothing to write.
    assert.equal((await store.putBatch(v.asLeaves)).written, false);
    assert.equal((await store.putBatch(v.asReceipts)).written, false);
    await store.close();
  });

  test("a version whose stored receipts the leaves do not place (another index) stays receipts and gains the derived ones", async () => {
    const dir = fresh();
    const v = sealed("b1", 6);
    const store = await openStore(dir);
    // A stored copy claiming leaf 0 sits at index 5: the store keeps it as it is, never rewrites it.
    const odd: Receipt = { ...v.receipts[0]!, proof: { ...v.receipts[5]!.proof } };
    await store.putBatch({ ...v.asReceipts, receipts: [odd] });
    const r = await store.putBatch(v.asLeaves);
    assert.equal(r.receiptsAdded, 5);
    const file = JSON.parse(readFileSync(batchPath(layout(dir), NS, "b1", v.batchRoot, ORIGIN.did), "utf8"));
    assert.equal(file.leaves, undefined);
    assert.equal(file.receipts.length, 6);
    assert.deepEqual(await store.getReceipt(NS, v.hashes[0]!), odd);
    assert.deepEqual(byId(await store.getReceipts(NS, v.hashes.slice(1))), byId(v.receipts.slice(1)));
    await store.close();
  });

  test("a receipt beyond a version's leaves turns the file into receipts, every leaf's receipt kept", async () => {
    const dir = fresh();
    const v = sealed("b1", 5);
    const store = await openStore(dir);
    await store.putBatch(v.asLeaves);
    const stray: Receipt = { ...v.receipts[0]!, id: hashOf("stray"), eventHash: hashOf("stray") };
    const r = await store.putBatch({ ...v.asReceipts, receipts: [stray] });
    assert.equal(r.receiptsAdded, 1);
    const file = JSON.parse(readFileSync(batchPath(layout(dir), NS, "b1", v.batchRoot, ORIGIN.did), "utf8"));
    assert.equal(file.leaves, undefined);
    assert.deepEqual(byId(file.receipts), byId([...v.receipts, stray]));
    assert.equal(store.receiptCount(NS), 6);
    await store.close();
  });

  test("a state directory of format 3 (receipts only) opens and reads as before, and FORMAT stays 3 until a leaves file is written", async () => {
    const dir = fresh();
    const v = sealed("b1", 7);
    const store = await openStore(dir);
    await store.putBatch(v.asReceipts);
    await store.close();
    assert.equal(JSON.parse(readFileSync(layout(dir).format, "utf8")).version, 3);
    const again = await openStore(dir);
    assert.deepEqual(byId(await again.getReceipts(NS, v.hashes)), byId(v.receipts));
    await again.putBatch(sealed("b2", 2).asLeaves);
    await again.close();
    assert.equal(JSON.parse(readFileSync(layout(dir).format, "utf8")).version, 4);
  });

  test("anchors and cosignature writes keep a leaves file a leaves file", async () => {
    const dir = fresh();
    const v = sealed("b1", 9);
    const store = await openStore(dir);
    await store.putBatch(v.asLeaves);
    await store.putAnchors(NS, "b1", [{ batchId: "b1", batchRoot: v.batchRoot, chain: "eip155:8453", tx: "0x01", block: 1, ts: 1_760_000_100, outcome: "pending" }], ORIGIN.did);
    const file = JSON.parse(readFileSync(batchPath(layout(dir), NS, "b1", v.batchRoot, ORIGIN.did), "utf8"));
    assert.equal(file.leaves, v.asLeaves.leaves);
    assert.equal(file.anchors.length, 1);
    assert.deepEqual(byId((await store.getBatch(NS, "b1", v.batchRoot, ORIGIN.did))!.receipts), byId(v.receipts));
    await store.close();
  });
});
