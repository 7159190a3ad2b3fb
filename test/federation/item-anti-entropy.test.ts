// Anti-entropy over every item (docs/ANTI_ENTROPY.md §Attachment items): checkpoints and anchor
// claims are reconciled like receipts. Two real `serve` processes with their own state dirs; b
// does not take a's announces (a has no `announce` role at b), so everything b learns comes from
// one `sync`. b trusts only the first of two TSAs, so it rejects a claim that a verifies: it must
// still hold that claim, with its own verdict, and not fetch it again every round.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Anchor } from "../../lib/anchors/anchor.js";
import { claimDigest } from "../../lib/conflict/index.js";
import { digestBytes } from "../../lib/digest.js";
import { messageDigest } from "../../lib/messages/canonical.js";
import type { Checkpoint } from "../../lib/messages/checkpoint.js";
import { NamespaceIndexes } from "../../lib/reconcile/namespace-indexes.js";
import type { ReconcileIndex } from "../../lib/reconcile/reconcile-index.js";
import { itemId } from "../../lib/reconcile/version-items.js";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { openStore } from "../../lib/store/index.js";
import { versionLot } from "../../lib/store/namespace-state.js";
import { checkpointBy } from "../support/checkpoint.js";
import { announceOn, rewriteReceipts, sync } from "../support/item-mesh.js";
import { startItemPeer, type ItemPeer, type ItemPeerScript } from "../support/item-peer.js";
import { startMesh, MESH_NAMESPACE as NS, type Guest, type Mesh, type MeshNode } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { sealTsaBatch } from "../support/sealer.js";

let tsa: OpensslTsa;
let other: OpensslTsa;
let mesh: Mesh;
let peer: ItemPeer;
let mallory: Guest;
/** Each Request mallory was sent: its version and selector. */
const seenRequests: string[] = [];
/** What the hostile peer holds (its reconcile index) and answers to any Request. */
const hostile: ItemPeerScript = {
  answer: { anchors: [], checkpoints: [] },
  onRequest: (request) => seenRequests.push(JSON.stringify({ v: request.v, want: request.want?.length, fromTs: request.fromTs, batchId: request.batchId })),
};

before(async () => {
  tsa = createOpensslTsa();
  other = createOpensslTsa();
  peer = await startItemPeer(hostile, () => mallory);
  const url = peer.url;
  mesh = await startMesh(
    [
      { name: "a", routes: ["b"] },
      { name: "b", routes: ["a"], roles: ["serve", "request"] },
    ],
    { trustPem: `${tsa.rootPem}\n${other.rootPem}`, antiEntropyIntervalS: 3600, guests: [{ name: "mallory", roles: ["serve", "request"], url }] },
  );
  mallory = mesh.guests.get("mallory")!;
  const b = mesh.node("b");
  await b.stop();
  await writeFile(join(b.configDir, "tsa-root.pem"), tsa.rootPem);
  await b.start();
});
after(async () => {
  await peer?.close();
  await mesh?.stop();
  tsa?.cleanup();
  other?.cleanup();
});

/** Per claim digest, `chain/tx outcome`; and the winner: read from the node's own state. */
async function claimsOf(n: MeshNode, batchId: string): Promise<{ claims: Map<string, string>; winner: string | undefined }> {
  const store = await openStore(n.stateDir, { readOnly: true });
  try {
    const anchors = await store.anchors(NS, batchId);
    const winner = anchors.find((a) => a.outcome === "verified" && a.superseded_by === undefined);
    return { claims: new Map(anchors.map((a) => [a.digest!, `${a.chain}/${a.tx} ${a.outcome}`])), winner: winner && `${winner.chain}/${winner.tx}` };
  } finally {
    await store.close();
  }
}

test("anti-entropy: claims added while gossip could not reach a node arrive with one sync; claim sets and winners end equal", async () => {
  const a = mesh.node("a");
  const b = mesh.node("b");
  const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "b-items", 4, tsa);
  await announceOn(a, sealed);
  const initial = await sync(b);
  assert.deepEqual([initial.missingHere, initial.itemsHere, initial.imported], [4, 3, 4], "4 receipts, the checkpoint, one claim and the version's complete mark");

  // Two more rails on the origin, one at a time: a claim every node verifies (it wins: "a-…"
  // sorts first), and one signed by a TSA only a trusts.
  const second = { chain: "rfc3161:vmsh-test", tx: "a-second-stamp", block: 0, ts: 1_760_000_100, sig: Buffer.from(tsa.mint(digestBytes(sealed.root))).toString("base64") };
  const third = { chain: "rfc3161:vmsh-test", tx: "z-other-tsa", block: 0, ts: 1_760_000_200, sig: Buffer.from(other.mint(digestBytes(sealed.root))).toString("base64") };
  for (const anchor of [second, third]) {
    await rewriteReceipts(sealed.receiptsDir, anchor);
    await announceOn(a, sealed);
  }
  const before = await claimsOf(b, "b-items");
  assert.equal(before.claims.size, 1, "gossip did not reach b");

  const round = await sync(b);
  assert.deepEqual([round.missingHere, round.itemsHere, round.itemsRefused], [0, 2, 0]);
  const [onA, onB] = [await claimsOf(a, "b-items"), await claimsOf(b, "b-items")];
  assert.deepEqual([...onB.claims.keys()].sort(), [...onA.claims.keys()].sort(), "the same claims, by digest");
  assert.equal(onA.winner, "rfc3161:vmsh-test/a-second-stamp");
  assert.equal(onB.winner, onA.winner);
  assert.deepEqual([...onA.claims.values()].sort(), ["rfc3161:vmsh-test/a-second-stamp verified", "rfc3161:vmsh-test/tsa-b-items verified", "rfc3161:vmsh-test/z-other-tsa verified"]);
  assert.deepEqual([...onB.claims.values()].sort(), ["rfc3161:vmsh-test/a-second-stamp verified", "rfc3161:vmsh-test/tsa-b-items verified", "rfc3161:vmsh-test/z-other-tsa rejected"]);

  // b rejects a claim a verifies and holds it all the same. Every stored claim is an item,
  // whatever the verdict (docs/ANTI_ENTROPY.md §Attachment items), so both list it and
  // reconciliation sees no difference: no Request, no Announce, round after round.
  for (const n of [b, a, b]) {
    const again = await sync(n);
    assert.deepEqual(
      [again.missingHere, again.missingThere, again.itemsHere, again.itemsKnown, again.itemsThere, again.fetched, again.announced],
      [0, 0, 0, 0, 0, 0, 0],
      `${n.name}: nothing fetched, nothing announced`,
    );
  }
  assert.deepEqual([...(await claimsOf(b, "b-items")).claims.values()].sort(), [...onB.claims.values()].sort(), "b's verdicts are unchanged");
});

test("anti-entropy: a hostile peer can make a node take neither items it did not ask for nor claims of a version it does not hold", async () => {
  const a = mesh.node("a");
  const b = mesh.node("b");
  // A version a holds and b does not (b refuses a's gossip and does not sync here).
  const unheld = await sealTsaBatch(join(mesh.root, "sealer"), "b-unheld", 2, tsa, 1_760_000_500);
  await announceOn(a, unheld);
  const store = await openStore(a.stateDir, { readOnly: true });
  const unheldVersion = (await store.getBatch(NS, "b-unheld", unheld.root))!;
  const heldRoot = store.listBatches(NS).find((v) => v.batchId === "b-items")!.batchRoot;
  await store.close();

  // Genuine claims that verify on b: one of a held version (advertised), one of the same
  // version (not advertised), one of the version b does not hold (advertised).
  const stamp = (batchId: string, root: string, tx: string): Anchor => ({ batchId, batchRoot: root, chain: "rfc3161:vmsh-test", tx, block: 0, ts: 1_760_000_900, sig: Buffer.from(tsa.mint(digestBytes(root))).toString("base64") });
  const asked = stamp("b-items", heldRoot, "mallory-asked");
  const slipped = stamp("b-items", heldRoot, "mallory-slipped");
  const foreign = stamp("b-unheld", unheld.root, "mallory-foreign");

  // Mallory holds everything b holds plus the two advertised claims.
  const bStore = await openStore(b.stateDir, { readOnly: true });
  const indexes = new NamespaceIndexes(bStore);
  await indexes.prepare(NS);
  const mine = indexes.get(NS);
  const originOf = (x: Anchor) => (x.batchId === "b-items" ? bStore.batchVersions(NS, x.batchId, x.batchRoot)[0]?.origin : unheldVersion.checkpoint!.origin);
  const claimItem = (x: Anchor) => ({ ts: x.batchId === "b-items" ? 1_760_000_000 : 1_760_000_500, id: itemId("claim", x.batchId, x.batchRoot, originOf(x), claimDigest(x)) });
  mine.insert([claimItem(asked), claimItem(foreign)]);
  hostile.index = mine;
  hostile.answer = { anchors: [asked, slipped, foreign], checkpoints: [unheldVersion.checkpoint!] };
  const before = { b: (await claimsOf(b, "b-items")).claims.size, versions: bStore.listBatches(NS).length };
  indexes.close();
  await bStore.close();

  const r = await sync(b, mallory.did);
  // b holds no receipt of the namespace yet, so it first asks for whole versions as leaves (a page
  // with none: nothing imported), then for the two advertised items.
  assert.deepEqual(seenRequests, [JSON.stringify({ v: 3 }), JSON.stringify({ v: 3, want: 2 })]);
  assert.equal(r.itemsHere, 2, "both advertised claims were asked for and answered");
  assert.equal(r.itemsRefused, 3, "the claim not asked for, the claim of a version b does not hold, and the checkpoint not asked for");
  const after = await claimsOf(b, "b-items");
  assert.equal(after.claims.size, before.b + 1);
  assert.ok(after.claims.has(claimDigest(asked)));
  assert.ok(!after.claims.has(claimDigest(slipped)));
  const check = await openStore(b.stateDir, { readOnly: true });
  try {
    assert.equal(check.listBatches(NS).length, before.versions, "no version was created");
    assert.equal(await check.getBatch(NS, "b-unheld", unheld.root), undefined);
  } finally {
    await check.close();
  }
});

test("anti-entropy: a version held without its receipts, whose ids another origin's version of the root holds, is pulled whole", async () => {
  const a = mesh.node("a");
  const b = mesh.node("b");
  await sync(b); // whatever the tests before left b without
  const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "b-shared", 4, tsa, 1_760_000_700);
  await announceOn(a, sealed);
  // Both nodes also hold another origin's version of the same root, active, whose lot comes first:
  // each serves that copy of every receipt id (docs/STATE.md §Layout). b holds a's version with no
  // receipt at all, so receipt ids alone show no gap between a and b.
  // Copies of one root's two active claims are served by lot (origin and root, never ts): an eve whose lot comes first.
  let n = 0;
  while (versionLot({ origin: `did:vm:node:eve-${n}`, batchRoot: sealed.root }) > versionLot({ origin: a.did, batchRoot: sealed.root })) n++;
  const eve = { did: `did:vm:node:eve-${n}`, key: generateNodeKey() };
  const eveCheckpoint = checkpointBy(eve, { namespace: NS, batchId: "b-shared", batchRoot: sealed.root, size: 4, createdAt: 1_760_000_600 });
  const aStore = await openStore(a.stateDir);
  const genuine = (await aStore.getBatch(NS, "b-shared", sealed.root))!;
  const eveVersion = { namespace: NS, batchId: "b-shared", batchRoot: sealed.root, createdAt: 1_760_000_600, receipts: genuine.receipts.map((r) => ({ ...r, ts: 1_760_000_600 })), anchors: genuine.anchors, checkpoint: eveCheckpoint };
  try {
    await aStore.putBatch(eveVersion);
  } finally {
    await aStore.close();
  }
  const bStore = await openStore(b.stateDir);
  try {
    await bStore.putBatch(eveVersion);
    await bStore.putBatch({ namespace: NS, batchId: "b-shared", batchRoot: sealed.root, createdAt: genuine.createdAt, receipts: [], anchors: genuine.anchors, checkpoint: genuine.checkpoint! });
  } finally {
    await bStore.close();
  }
  const held = async () => {
    const s = await openStore(b.stateDir, { readOnly: true });
    try {
      return s.batchVersions(NS, "b-shared", sealed.root).map((v) => `${v.origin} ${v.receiptCount}`).sort();
    } finally {
      await s.close();
    }
  };
  assert.deepEqual(await held(), [`${a.did} 0`, `${eve.did} 4`]);
  const round = await sync(b);
  assert.equal(round.missingHere, 0, "no receipt id was missing");
  assert.ok(Number(round.itemsHere) >= 1, "the complete item of a's version was");
  assert.deepEqual(await held(), [`${a.did} 4`, `${eve.did} 4`], "a's version is whole on b");
  const again = await sync(b);
  assert.deepEqual([again.missingHere, again.itemsHere, again.fetched], [0, 0, 0], "then in sync");
});
