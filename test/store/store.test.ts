/**
 * Behaviour of the state store through its public API (docs/STATE.md).
 */
import { generateNodeKey } from "../../lib/identity/keys.js";
import { checkpointBy } from "../support/checkpoint.js";
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { after, describe, test } from "node:test";
import { ArgumentError, StoreError } from "../../lib/errors.js";
import { claimDigest } from "../../lib/conflict/index.js";
import { readFile, writeFile } from "node:fs/promises";
import { batchPath, layout } from "../../lib/store/layout.js";
import { openStore, type ReceiptKey } from "../../lib/store/index.js";
import { NamespaceIndexes } from "../../lib/reconcile/namespace-indexes.js";
import { versionLot } from "../../lib/store/namespace-state.js";
import { fixturePath } from "../support/repo-root.js";
import { sampleBatch } from "./sample.js";
import { tempDir } from "./tree.js";

const NS = "acme/audit";
const dirs: Array<() => void> = [];
after(() => dirs.forEach((cleanup) => cleanup()));
function fresh(): string {
  const t = tempDir();
  dirs.push(t.cleanup);
  return t.dir;
}

describe("store: batches", () => {
  test("putBatch: another origin's checkpoint of a stored root is a version of its own, in a file named after that origin", async () => {
    const dir = fresh();
    const store = await openStore(dir);
    const first = { did: "did:vm:node:origin", key: generateNodeKey() };
    const second = { did: "did:vm:node:origin-2", key: generateNodeKey() };
    const genuine = sampleBatch({ batchId: "b1", size: 3 });
    const front = { ...sampleBatch({ batchId: "b1", size: 3, createdAt: 1_731_999_000 }), receipts: [], anchors: [] };
    front.checkpoint = checkpointBy(second, { namespace: NS, batchId: "b1", batchRoot: front.batchRoot, size: 3, createdAt: front.createdAt });
    genuine.checkpoint = checkpointBy(first, { namespace: NS, batchId: "b1", batchRoot: genuine.batchRoot, size: 3, createdAt: genuine.createdAt });
    assert.equal((await store.putBatch(front)).created, true);
    const put = await store.putBatch(genuine);
    assert.deepEqual([put.created, put.receiptsAdded, put.equivocal], [true, 3, false], "no createdAt clash: it is not the same version");
    assert.ok(statSync(batchPath(layout(dir), NS, "b1", genuine.batchRoot, first.did)).isFile());
    assert.ok(statSync(batchPath(layout(dir), NS, "b1", genuine.batchRoot, second.did)).isFile());
    assert.equal((await store.getBatch(NS, "b1", genuine.batchRoot, first.did))!.receipts.length, 3);
    assert.equal((await store.getBatch(NS, "b1", genuine.batchRoot, second.did))!.createdAt, 1_731_999_000);
    assert.equal(store.batchVersions(NS, "b1").length, 2);
    assert.equal(store.counts().equivocations, 0);
    assert.deepEqual(JSON.parse(readFileSync(layout(dir).format, "utf8")), { format: "vmsh-federation-state", version: 3 });
    await store.close();
    const reopened = await openStore(dir, { readOnly: true });
    assert.deepEqual(reopened.batchVersions(NS, "b1", genuine.batchRoot).map((v) => v.origin).sort(), [first.did, second.did]);
    await reopened.close();
  });

  test("receipts: an event held by two versions is served from the active one; a version turning active takes over its receipts, and listeners and the reconcile index follow", async () => {
    const dir = fresh();
    const store = await openStore(dir);
    const genuine = { did: "did:vm:node:origin", key: generateNodeKey() };
    const real = sampleBatch({ batchId: "b-real", size: 2, createdAt: 1_732_000_500, anchors: [{ outcome: "pending" }] });
    const held = { ...sampleBatch({ batchId: "b-held", size: 1, createdAt: 1_732_000_000 }) };
    // Copies of equal rank go by lot (origin and root), never by ts: an origin whose lot comes first, so the takeover below shows.
    let n = 2;
    while (versionLot({ origin: `did:vm:node:origin-${n}`, batchRoot: held.batchRoot }) > versionLot({ origin: genuine.did, batchRoot: real.batchRoot })) n++;
    const other = { did: `did:vm:node:origin-${n}`, key: generateNodeKey() };
    // The held batch holds the real batch's first event, 500 s earlier.
    held.receipts = [{ ...real.receipts[0]!, batchId: "b-held", batchRoot: held.batchRoot, ts: held.createdAt }];
    real.checkpoint = checkpointBy(genuine, { namespace: NS, batchId: "b-real", batchRoot: real.batchRoot, size: 2, createdAt: real.createdAt });
    held.checkpoint = checkpointBy(other, { namespace: NS, batchId: "b-held", batchRoot: held.batchRoot, size: 1, createdAt: held.createdAt });
    await store.putBatch(real);
    await store.putBatch(held);
    const id = real.receipts[0]!.id;
    const indexes = new NamespaceIndexes(store);
    assert.equal(indexes.get(NS).size, 2);
    assert.equal((await store.getReceipt(NS, id))!.batchId, "b-held", "neither is active: the copy whose version's lot comes first is served");
    const heard: ReceiptKey[] = [];
    store.onReceiptsAdded((_ns, keys) => heard.push(...keys));
    const { reason: _pending, ...anchor } = real.anchors[0]!;
    await store.putAnchors(NS, "b-real", [{ ...anchor, outcome: "verified" }]);
    assert.equal((await store.getReceipt(NS, id))!.batchId, "b-real", "the active version's copy is served");
    assert.equal(store.receiptVersion(NS, id)!.origin, genuine.did);
    assert.deepEqual((await store.getReceiptCopies(NS, [id, "sha256:00"])).map((c) => [c.receipt.batchId, c.version.origin]), [["b-real", genuine.did], ["b-held", other.did]], "every version's copy, the served one first; unknown ids skipped");
    assert.deepEqual(store.receiptVersions(NS, id).map((v) => v.batchId), ["b-real", "b-held"]);
    assert.deepEqual(heard.map((k) => [k.ts, k.id]), [[real.createdAt, id]], "listeners hear the key that entered the order");
    assert.deepEqual(store.receiptKeys(NS).map((k) => [k.ts, k.id]).sort(), [[real.createdAt, id], [real.createdAt, real.receipts[1]!.id]].sort());
    assert.equal(store.receiptCount(NS), 2);
    assert.equal(indexes.get(NS).size, store.receiptCount(NS), "the reconcile index rebuilt from the store's keys");
    indexes.close();
    await store.close();
    const reopened = await openStore(dir, { readOnly: true });
    assert.equal((await reopened.getReceipt(NS, id))!.batchId, "b-real", "the same choice after a reopen");
    await reopened.close();
  });

  test("open: a format 2 file <batchRoot>.json holding a checkpoint is that origin's version; a new origin's version is filed beside it", async () => {
    const dir = fresh();
    const origin = { did: "did:vm:node:origin", key: generateNodeKey() };
    const batch = sampleBatch({ batchId: "b1", size: 2 });
    batch.checkpoint = checkpointBy(origin, { namespace: NS, batchId: "b1", batchRoot: batch.batchRoot, size: 2, createdAt: batch.createdAt });
    // A 0.1.0 version without checkpoint, written where 0.1.0 and format 2 put every version, then given its checkpoint in place.
    let store = await openStore(dir);
    await store.putBatch({ ...batch, checkpoint: undefined });
    await store.putBatch(batch);
    await store.close();
    const legacy = batchPath(layout(dir), NS, "b1", batch.batchRoot);
    assert.equal(JSON.parse(readFileSync(legacy, "utf8")).checkpoint.origin, origin.did, "the 0.1.0 file gained its checkpoint where it was");
    store = await openStore(dir);
    assert.equal((await store.getBatch(NS, "b1", batch.batchRoot, origin.did))!.receipts.length, 2);
    assert.equal((await store.putBatch(batch)).written, false, "the same version again: nothing written, no second file");
    await store.close();
  });

  test("putBatch: stores a batch and reads back its receipts, anchors and summary", async () => {
    const dir = fresh();
    const store = await openStore(dir);
    const batch = sampleBatch({ batchId: "b1", size: 5, anchors: [{}, { chain: "btc:mainnet", outcome: "verified", reason: undefined, evidence: { blockHash: "00ab", confirmations: 6 } }] });
    const r = await store.putBatch(batch);
    assert.deepEqual(r, { written: true, created: true, receiptsAdded: 5, anchorsChanged: 2, equivocal: false });
    const stored = await store.getBatch(NS, "b1", batch.batchRoot);
    const plainBatch = JSON.parse(JSON.stringify(batch)) as typeof batch;
    assert.deepEqual(stored, { ...plainBatch, anchors: plainBatch.anchors.map((a) => ({ ...a, digest: claimDigest(a) })) });
    assert.deepEqual(await store.getReceipt(NS, batch.receipts[2]!.id), batch.receipts[2]);
    assert.equal(await store.getReceipt(NS, "sha256:00"), undefined);
    assert.deepEqual(store.namespaces(), [NS]);
    assert.deepEqual(store.listBatches(NS).map((b) => [b.batchId, b.receiptCount, b.anchorCount, b.outcomes, b.equivocal]), [["b1", 5, 2, { verified: 1, pending: 1, rejected: 0 }, false]]);
    assert.deepEqual(store.counts(), { namespaces: 1, batches: 1, receipts: 5, anchors: { verified: 1, pending: 1, rejected: 0 }, equivocations: 0 });
    assert.equal((await store.anchors(NS, "b1")).length, 2);
    await store.close();
  });

  test("putBatch: re-putting the same data reports nothing written and leaves the file untouched", async () => {
    const dir = fresh();
    const store = await openStore(dir);
    const batch = sampleBatch({ batchId: "b1", size: 8, anchors: [{}] });
    await store.putBatch(batch);
    const file = batchPath(layout(dir), NS, "b1", batch.batchRoot);
    const before = statSync(file, { bigint: true });
    const r = await store.putBatch(structuredClone(batch));
    assert.equal(r.written, false);
    assert.equal(r.receiptsAdded, 0);
    const afterStat = statSync(file, { bigint: true });
    assert.equal(afterStat.ino, before.ino);
    assert.equal(afterStat.mtimeNs, before.mtimeNs);
    await store.close();
  });

  test("putBatch: adds new receipts and replaces a changed anchor outcome in a stored batch", async () => {
    const store = await openStore(fresh());
    const full = sampleBatch({ batchId: "b1", size: 6, anchors: [{}] });
    await store.putBatch({ ...full, receipts: full.receipts.slice(0, 3) });
    const verifiedAnchor = { ...full.anchors[0]!, outcome: "verified" as const, reason: undefined, evidence: { confirmations: 12 } };
    const r = await store.putBatch({ ...full, anchors: [verifiedAnchor] });
    assert.equal(r.receiptsAdded, 3);
    assert.equal(r.anchorsChanged, 1);
    assert.equal(store.receiptCount(NS), 6);
    const anchors = await store.anchors(NS, "b1");
    assert.equal(anchors.length, 1);
    assert.equal(anchors[0]!.outcome, "verified");
    assert.equal(anchors[0]!.reason, undefined);
    assert.deepEqual(store.counts().anchors, { verified: 1, pending: 0, rejected: 0 });
    await store.close();
  });

  test("putBatch: keeps both versions of an equivocating batchId and flags them", async () => {
    const dir = fresh();
    const store = await openStore(dir);
    const a = sampleBatch({ batchId: "b1", size: 3, seed: "honest" });
    const b = sampleBatch({ batchId: "b1", size: 4, seed: "liar" });
    const other = sampleBatch({ batchId: "b1", size: 2, seed: "other-origin" });
    // Equivocation is one origin's two signed checkpoints (docs/FEDERATION_SEMANTICS.md §Equivocation).
    const origin = { did: "did:vm:node:origin", key: generateNodeKey() };
    const cp = (x: typeof a, by = origin) => checkpointBy(by, { namespace: NS, batchId: x.batchId, batchRoot: x.batchRoot, size: x.receipts.length, createdAt: x.createdAt });
    a.checkpoint = cp(a);
    b.checkpoint = cp(b);
    other.checkpoint = cp(other, { did: "did:vm:node:origin-2", key: generateNodeKey() });
    assert.equal((await store.putBatch(a)).equivocal, false);
    assert.equal((await store.putBatch(other)).equivocal, false, "another origin's batch of the same id is no equivocation");
    assert.equal((await store.putBatch(b)).equivocal, true);
    const versions = await store.getBatchVersions(NS, "b1");
    assert.deepEqual(versions.map((v) => v.batchRoot).sort(), [a.batchRoot, b.batchRoot, other.batchRoot].sort());
    assert.deepEqual(store.equivocations(), [{ namespace: NS, batchId: "b1", origin: origin.did, batchRoots: [a.batchRoot, b.batchRoot].sort() }]);
    assert.equal(store.counts().equivocations, 1);
    assert.equal(store.receiptCount(NS), 9);
    await store.close();
    const reopened = await openStore(dir, { readOnly: true });
    assert.deepEqual(reopened.listBatches(NS).map((s) => s.equivocal).sort(), [false, true, true]);
    assert.deepEqual((await reopened.getBatch(NS, "b1", a.batchRoot))?.receipts, a.receipts);
    await reopened.close();
  });

  test("putBatch: rejects a receipt filed under another batch, naming the field", async () => {
    const store = await openStore(fresh());
    const batch = sampleBatch({ batchId: "b1", size: 2 });
    batch.receipts[1] = { ...batch.receipts[1]!, batchId: "other" };
    await assert.rejects(store.putBatch(batch), (e: unknown) => e instanceof ArgumentError && /receipts\[1\]\.batchId/.test(e.message));
    const late = sampleBatch({ batchId: "b2", size: 2 });
    late.receipts[0] = { ...late.receipts[0]!, ts: late.createdAt + 1 };
    await assert.rejects(store.putBatch(late), (e: unknown) => e instanceof ArgumentError && /receipts\[0\]\.ts/.test(e.message));
    assert.equal(store.counts().batches, 0);
    await store.close();
  });

  test("putBatch: refuses a createdAt that differs from the one fixed at first ingestion", async () => {
    const store = await openStore(fresh());
    await store.putBatch(sampleBatch({ batchId: "b1", size: 2, createdAt: 100 }));
    const moved = sampleBatch({ batchId: "b1", size: 2, createdAt: 200 });
    await assert.rejects(store.putBatch(moved), (e: unknown) => e instanceof ArgumentError && /batch\.createdAt/.test(e.message));
    assert.deepEqual(store.receiptKeys(NS).map((k) => k.ts), [100, 100]);
    await store.close();
  });

  test("putAnchors: routes records to their batchRoot, merges by (chain, tx), and refuses an unknown version", async () => {
    const store = await openStore(fresh());
    const batch = sampleBatch({ batchId: "b1", size: 2, anchors: [{}] });
    await store.putBatch(batch);
    const rejected = { ...batch.anchors[0]!, outcome: "rejected" as const, reason: "no BatchAnchored log" };
    const added = { ...batch.anchors[0]!, chain: "rfc3161:freetsa", tx: "tsa-1", block: 0 };
    const r = await store.putAnchors(NS, "b1", [rejected, added]);
    assert.deepEqual([r.written, r.anchorsChanged], [true, 2]);
    assert.deepEqual((await store.anchors(NS, "b1")).map((a) => [a.chain, a.outcome]), [["eip155:8453", "rejected"], ["rfc3161:freetsa", "pending"]]);
    assert.equal((await store.putAnchors(NS, "b1", [rejected])).written, false);
    const stranger = { ...added, batchRoot: sampleBatch({ batchId: "b1", size: 1, seed: "x" }).batchRoot };
    await assert.rejects(store.putAnchors(NS, "b1", [{ ...rejected, outcome: "verified" }, stranger]), (e: unknown) => e instanceof StoreError && e.code === "BATCH_NOT_FOUND");
    assert.equal((await store.anchors(NS, "b1"))[0]!.outcome, "rejected");
    await store.close();
  });

  test("anchors: records written without a digest (before claims were keyed by it) open and get theirs on read", async () => {
    const dir = fresh();
    let store = await openStore(dir);
    const batch = sampleBatch({ batchId: "b1", size: 2, anchors: [{}] });
    await store.putBatch(batch);
    await store.close();
    const path = batchPath(layout(dir), NS, "b1", batch.batchRoot);
    const file = JSON.parse(await readFile(path, "utf8"));
    assert.equal(typeof file.anchors[0].digest, "string", "written with its digest");
    delete file.anchors[0].digest;
    await writeFile(path, JSON.stringify(file));
    store = await openStore(dir);
    const [read] = await store.anchors(NS, "b1");
    assert.equal(read!.digest, claimDigest(batch.anchors[0]!));
    // A verdict update finds the legacy record by its digest and replaces it, adding nothing.
    const r = await store.putAnchors(NS, "b1", [{ ...batch.anchors[0]!, outcome: "rejected", reason: "re-checked" }]);
    assert.deepEqual([r.written, r.anchorsChanged], [true, 1]);
    assert.deepEqual((await store.anchors(NS, "b1")).map((a) => a.outcome), ["rejected"]);
    await store.close();
  });

  test("putAnchors: a differing claim under a stored (chain, tx) is a record of its own; a digest the caller sets is derived again, never trusted", async () => {
    const store = await openStore(fresh());
    const batch = sampleBatch({ batchId: "b1", size: 2, anchors: [{}] });
    await store.putBatch(batch);
    const own = batch.anchors[0]!;
    const differing = { ...own, block: own.block + 1, outcome: "rejected" as const, reason: "not in that block" };
    assert.equal((await store.putAnchors(NS, "b1", [differing])).anchorsChanged, 1);
    const held = await store.anchors(NS, "b1");
    assert.deepEqual(held.map((a) => [a.block, a.outcome]).sort(), [[own.block, own.outcome], [own.block + 1, "rejected"]].sort());
    // The same digest with another claim (the record's digest field is derived, never trusted) changes nothing.
    const forged = { ...differing, digest: claimDigest(own) };
    assert.equal((await store.putAnchors(NS, "b1", [forged])).written, false);
    await store.close();
  });

  test("anchors: a real TSA token in `sig` is stored and read back byte for byte", async () => {
    const store = await openStore(fresh());
    const token = readFileSync(fixturePath("real", "tsa", "digicert", "response.tsr")).toString("base64");
    const batch = sampleBatch({ batchId: "b1", size: 1, anchors: [{ chain: "rfc3161:digicert", tx: "digicert-1", block: 0, sig: token, outcome: "verified", reason: undefined }] });
    await store.putBatch(batch);
    const [anchor] = await store.anchors(NS, "b1");
    assert.equal(anchor!.sig, token);
    await store.close();
  });
});

describe("store: receipt order", () => {
  test("receipts: kept in (ts, id) order with ts ranges, positions and counts, the same after reopening", async () => {
    const dir = fresh();
    const store = await openStore(dir);
    const added: ReceiptKey[] = [];
    store.onReceiptsAdded((_ns, keys) => added.push(...keys));
    for (const [batchId, createdAt] of [["late", 300], ["early", 100], ["mid", 200]] as const) {
      await store.putBatch(sampleBatch({ batchId, size: 4, createdAt }));
    }
    const keys = store.receiptKeys(NS).map((k) => ({ ts: k.ts, id: k.id }));
    const sorted = [...keys].sort((a, b) => a.ts - b.ts || (a.id < b.id ? -1 : 1));
    assert.deepEqual(keys, sorted);
    assert.equal(added.length, 12);
    const mid = await store.receiptsInRange(NS, 200, 200);
    assert.deepEqual(mid.map((r) => r.batchId), ["mid", "mid", "mid", "mid"]);
    assert.equal((await store.receiptsInRange(NS, 101, 300)).length, 8);
    assert.deepEqual((await store.receiptsAt(NS, 4, 6)).map((r) => r.id), keys.slice(4, 6).map((k) => k.id));
    assert.equal(store.receiptPosition(NS, { ts: 200, id: "" }), 4);
    assert.equal(store.receiptPosition(NS, keys[5]!), 5);
    await store.close();
    const reopened = await openStore(dir, { readOnly: true });
    assert.deepEqual(reopened.receiptKeys(NS).map((k) => ({ ts: k.ts, id: k.id })), keys);
    await reopened.close();
  });

  test("getReceipt: a returned receipt is frozen, so a caller cannot alter what later readers get", async () => {
    const store = await openStore(fresh());
    const batch = sampleBatch({ batchId: "b1", size: 2 });
    await store.putBatch(batch);
    const r = (await store.getReceipt(NS, batch.receipts[0]!.id))!;
    assert.throws(() => {
      (r.proof.path as string[]).push("sha256:00");
    }, TypeError);
    assert.deepEqual(await store.getReceipt(NS, batch.receipts[0]!.id), batch.receipts[0]);
    await store.close();
  });

  test("getBatch cached: the parsed copy is served again (what answers read), and a refresh after another process's write serves the new file", async () => {
    const dir = fresh();
    const writer = await openStore(dir);
    const batch = sampleBatch({ batchId: "b1", size: 2, anchors: [{}] });
    await writer.putBatch(batch);
    const reader = await openStore(dir);
    const first = (await reader.getBatch(NS, "b1", batch.batchRoot, null, { cached: true }))!;
    assert.equal((await reader.getBatch(NS, "b1", batch.batchRoot, null, { cached: true }))!.receipts, first.receipts, "one parse, served twice");
    assert.notEqual((await reader.getBatch(NS, "b1", batch.batchRoot))!.receipts, first.receipts, "without `cached`, read from disk");
    await writer.putAnchors(NS, "b1", [{ ...batch.anchors[0]!, chain: "rfc3161:freetsa", tx: "tsa-1", block: 0 }]);
    await reader.refresh();
    const after = (await reader.getBatch(NS, "b1", batch.batchRoot, null, { cached: true }))!;
    assert.deepEqual(after.anchors.map((a) => a.chain).sort(), ["eip155:8453", "rfc3161:freetsa"]);
    await writer.close();
    await reader.close();
  });

  test("getBatch retain false: a version read once (a catch-up's range answer) is parsed for the caller alone, not kept in the cache; a cached copy is still served", async () => {
    const dir = fresh();
    const writer = await openStore(dir);
    const batch = sampleBatch({ batchId: "b1", size: 2 });
    await writer.putBatch(batch);
    const reader = await openStore(dir);
    const once = (await reader.getBatch(NS, "b1", batch.batchRoot, null, { cached: true, retain: false }))!;
    assert.deepEqual(once.receipts, batch.receipts);
    assert.equal(Object.isFrozen(once.receipts), false, "not the cache's (frozen) copy");
    const cached = (await reader.getBatch(NS, "b1", batch.batchRoot, null, { cached: true }))!;
    assert.notEqual(cached.receipts, once.receipts, "the first read left nothing in the cache: this one parsed the file");
    assert.equal(Object.isFrozen(cached.receipts), true);
    assert.equal((await reader.getBatch(NS, "b1", batch.batchRoot, null, { cached: true, retain: false }))!.receipts, cached.receipts, "a copy already cached is served");
    await writer.close();
    await reader.close();
  });

  test("refresh: a second store on the same directory sees the first one's writes", async () => {
    const dir = fresh();
    const writer = await openStore(dir);
    const reader = await openStore(dir);
    const seen: string[] = [];
    reader.onReceiptsAdded((ns, keys) => seen.push(`${ns}:${keys.length}`));
    await writer.putBatch(sampleBatch({ batchId: "b1", size: 3 }));
    assert.equal(reader.receiptCount(NS), 0);
    await reader.refresh();
    assert.equal(reader.receiptCount(NS), 3);
    assert.deepEqual(seen, [`${NS}:3`]);
    await writer.putBatch(sampleBatch({ batchId: "b2", size: 2 }));
    // A write catches up with the other process's changes to its namespace before merging.
    await reader.putBatch(sampleBatch({ batchId: "b3", size: 1 }));
    assert.deepEqual(reader.listBatches(NS).map((b) => b.batchId).sort(), ["b1", "b2", "b3"]);
    await writer.close();
    await reader.close();
  });
});

describe("store: documents", () => {
  test("docs: a missing doc is undefined, put and update round-trip, an equal update writes nothing", async () => {
    const dir = fresh();
    const store = await openStore(dir);
    assert.equal(await store.getDoc("outbox/did:web:b.example"), undefined);
    await store.putDoc("outbox/did:web:b.example", [{ batchId: "b1" }]);
    assert.deepEqual(await store.getDoc("outbox/did:web:b.example"), [{ batchId: "b1" }]);
    assert.equal(await store.updateDoc<number>("counter", (n) => (n ?? 0) + 1), 1);
    assert.equal(await store.updateDoc<number>("counter", (n) => (n ?? 0) + 1), 2);
    const path = `${layout(dir).docs}/x636f756e746572.json`;
    const before = statSync(path, { bigint: true }).mtimeNs;
    await store.putDoc("counter", 2);
    assert.equal(statSync(path, { bigint: true }).mtimeNs, before);
    await assert.rejects(store.putDoc("x", undefined), ArgumentError);
    await store.close();
  });
});
