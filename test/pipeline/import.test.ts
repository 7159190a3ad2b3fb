import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Anchor } from "../../lib/anchors/anchor.js";
import { limitConcurrency } from "../../lib/anchors/limit.js";
import type { VerificationResult } from "../../lib/anchors/result.js";
import { merkleRoot, receiptsForBatch } from "../../lib/merkle/index.js";
import { importBatch, type BatchImport, type ImportContext } from "../../lib/pipeline/import.js";
import { reverifyStored } from "../../lib/pipeline/reverify.js";
import { openStore, type Store } from "../../lib/store/index.js";

const NS = "dao:vaultmesh";
const H = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;

function batch(id: string, leaves: string[], createdAt = 1_700_000_000): BatchImport {
  const root = merkleRoot(leaves, "vmsh-dup-sha256");
  return { namespace: NS, batchId: id, batchRoot: root, createdAt, receipts: receiptsForBatch({ id, root, leaves, createdAt }, NS), anchors: [] };
}
const btc = (b: BatchImport, tx: string, block = 100): Anchor => ({ batchId: b.batchId, batchRoot: b.batchRoot, chain: "btc:regtest", tx: tx.repeat(64 / tx.length), block, ts: 1 });
const tsa = (b: BatchImport, tx: string): Anchor => ({ batchId: b.batchId, batchRoot: b.batchRoot, chain: "rfc3161:test", tx, block: 0, ts: 1, sig: "AAAA" });

let dir: string;
let store: Store;
/** Outcomes the fake verifier gives, by tx; every call is counted. */
const verdicts = new Map<string, VerificationResult>();
let calls = 0;
const ctx = (): ImportContext => ({
  store,
  verify: async (a) => {
    calls++;
    return verdicts.get(a.tx) ?? { outcome: "pending", reason: "no verdict in test" };
  },
  limit: limitConcurrency(2),
  now: () => 1_800_000_000,
});

async function snapshotFiles(root: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(d: string) {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out.set(p, await readFile(p, "utf8"));
    }
  }
  await walk(root);
  return out;
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "vmsh-pipeline-"));
  store = await openStore(join(dir, "state"));
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

describe("pipeline: importBatch", () => {
  test("pipeline: stores receipts and anchors, resolves the winner, marks the batch active", async () => {
    const b = batch("b-active", [H(1), H(2), H(3)]);
    b.anchors = [btc(b, "a1"), tsa(b, "t1")];
    verdicts.set(btc(b, "a1").tx, { outcome: "verified", evidence: { blockHash: "00ff" } });
    verdicts.set("t1", { outcome: "verified" });
    const r = await importBatch(b, ctx());
    assert.equal(r.status, "active");
    assert.equal(r.receiptsAdded, 3);
    assert.equal(r.winner, `btc:regtest/${btc(b, "a1").tx}`);
    assert.equal(r.anchors.find((a) => a.chain === "rfc3161:test")!.superseded_by, r.winner);
    const stored = await store.anchors(NS, "b-active");
    assert.equal(stored.find((a) => a.tx === "t1")!.superseded_by, r.winner);
    assert.equal(stored.find((a) => a.chain === "btc:regtest")!.evidence!.blockHash, "00ff");
  });

  test("pipeline: re-importing the same data changes nothing and re-verifies nothing verified", async () => {
    const b = batch("b-active", [H(1), H(2), H(3)]);
    b.anchors = [btc(b, "a1"), tsa(b, "t1")];
    const before = await snapshotFiles(join(dir, "state"));
    calls = 0;
    const r = await importBatch(b, ctx());
    assert.equal(calls, 0);
    assert.equal(r.written, false);
    assert.equal(r.receiptsAdded, 0);
    assert.deepEqual(await snapshotFiles(join(dir, "state")), before);
  });

  test("pipeline: a batch with only pending anchors is held, kept, and re-checked later", async () => {
    const b = batch("b-held", [H(10), H(11)]);
    b.anchors = [btc(b, "p1")];
    const r = await importBatch(b, ctx());
    assert.equal(r.status, "held");
    assert.equal(r.receiptsStored, 2);
    assert.equal(r.anchors[0]!.outcome, "pending");
    verdicts.set(btc(b, "p1").tx, { outcome: "verified" });
    const again = await reverifyStored({ namespace: NS, batchId: "b-held", outcomes: ["pending"] }, ctx());
    assert.deepEqual(again.anchors.map((a) => [a.was, a.outcome]), [["pending", "verified"]]);
    assert.equal((await store.anchors(NS, "b-held"))[0]!.outcome, "verified");
  });

  test("pipeline: a batch with no anchors at all is held with its receipts", async () => {
    const r = await importBatch(batch("b-bare", [H(20)]), ctx());
    assert.equal(r.status, "held");
    assert.equal(r.receiptsStored, 1);
  });

  test("pipeline: refuses receipts whose proof fails, whose size or ts differs, or that reuse an index", async () => {
    const b = batch("b-mixed", [H(30), H(31), H(32), H(33)]);
    const [r0, r1, r2, r3] = b.receipts as [any, any, any, any];
    const forged = { ...r1, proof: { ...r1.proof, path: [H(99), ...r1.proof.path.slice(1)] } };
    const otherTs = { ...r2, ts: b.createdAt + 1 };
    const sameIndex = { ...r3, id: H(40), eventHash: H(40), proof: { ...r0.proof } };
    b.receipts = [r0, forged, otherTs, sameIndex];
    const r = await importBatch(b, ctx());
    assert.equal(r.receiptsAdded, 1);
    assert.deepEqual(r.rejectedReceipts.map((x) => x.id), [r1.id, r2.id, H(40)]);
    assert.match(r.rejectedReceipts[1]!.reason, /ts .* is not the batch's sealing time/);
    assert.match(r.rejectedReceipts[2]!.reason, /does not|index 0 is already taken/);
  });

  test("pipeline: a stored verified anchor is never replaced by a peer's differing claim", async () => {
    const b = batch("b-active", [H(1), H(2), H(3)]);
    const claim = { ...btc(b, "a1"), block: 999 };
    b.anchors = [claim];
    calls = 0;
    await importBatch(b, ctx());
    assert.equal(calls, 0);
    assert.equal((await store.anchors(NS, "b-active")).find((a) => a.chain === "btc:regtest")!.block, 100);
  });

  test("pipeline: two roots for one batch id are both kept and flagged as equivocation", async () => {
    const one = batch("b-eq", [H(50), H(51)]);
    const two = batch("b-eq", [H(52), H(53)]);
    verdicts.set("e1", { outcome: "verified" });
    verdicts.set("e2", { outcome: "verified" });
    one.anchors = [tsa(one, "e1")];
    two.anchors = [tsa(two, "e2")];
    assert.equal((await importBatch(one, ctx())).equivocation, false);
    const r = await importBatch(two, ctx());
    assert.equal(r.equivocation, true);
    assert.equal((await store.getBatchVersions(NS, "b-eq")).length, 2);
    const re = await reverifyStored({ namespace: NS, batchId: "b-eq" }, ctx());
    assert.deepEqual(re.equivocations, ["b-eq"]);
  });

  test("pipeline: a reorg found by re-verification moves the win to the next anchor", async () => {
    const b = batch("b-active", [H(1), H(2), H(3)]);
    verdicts.set(btc(b, "a1").tx, { outcome: "rejected", reason: "reorg: block 100 was 00ff and is now 00ee" });
    const r = await reverifyStored({ namespace: NS, batchId: "b-active" }, ctx());
    const rows = new Map(r.anchors.map((a) => [a.chain, a]));
    assert.equal(rows.get("btc:regtest")!.outcome, "rejected");
    assert.equal(rows.get("rfc3161:test")!.superseded_by, undefined);
    const stored = await store.anchors(NS, "b-active");
    assert.equal(stored.find((a) => a.tx === "t1")!.superseded_by, undefined);
    assert.equal(stored.find((a) => a.chain === "btc:regtest")!.evidence!.blockHash, "00ff", "the last seen block hash is kept for the next check");
  });
});
