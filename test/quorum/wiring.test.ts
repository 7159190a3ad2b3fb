import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { NodeConfig } from "../../lib/config/types.js";
import { ArgumentError, ProtocolError } from "../../lib/errors.js";
import { cosignVersion, quorumOfVersions, takeCosignatures, witnessKeysFor } from "../../lib/federation/witness.js";
import { generateNodeKey, type NodeKey } from "../../lib/identity/keys.js";
import { signMessage } from "../../lib/messages/authenticate.js";
import { messageDigest } from "../../lib/messages/canonical.js";
import { LIMITS } from "../../lib/messages/limits.js";
import { parseAnnounce, parseBundle, type Announce } from "../../lib/messages/schema.js";
import { signCosignature, type Cosignature } from "../../lib/messages/cosignature.js";
import { cosignatureDigest, MAX_COSIGNATURES_PER_VERSION, mergeCosignatures } from "../../lib/quorum/merge.js";
import { openStore, type Store } from "../../lib/store/index.js";
import { checkpointBy } from "../support/checkpoint.js";
import { announce as fixtureAnnounce, peer } from "../messages/fixtures.js";
import { sampleBatch } from "../store/sample.js";

const NS = "acme/audit";
const origin = { did: "did:vm:node:origin", key: generateNodeKey() };
const W = ["did:vm:node:w1", "did:vm:node:w2", "did:vm:node:w3"] as const;
const wkeys = new Map<string, NodeKey>(W.map((d) => [d, generateNodeKey()]));

/** A stored version with a checkpoint and one verified anchor (the winner). */
function version(batchId = "b-1", outcome: "verified" | "pending" = "verified") {
  const b = sampleBatch({ batchId, size: 2, anchors: [{ chain: "rfc3161:test", tx: "t-1", outcome, reason: outcome === "verified" ? undefined : "waiting" }] });
  if (outcome === "verified") delete b.anchors[0]!.reason;
  return { ...b, checkpoint: checkpointBy(origin, { namespace: b.namespace, batchId, batchRoot: b.batchRoot, size: 2, createdAt: b.createdAt }) };
}

function config(quorum?: { k: number; witnesses: string[] }, self = "did:vm:node:self"): NodeConfig {
  return {
    dir: "/x",
    federation: { mesh: { nodeId: self, listen: { host: "127.0.0.1", port: 0 }, keyFile: "/x/k", stateDir: "/x/s", clockSkewS: 300 }, namespaces: new Map([[NS, { name: NS, peers: [], verify: { evmConfirmations: 1, btcConfirmations: 1 }, limits: { maxAnnounceRatePerMin: 60, maxRequestRatePerMin: 60 }, ...(quorum ? { quorum } : {}) }]]), antiEntropy: { intervalS: 60 } },
    peers: new Map(),
    origins: new Map(),
    witnesses: new Map([...wkeys].map(([d, k]) => [d, k.publicKeyBytes])),
    anchors: { eip155: new Map(), btc: new Map() },
  };
}

function cosign(signer: string, batch: ReturnType<typeof version>, over: Partial<Cosignature> = {}, key = wkeys.get(signer)!): Cosignature {
  const winner = { chain: "rfc3161:test", tx: "t-1" };
  return signCosignature({ namespace: NS, origin: origin.did, batchId: batch.batchId, batchRoot: batch.batchRoot, checkpoint: messageDigest(batch.checkpoint), winner, verified: [winner], ts: 1_760_000_000, signer, ...over }, key.privateKey);
}

async function withStore(fn: (store: Store, dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "vmsh-quorum-"));
  const store = await openStore(dir);
  try {
    await fn(store, dir);
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

describe("quorum: cosignatures kept with the batch version", () => {
  test("merge: one per signer and checkpoint, the newest; a replay or an older one changes nothing; bounded per signer and per version", () => {
    const b = version();
    const first = cosign(W[0], b);
    const newer = cosign(W[0], b, { ts: 1_760_000_100 });
    assert.deepEqual(mergeCosignatures([], [first, first]).cosignatures, [first], "merged by digest");
    assert.deepEqual(mergeCosignatures([newer], [first]).added, [], "an older one from the same signer is not kept");
    assert.deepEqual(mergeCosignatures([first], [newer]).cosignatures, [newer], "a newer one replaces it");
    const cp = (i: number) => `sha256:${i.toString(16).padStart(64, "0")}`;
    const flood = Array.from({ length: 10 }, (_, i) => cosign(W[1], b, { checkpoint: cp(i) }));
    assert.deepEqual(mergeCosignatures([], [...flood, first]).cosignatures, [flood[0], flood[1], first], "one witness keeps two checkpoints at most: it cannot crowd the others out");
    const signers = Array.from({ length: MAX_COSIGNATURES_PER_VERSION + 3 }, (_, i) => ({ ...first, signer: `did:vm:node:x${i}` }));
    assert.equal(mergeCosignatures([], signers).cosignatures.length, MAX_COSIGNATURES_PER_VERSION);
    assert.notEqual(cosignatureDigest(first), cosignatureDigest(newer));
  });

  test("store: putCosignatures writes into the version's file; a version not held takes none; bad input is refused, state unchanged", async () => {
    await withStore(async (store) => {
      const b = version();
      await store.putBatch(b);
      const c = cosign(W[0], b);
      assert.deepEqual(await store.putCosignatures(NS, b.batchId, b.batchRoot, [c, c]), [c]);
      assert.deepEqual(await store.putCosignatures(NS, b.batchId, b.batchRoot, [c]), [], "a replay writes nothing");
      assert.deepEqual((await store.getBatch(NS, b.batchId, b.batchRoot))!.cosignatures, [c]);
      assert.equal(await store.putCosignatures(NS, "b-unknown", b.batchRoot, []), undefined);
      await assert.rejects(store.putCosignatures(NS, "b-other", b.batchRoot, [c]), (e: unknown) => e instanceof ArgumentError && /cosignatures\[0\]\.batchId must equal the batch's batchId/.test(e.message));
      await assert.rejects(store.putCosignatures(NS, b.batchId, b.batchRoot, [{ ...c, type: "checkpoint" } as never]), ArgumentError);
      assert.deepEqual((await store.getBatch(NS, b.batchId, b.batchRoot))!.cosignatures, [c], "unchanged after the refusals");
      // A later putBatch (a new anchor claim) keeps them.
      await store.putBatch({ ...b, receipts: [], anchors: [{ ...b.anchors[0]!, chain: "rfc3161:other", tx: "t-2", outcome: "pending", reason: "x" }] });
      assert.deepEqual((await store.getBatch(NS, b.batchId, b.batchRoot))!.cosignatures, [c]);
    });
  });

  test("store: a batch file whose cosignatures belong to another batch is refused as corrupt on open", async () => {
    await withStore(async (store, dir) => {
      const b = version();
      await store.putBatch(b);
      await store.putCosignatures(NS, b.batchId, b.batchRoot, [cosign(W[0], b)]);
      await store.close();
      const { readdir, writeFile } = await import("node:fs/promises");
      const find = async (d: string): Promise<string> => {
        for (const e of await readdir(d, { withFileTypes: true })) {
          const p = join(d, e.name);
          if (e.isDirectory()) {
            const f = await find(p).catch(() => "");
            if (f !== "") return f;
          } else if (e.name.endsWith(".json") && (await readFile(p, "utf8")).includes('"cosignatures"')) return p;
        }
        throw new Error("none");
      };
      const file = await find(dir);
      const json = JSON.parse(await readFile(file, "utf8"));
      json.cosignatures[0].batchId = "b-9";
      await writeFile(file, JSON.stringify(json));
      await assert.rejects(openStore(dir), /cosignatures\[0\]\.batchId must equal the batch's batchId/);
    });
  });
});

describe("quorum: cosignatures on the wire", () => {
  const from = peer("did:vm:node:a", ["announce"]);
  const b = { ...version(), batchId: "batch-0001" };
  const cp = checkpointBy(from, { namespace: "dao:vaultmesh", batchId: "batch-0001", batchRoot: `sha256:${"ab".repeat(32)}` });
  const c = signCosignature({ namespace: "dao:vaultmesh", origin: from.did, batchId: "batch-0001", batchRoot: `sha256:${"ab".repeat(32)}`, checkpoint: messageDigest(cp), winner: { chain: "btc:regtest", tx: "cd".repeat(32) }, verified: [{ chain: "btc:regtest", tx: "cd".repeat(32) }], ts: 1, signer: W[0] }, wkeys.get(W[0])!.privateKey);
  const v3 = (over: Partial<Announce>) => {
    const a = fixtureAnnounce(from, { checkpoint: cp });
    const { sig: _s, ...body } = a;
    return signMessage<Announce>({ ...body, v: 3, cosignatures: [c], ...over } as Announce, from.key.privateKey);
  };
  void b;

  test("announce: version 3 carries cosignatures; version 2 may not", () => {
    assert.deepEqual(parseAnnounce(JSON.parse(JSON.stringify(v3({})))).cosignatures, [c]);
    assert.throws(() => parseAnnounce(JSON.parse(JSON.stringify(v3({ v: 2 })))), (e: unknown) => e instanceof ProtocolError && e.message === "announce.cosignatures: needs message version 3 (docs/FEDERATION_PROTOCOL.md §Cosignature)");
    assert.equal(parseAnnounce(JSON.parse(JSON.stringify(fixtureAnnounce(from, { checkpoint: cp })))).cosignatures, undefined, "version 2 without cosignatures as before");
  });

  test("announce: a cosignature of another batch, another namespace, malformed, or too many is refused with 400", () => {
    const other = signCosignature({ ...c, batchId: "batch-0002" }, wkeys.get(W[0])!.privateKey);
    assert.throws(() => parseAnnounce(JSON.parse(JSON.stringify(v3({ cosignatures: [other] })))), /announce\.cosignatures\[0\]: cosigns another batch than the one announced/);
    const foreign = signCosignature({ ...c, namespace: "dao:other" }, wkeys.get(W[0])!.privateKey);
    assert.throws(() => parseAnnounce(JSON.parse(JSON.stringify(v3({ cosignatures: [foreign] })))), /announce\.cosignatures\[0\]\.namespace: is dao:other/);
    assert.throws(() => parseAnnounce(JSON.parse(JSON.stringify(v3({ cosignatures: [{ ...c, winner: { chain: "x", tx: "y" } }] })))), /announce\.cosignatures\[0\]\.winner: is not one of the verified anchors/);
    assert.throws(() => parseAnnounce(JSON.parse(JSON.stringify(v3({ cosignatures: Array(LIMITS.maxCosignaturesPerAnnounce + 1).fill(c) })))), /announce\.cosignatures: expected 0 to 64 items/);
  });

  test("bundle: version 3 carries cosignatures of the versions it names", () => {
    const bundle = signMessage({ type: "bundle", v: 3, namespace: "dao:vaultmesh", aud: "did:vm:node:r", request: `sha256:${"00".repeat(32)}`, checkpoints: [cp], receipts: [], anchors: [], cosignatures: [c], ts: 1, signer: from.did }, from.key.privateKey);
    assert.deepEqual(parseBundle(JSON.parse(JSON.stringify(bundle))).cosignatures, [c]);
    assert.throws(() => parseBundle(JSON.parse(JSON.stringify({ ...bundle, v: 2 }))), /bundle\.cosignatures: needs message version 3/);
  });
});

describe("quorum: taking in and making cosignatures", () => {
  const self = { did: "did:vm:node:self", key: generateNodeKey() };
  const me = { did: self.did, privateKey: self.key.privateKey };

  test("take: unknown signer, forged signature and another namespace are refused, never stored; a held version keeps the good one", async () => {
    await withStore(async (store) => {
      const b = version();
      await store.putBatch(b);
      const keys = witnessKeysFor(config({ k: 2, witnesses: [...W] }), { did: self.did, publicKey: self.key.publicKey });
      const stranger = generateNodeKey();
      const good = cosign(W[0], b);
      const forged = { ...cosign(W[1], b), winner: { chain: "rfc3161:test", tx: "t-1" }, ts: 5 };
      const unknown = cosign("did:vm:node:stranger", b, {}, stranger);
      const notHeld = cosign(W[2], version("b-2"));
      const r = await takeCosignatures(store, keys, NS, [good, forged, unknown, { ...good, namespace: "other" }, notHeld]);
      assert.deepEqual(r.stored, [good]);
      assert.deepEqual(r.refused.map((x) => [x.signer, x.reason.replace(/signature: .*/, "signature")]), [
        [W[1], "signature"],
        ["did:vm:node:stranger", "the signer is neither this node nor a peers.yaml entry with role witness"],
        [W[0], "is for namespace other"],
      ]);
      assert.deepEqual((await store.getBatch(NS, b.batchId, b.batchRoot))!.cosignatures, [good]);
    });
  });

  test("cosign: a witness cosigns only a version it verified, once per view, and again when its winner changes", async () => {
    await withStore(async (store) => {
      const held = version("b-held", "pending");
      await store.putBatch(held);
      const cfg = config({ k: 1, witnesses: [self.did] }, self.did);
      assert.equal(await cosignVersion(store, me, cfg, NS, held.batchId, held.batchRoot, 100), undefined, "no winner verified here: nothing to cosign");
      const b = version();
      await store.putBatch(b);
      assert.equal(await cosignVersion(store, me, config(undefined, self.did), NS, b.batchId, b.batchRoot, 100), undefined, "not a witness without a quorum");
      const first = await cosignVersion(store, me, cfg, NS, b.batchId, b.batchRoot, 100);
      assert.deepEqual(first?.winner, { chain: "rfc3161:test", tx: "t-1" });
      assert.equal(await cosignVersion(store, me, cfg, NS, b.batchId, b.batchRoot, 200), undefined, "same view: no second cosignature");
      // A stronger anchor verified: the winner changes, the witness re-cosigns, newer than before.
      await store.putAnchors(NS, b.batchId, [{ batchId: b.batchId, batchRoot: b.batchRoot, chain: "btc:regtest", tx: "ab".repeat(32), block: 5, ts: b.createdAt + 1, outcome: "verified" }]);
      const second = await cosignVersion(store, me, cfg, NS, b.batchId, b.batchRoot, 100);
      assert.deepEqual(second?.winner, { chain: "btc:regtest", tx: "ab".repeat(32) });
      assert.equal(second!.ts, 101, "later than the one it replaces even when the clock says otherwise");
      assert.deepEqual((await store.getBatch(NS, b.batchId, b.batchRoot))!.cosignatures, [second]);
      const keys = witnessKeysFor(cfg, { did: self.did, publicKey: self.key.publicKey });
      const q = await quorumOfVersions(store, cfg, keys, self.did, NS);
      assert.deepEqual(q.map((x) => [x.batchId, x.state]), [["b-1", "final"], ["b-held", "awaiting"]]);
    });
  });

  test("cosign: announces of one version arriving side by side give one cosignature, not one each", async () => {
    await withStore(async (store) => {
      const b = version();
      await store.putBatch(b);
      const cfg = config({ k: 1, witnesses: [self.did] }, self.did);
      // Each peer relaying the version starts its own onAnnounce; their cosignVersion calls overlap.
      const made = (await Promise.all(Array.from({ length: 8 }, (_, i) => cosignVersion(store, me, cfg, NS, b.batchId, b.batchRoot, 100 + i)))).filter((c) => c !== undefined);
      assert.equal(made.length, 1, "one view, one cosignature");
      assert.deepEqual((await store.getBatch(NS, b.batchId, b.batchRoot))!.cosignatures, made);
      assert.equal(await cosignVersion(store, me, cfg, NS, b.batchId, b.batchRoot, 200), undefined, "and none later for the same view");
    });
  });

  test("states: without quorum a version is final once verified here; a second DID with the same key counts once", async () => {
    await withStore(async (store) => {
      const b = version();
      await store.putBatch(b);
      await store.putBatch(version("b-held", "pending"));
      const plain = await quorumOfVersions(store, config(), new Map(), "did:vm:node:self", NS);
      assert.deepEqual(plain.map((x) => [x.batchId, x.state]), [["b-1", "final"], ["b-held", "awaiting"]]);
      const cfg = config({ k: 2, witnesses: [W[0], "did:vm:node:twin"] });
      const keys = witnessKeysFor(cfg, { did: self.did, publicKey: self.key.publicKey });
      keys.set("did:vm:node:twin", wkeys.get(W[0])!.publicKey);
      await store.putCosignatures(NS, b.batchId, b.batchRoot, [cosign(W[0], b), cosign("did:vm:node:twin", b, {}, wkeys.get(W[0])!)]);
      const q = (await quorumOfVersions(store, cfg, keys, self.did, NS, b.batchId))[0]!;
      assert.equal(q.state, "awaiting");
      assert.equal(q.cosigners.length, 1, "two DIDs, one key: one cosigner");
    });
  });
});
