import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Anchor } from "../../lib/anchors/anchor.js";
import { limitConcurrency } from "../../lib/anchors/limit.js";
import type { VerificationResult } from "../../lib/anchors/result.js";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { merkleRoot, receiptsForBatch } from "../../lib/merkle/index.js";
import { signCheckpoint } from "../../lib/messages/checkpoint.js";
import { importBatch, type BatchImport, type ImportContext } from "../../lib/pipeline/import.js";
import { reverifyStored } from "../../lib/pipeline/reverify.js";
import { refetchCheckpoints, uncheckpointed } from "../../lib/federation/checkpoint-migrate.js";
import type { Role } from "../../lib/messages/authenticate.js";
import { openStore, type Store } from "../../lib/store/index.js";

const NS = "dao:vaultmesh";
const H = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;

const ORIGIN = { did: "did:vm:node:origin", key: generateNodeKey() };
const OTHER_ORIGIN = { did: "did:vm:node:origin-2", key: generateNodeKey() };
const NOT_ORIGIN = { did: "did:vm:node:relay", key: generateNodeKey() };

function batch(id: string, leaves: string[], createdAt = 1_700_000_000, by = ORIGIN): BatchImport {
  const root = merkleRoot(leaves, "vmsh-dup-sha256");
  const checkpoint = signCheckpoint({ namespace: NS, origin: by.did, batchId: id, batchRoot: root, tree: "vmsh-dup-sha256", size: leaves.length, createdAt, ts: 1_800_000_000 }, by.key.privateKey);
  return { namespace: NS, batchId: id, batchRoot: root, createdAt, receipts: receiptsForBatch({ id, root, leaves, createdAt }, NS), anchors: [], checkpoints: [checkpoint] };
}
const btc = (b: BatchImport, tx: string, block = 100): Anchor => ({ batchId: b.batchId, batchRoot: b.batchRoot, chain: "btc:regtest", tx: tx.repeat(64 / tx.length), block, ts: 1 });
const tsa = (b: BatchImport, tx: string): Anchor => ({ batchId: b.batchId, batchRoot: b.batchRoot, chain: "rfc3161:test", tx, block: 0, ts: 1, sig: "AAAA" });

let dir: string;
let store: Store;
/** Outcomes the fake verifier gives, by "tx@block" or else by tx; every call is counted. */
const verdicts = new Map<string, VerificationResult>();
let calls = 0;
const ctx = (): ImportContext => ({
  store,
  verify: async (a) => {
    calls++;
    return verdicts.get(`${a.tx}@${a.block}`) ?? verdicts.get(a.tx) ?? { outcome: "pending", reason: "no verdict in test" };
  },
  limit: limitConcurrency(2),
  now: () => 1_800_000_000,
  origins: new Map([
    [ORIGIN.did, ORIGIN.key.publicKey],
    [OTHER_ORIGIN.did, OTHER_ORIGIN.key.publicKey],
  ]),
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

  test("pipeline: a stored verified anchor is never replaced by a peer's differing claim: that claim is a record of its own", async () => {
    const b = batch("b-active", [H(1), H(2), H(3)]);
    const claim = { ...btc(b, "a1"), block: 999 };
    verdicts.set(`${claim.tx}@999`, { outcome: "rejected", reason: "the tx is not in block 999" });
    b.anchors = [claim];
    calls = 0;
    const r = await importBatch(b, ctx());
    assert.equal(calls, 1, "only the new claim is verified");
    assert.deepEqual(r.ignoredClaims, []);
    const held = (await store.anchors(NS, "b-active")).filter((a) => a.chain === "btc:regtest");
    assert.deepEqual(held.map((a) => [a.block, a.outcome]).sort(), [[100, "verified"], [999, "rejected"]]);
    assert.equal(r.winner, "btc:regtest/" + "a1".repeat(32));
    calls = 0;
    await importBatch(b, ctx());
    assert.equal(calls, 0, "a rejected claim held here is not verified again");
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

  test("pipeline: a phantom one-leaf receipt of a real root is refused and cannot pin the size", async () => {
    const real = batch("b-phantom", [H(60), H(61), H(62), H(63)]);
    // Under vmsh-dup a single leaf is its own root: the attack of docs/FEDERATION_SEMANTICS.md §6. Threat model.
    const phantom = { ...real.receipts[0]!, id: real.batchRoot, eventHash: real.batchRoot, proof: { tree: "vmsh-dup-sha256" as const, index: 0, size: 1, path: [] } };
    const attack: BatchImport = { ...real, receipts: [phantom] };
    const r1 = await importBatch(attack, ctx());
    assert.equal(r1.receiptsAdded, 0);
    assert.match(r1.rejectedReceipts[0]!.reason, /origin did:vm:node:origin signed vmsh-dup-sha256 with 4/);
    const r2 = await importBatch(real, ctx());
    assert.equal(r2.receiptsAdded, 4, "the genuine receipts are accepted after the phantom");
  });

  test("pipeline: without a checkpoint from an origin, no receipt is stored and nothing is verified", async () => {
    const unvouched = batch("b-unvouched", [H(70), H(71)], 1_700_000_000, NOT_ORIGIN);
    unvouched.anchors = [tsa(unvouched, "u1")];
    calls = 0;
    const r = await importBatch(unvouched, ctx());
    assert.equal(r.receiptsAdded, 0);
    assert.equal(calls, 0);
    assert.match(r.rejectedReceipts[0]!.reason, /not an origin of dao:vaultmesh/);
    assert.equal(await store.getBatch(NS, "b-unvouched", unvouched.batchRoot), undefined);
    const bare = { ...batch("b-unvouched", [H(70), H(71)]), checkpoints: [] };
    assert.match((await importBatch(bare, ctx())).rejectedReceipts[0]!.reason, /no checkpoint/);
  });

  test("pipeline: a relabelled receipt or a wrong sealing time fails against the checkpoint", async () => {
    const real = batch("b-label", [H(80), H(81)], 1_700_000_500);
    const pinned = { ...real, createdAt: 5, receipts: real.receipts.map((x) => ({ ...x, ts: 5 })) };
    const r = await importBatch(pinned, ctx());
    assert.equal(r.receiptsAdded, 0);
    assert.match(r.rejectedReceipts[0]!.reason, /ts 5 is not the batch's sealing time 1700000500/);
    const relabelled = { ...real, batchId: "b-label-2", receipts: real.receipts.map((x) => ({ ...x, batchId: "b-label-2" })) };
    assert.equal((await importBatch(relabelled, ctx())).receiptsAdded, 0);
    assert.equal((await importBatch(real, ctx())).receiptsAdded, 2);
    assert.equal((await store.getBatch(NS, "b-label", real.batchRoot))!.createdAt, 1_700_000_500);
  });

  test("pipeline: two origins using one batch id is no equivocation; one origin signing two roots is, with both signatures kept", async () => {
    const a = batch("b-shared", [H(90), H(91)], 1_700_000_000, ORIGIN);
    const b = batch("b-shared", [H(92), H(93)], 1_700_000_000, OTHER_ORIGIN);
    assert.equal((await importBatch(a, ctx())).equivocation, false);
    assert.equal((await importBatch(b, ctx())).equivocation, false);
    const c = batch("b-shared", [H(94), H(95)], 1_700_000_000, ORIGIN);
    assert.equal((await importBatch(c, ctx())).equivocation, true);
    const eq = store.equivocations().find((e) => e.batchId === "b-shared")!;
    assert.equal(eq.origin, ORIGIN.did);
    assert.deepEqual(eq.batchRoots, [a.batchRoot, c.batchRoot].sort());
    const versions = await store.getBatchVersions(NS, "b-shared");
    assert.equal(versions.filter((v) => v.checkpoint?.origin === ORIGIN.did).length, 2, "both signed checkpoints are the evidence");
  });

  test("pipeline: a 0.1.0 version without a checkpoint gains the origin's, unless a peer had fixed another sealing time", async () => {
    const legacy = batch("b-legacy", [H(100), H(101)], 1_700_000_900);
    await store.putBatch({ namespace: NS, batchId: legacy.batchId, batchRoot: legacy.batchRoot, createdAt: legacy.createdAt, receipts: legacy.receipts, anchors: [] });
    assert.equal(store.listBatches(NS).find((b) => b.batchId === "b-legacy")!.origin, undefined);
    const r = await importBatch(legacy, ctx());
    assert.equal(r.origin, ORIGIN.did);
    assert.equal((await store.getBatch(NS, "b-legacy", legacy.batchRoot))!.checkpoint!.origin, ORIGIN.did);

    const pinnedEarlier = batch("b-legacy-pinned", [H(102), H(103)], 1_700_000_900);
    await store.putBatch({ namespace: NS, batchId: pinnedEarlier.batchId, batchRoot: pinnedEarlier.batchRoot, createdAt: 5, receipts: [], anchors: [] });
    // The pinned copy is not the origin's version: that one is stored beside it, and the pinned one stays as it was, unserved.
    const p = await importBatch(pinnedEarlier, ctx());
    assert.equal(p.receiptsAdded, 2);
    assert.equal(p.origin, ORIGIN.did);
    const pinned = (await store.getBatch(NS, "b-legacy-pinned", pinnedEarlier.batchRoot, null))!;
    assert.deepEqual([pinned.createdAt, pinned.checkpoint], [5, undefined], "the 0.1.0 copy is unchanged");
    assert.equal((await store.getBatch(NS, "b-legacy-pinned", pinnedEarlier.batchRoot, ORIGIN.did))!.createdAt, 1_700_000_900);
    assert.ok(!uncheckpointed(store, [NS]).some((v) => v.batchId === "b-legacy-pinned"), "no longer re-fetched: its origin's version is here");
  });

  test("pipeline: another origin's checkpoint of a root already held is a version of its own, and does not block the first origin's", async () => {
    // The front-run of docs/FEDERATION_SEMANTICS.md §6: roots are public once anchored, so an admitted origin can sign one first.
    const genuine = batch("b-front", [H(140), H(141)], 1_700_002_000, ORIGIN);
    const front = batch("b-front", [H(140), H(141)], 1_700_001_999, OTHER_ORIGIN);
    const f = await importBatch({ ...front, receipts: [] }, ctx());
    assert.equal(f.origin, OTHER_ORIGIN.did);
    const g = await importBatch(genuine, ctx());
    assert.deepEqual([g.origin, g.receiptsAdded, g.rejectedReceipts, g.rejectedCheckpoints, g.equivocation], [ORIGIN.did, 2, [], [], false]);
    const versions = store.batchVersions(NS, "b-front", genuine.batchRoot);
    assert.deepEqual(versions.map((v) => [v.origin, v.createdAt, v.receiptCount]).sort(), [[ORIGIN.did, 1_700_002_000, 2], [OTHER_ORIGIN.did, 1_700_001_999, 0]].sort());
    assert.equal((await store.getReceipt(NS, H(140)))!.ts, 1_700_002_000);
    // One call with both origins' checkpoints: each is refused for the other's version, never for its own.
    const both = await importBatch({ ...genuine, checkpoints: [...genuine.checkpoints!, ...front.checkpoints!] }, ctx());
    assert.match(both.rejectedCheckpoints[0]!.reason, /another origin's version of this root/);
  });

  test("pipeline: a differing claim under the (chain, tx) of this node's pending anchor is a record of its own; the pending one still resolves", async () => {
    const b = batch("b-pending-own", [H(110), H(111)]);
    const own = btc(b, "c1", 100);
    b.anchors = [own];
    assert.equal((await importBatch(b, ctx())).anchors[0]!.outcome, "pending");
    verdicts.set(`${own.tx}@999`, { outcome: "rejected", reason: "a claim with block 999 is not in block 999" });
    const hostile = { ...b, receipts: [], anchors: [{ ...own, block: 999 }] };
    calls = 0;
    const r = await importBatch(hostile, ctx());
    assert.equal(calls, 1, "the differing claim is verified on its own");
    assert.deepEqual(r.ignoredClaims, []);
    const shape = async () => (await store.anchors(NS, "b-pending-own")).map((a) => [a.block, a.outcome]).sort();
    assert.deepEqual(await shape(), [[100, "pending"], [999, "rejected"]]);
    verdicts.set(own.tx, { outcome: "verified" });
    await reverifyStored({ namespace: NS, batchId: "b-pending-own", outcomes: ["pending"] }, ctx());
    assert.deepEqual(await shape(), [[100, "verified"], [999, "rejected"]]);
  });

  test("pipeline: one TSA token under two names or two tx strings is one anchor", async () => {
    const b = batch("b-token", [H(120), H(121)]);
    verdicts.set("tok-1", { outcome: "verified" });
    verdicts.set("tok-2", { outcome: "verified" });
    b.anchors = [tsa(b, "tok-1"), { ...tsa(b, "tok-2"), chain: "rfc3161:other-name" }, tsa(b, "tok-2")];
    const r = await importBatch(b, ctx());
    assert.equal(r.anchors.length, 1);
    assert.equal(r.ignoredClaims.length, 2);
    assert.match(r.ignoredClaims[0]!.reason, /same TSA token as rfc3161:test\/tok-1/);
    assert.equal((await store.anchors(NS, "b-token")).length, 1);
  });

  test("pipeline: a token first held under a label that was rejected is taken under a label that verifies, and not the other way round", async () => {
    const b = batch("b-token-relabel", [H(122), H(123)]);
    verdicts.set("wrong-label", { outcome: "rejected", reason: "not signed by test" });
    verdicts.set("right-label", { outcome: "verified" });
    b.anchors = [tsa(b, "wrong-label")];
    assert.equal((await importBatch(b, ctx())).status, "held");
    const right = { ...tsa(b, "right-label"), chain: "rfc3161:other" };
    const r = await importBatch({ ...b, receipts: [], anchors: [right] }, ctx());
    assert.deepEqual([r.status, r.winner, r.ignoredClaims], ["active", "rfc3161:other/right-label", []]);
    const again = await importBatch({ ...b, receipts: [], anchors: [tsa(b, "wrong-label")] }, ctx());
    assert.match(again.ignoredClaims[0]!.reason, /same TSA token as rfc3161:other\/right-label/);
    assert.deepEqual((await store.anchors(NS, "b-token-relabel")).map((a) => [a.chain, a.tx, a.outcome]), [["rfc3161:other", "right-label", "verified"]]);
  });

  test("migration: refetchCheckpoints attaches the checkpoint a serving peer sends, and reports versions no peer can vouch for", async () => {
    const legacy = batch("b-refetch", [H(130), H(131)], 1_700_001_000);
    await store.putBatch({ namespace: NS, batchId: legacy.batchId, batchRoot: legacy.batchRoot, createdAt: legacy.createdAt, receipts: legacy.receipts, anchors: [] });
    const orphan = batch("b-orphan", [H(132)], 1_700_001_000);
    await store.putBatch({ namespace: NS, batchId: orphan.batchId, batchRoot: orphan.batchRoot, createdAt: orphan.createdAt, receipts: orphan.receipts, anchors: [] });
    const before = uncheckpointed(store, [NS]).map((v) => v.batchId);
    assert.ok(before.includes("b-refetch") && before.includes("b-orphan"));
    const peer = { did: "did:vm:node:server", url: "http://127.0.0.1:9", roles: new Set<Role>(["serve"]), verifyKey: new Uint8Array(32) };
    const asked: string[] = [];
    const results = await refetchCheckpoints(
      {
        store,
        sources: () => [peer],
        pull: async (_p, ns, batchId) => {
          asked.push(batchId);
          // The peer has the origin's checkpoint for one of them only.
          const checkpoints = batchId === "b-refetch" ? legacy.checkpoints! : [];
          const receipts = batchId === "b-refetch" ? legacy.receipts : [];
          return [{ type: "bundle" as const, v: 2 as const, namespace: ns, aud: "did:vm:node:me", request: H(1), checkpoints, receipts, anchors: [], ts: 1, signer: peer.did, sig: "a..b" }];
        },
        importContext: () => ctx(),
      },
      [NS],
    );
    const byId = new Map(results.map((r) => [r.version.batchId, r]));
    assert.equal(byId.get("b-refetch")!.origin, ORIGIN.did);
    assert.match(byId.get("b-orphan")!.problem!, /did:vm:node:server has no checkpoint for it/);
    assert.equal((await store.getBatch(NS, "b-refetch", legacy.batchRoot))!.checkpoint!.origin, ORIGIN.did);
    assert.ok(!uncheckpointed(store, [NS]).some((v) => v.batchId === "b-refetch"));
    assert.ok(asked.includes("b-orphan"));
  });
});
