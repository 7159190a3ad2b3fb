// Every stored claim is an anti-entropy item, whatever its verdict, offered as evidence
// (docs/ANTI_ENTROPY.md §Attachment items): the receiver verifies each one itself, keeps its own
// verdict, and takes claims by item id only into a version's room under the per-version claim cap.
// Two real `serve` processes with their own state dirs; b does not take a's Announces (a has no
// `announce` role at b), so what b learns comes from anti-entropy alone. Mallory, an admitted
// peer, answers reconcile rounds and Requests with what the test makes up.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Anchor } from "../../lib/anchors/anchor.js";
import { claimDigest } from "../../lib/conflict/index.js";
import { digestBytes } from "../../lib/digest.js";
import { messageDigest } from "../../lib/messages/canonical.js";
import { MAX_CLAIMS_PER_VERSION } from "../../lib/pipeline/import.js";
import { NamespaceIndexes } from "../../lib/reconcile/namespace-indexes.js";
import type { ReconcileIndex } from "../../lib/reconcile/reconcile-index.js";
import { itemId } from "../../lib/reconcile/version-items.js";
import { openStore } from "../../lib/store/index.js";
import { announceOn, rewriteReceipts, sync } from "../support/item-mesh.js";
import { startItemPeer, type ItemPeer, type ItemPeerScript } from "../support/item-peer.js";
import { startMesh, MESH_NAMESPACE as NS, type Guest, type Mesh, type MeshNode } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { sealTsaBatch, type SealedFiles } from "../support/sealer.js";

let tsa: OpensslTsa;
let untrusted: OpensslTsa;
let mesh: Mesh;
let peer: ItemPeer;
let mallory: Guest;
/** How many `want` Requests mallory was sent. */
let wants = 0;
/** What mallory holds (its reconcile index) and the claims it answers any Request with. */
const hostile: ItemPeerScript = { answer: { anchors: [], checkpoints: [] }, onRequest: (request) => void (request.want !== undefined && wants++) };

before(async () => {
  tsa = createOpensslTsa();
  untrusted = createOpensslTsa();
  peer = await startItemPeer(hostile, () => mallory);
  const url = peer.url;
  mesh = await startMesh(
    [
      { name: "a", routes: ["b"] },
      { name: "b", routes: ["a"], roles: ["serve", "request"] },
    ],
    { trustPem: tsa.rootPem, antiEntropyIntervalS: 3600, guests: [{ name: "mallory", roles: ["serve", "request"], url }] },
  );
  mallory = mesh.guests.get("mallory")!;
});
after(async () => {
  await peer?.close();
  await mesh?.stop();
  tsa?.cleanup();
  untrusted?.cleanup();
});

/** Every claim record of a batch as the node stores it (verdict, reason, evidence), by digest; and the winner. */
async function claimsOf(n: MeshNode, batchId: string): Promise<{ records: Map<string, string>; verdicts: Map<string, string>; winner: string | undefined }> {
  const store = await openStore(n.stateDir, { readOnly: true });
  try {
    const anchors = await store.anchors(NS, batchId);
    const winner = anchors.find((a) => a.outcome === "verified" && a.superseded_by === undefined);
    return {
      records: new Map(anchors.map((a) => [a.digest!, JSON.stringify(a)])),
      verdicts: new Map(anchors.map((a) => [a.digest!, `${a.chain}/${a.tx} ${a.outcome}`])),
      winner: winner && `${winner.chain}/${winner.tx}`,
    };
  } finally {
    await store.close();
  }
}

/** A batch a announces and b takes by one sync; its stored origin. */
async function spread(id: string, createdAt: number): Promise<{ sealed: SealedFiles; origin: string }> {
  const sealed = await sealTsaBatch(join(mesh.root, "sealer"), id, 3, tsa, createdAt);
  await announceOn(mesh.node("a"), sealed);
  await sync(mesh.node("b"));
  const store = await openStore(mesh.node("b").stateDir, { readOnly: true });
  try {
    const origin = store.batchVersions(NS, id, sealed.root)[0]?.origin;
    assert.ok(origin !== undefined, `b holds ${id}`);
    return { sealed, origin };
  } finally {
    await store.close();
  }
}

/** Makes mallory hold what b holds plus `claims` of the version (listed as items), and answer with `claims`. */
async function malloryOffers(b: MeshNode, sealed: SealedFiles, origin: string, createdAt: number, claims: Anchor[]): Promise<void> {
  const store = await openStore(b.stateDir, { readOnly: true });
  const indexes = new NamespaceIndexes(store);
  try {
    await indexes.prepare(NS);
    const index = indexes.get(NS);
    index.insert(claims.map((c) => ({ ts: createdAt, id: itemId("claim", sealed.id, sealed.root, origin, claimDigest(c)) })));
    hostile.index = index;
    hostile.answer.anchors = claims;
  } finally {
    indexes.close();
    await store.close();
  }
}

test("claim items: a node that missed the Announce of a false claim gets it from one anti-entropy session and rejects it by its own check", async () => {
  const a = mesh.node("a");
  const b = mesh.node("b");
  const { sealed } = await spread("c-false", 1_760_002_000);
  // A genuine token of the trusted TSA over another root: a false claim for this batch.
  const otherRoot = `sha256:${randomBytes(32).toString("hex")}`;
  const falseClaim = { chain: "rfc3161:vmsh-test", tx: "z-false", block: 0, ts: 1_760_002_100, sig: Buffer.from(tsa.mint(digestBytes(otherRoot))).toString("base64") };
  await rewriteReceipts(sealed.receiptsDir, falseClaim);
  await announceOn(a, sealed);
  const onA = await claimsOf(a, "c-false");
  assert.deepEqual([...onA.verdicts.values()].sort(), ["rfc3161:vmsh-test/tsa-c-false verified", "rfc3161:vmsh-test/z-false rejected"]);
  assert.equal((await claimsOf(b, "c-false")).verdicts.size, 1, "the Announce did not reach b");

  const round = await sync(b);
  assert.deepEqual([round.itemsHere, round.rejected, round.fetched, round.itemsRefused, round.claimsOverCap], [1, 1, 0, 0, 0], "the false claim was fetched as an item and rejected");
  const onB = await claimsOf(b, "c-false");
  assert.deepEqual(onB.verdicts, onA.verdicts, "the same claims with the same verdicts");
  assert.equal(onB.winner, onA.winner);
  const record = JSON.parse([...onB.records.values()].find((r) => r.includes('"z-false"'))!);
  assert.equal(record.outcome, "rejected");
  assert.match(record.reason, /./, "b's own verifier says why");
  assert.equal(typeof record.evidence?.checkedAt, "number", "checked by b");

  // Both now list the claim: nothing left to fetch, announce or know, either way.
  for (const n of [b, a]) {
    const again = await sync(n);
    assert.deepEqual([again.missingHere, again.missingThere, again.itemsHere, again.itemsThere, again.itemsKnown, again.fetched, again.announced], [0, 0, 0, 0, 0, 0, 0], `${n.name}: in sync`);
  }
});

test("claim items: a crafted claim a hostile peer offers as an item is verified by the receiver and stored rejected, never verified", async () => {
  const a = mesh.node("a");
  const b = mesh.node("b");
  const createdAt = 1_760_003_000;
  const { sealed, origin } = await spread("c-crafted", createdAt);
  // A real RFC 3161 token over the batch's own root, by a TSA no node trusts.
  const crafted: Anchor = { batchId: sealed.id, batchRoot: sealed.root, chain: "rfc3161:vmsh-test", tx: "a-crafted", block: 0, ts: createdAt + 50, sig: Buffer.from(untrusted.mint(digestBytes(sealed.root))).toString("base64") };
  await malloryOffers(b, sealed, origin, createdAt, [crafted]);
  const beforeB = await claimsOf(b, "c-crafted");
  const wantsBefore = wants;

  const r = await sync(b, mallory.did);
  assert.deepEqual([r.itemsHere, r.rejected, r.itemsRefused, r.imported], [1, 1, 0, 0]);
  const afterB = await claimsOf(b, "c-crafted");
  const digest = claimDigest(crafted);
  assert.equal(afterB.verdicts.get(digest), "rfc3161:vmsh-test/a-crafted rejected", "b's own verdict");
  assert.ok(![...afterB.verdicts.values()].some((v) => v.includes("a-crafted verified")));
  assert.equal(afterB.winner, beforeB.winner, "the winner is unchanged (a-crafted would sort first)");
  afterB.records.delete(digest);
  assert.deepEqual(afterB.records, beforeB.records, "every other record unchanged");

  // b holds it now, as an item: the next session with mallory finds nothing to fetch.
  const again = await sync(b, mallory.did);
  assert.deepEqual([again.missingHere, again.itemsHere, again.itemsKnown, again.rejected], [0, 0, 0, 0]);
  assert.equal(wants, wantsBefore + 1, "one want Request in two sessions");
  assert.equal(r.claimsOverCap, 0);

  // b offers it to a as evidence; a verifies it itself and rejects it too.
  const fromB = await sync(a);
  assert.deepEqual([fromB.itemsHere, fromB.rejected], [1, 1]);
  assert.equal((await claimsOf(a, "c-crafted")).verdicts.get(digest), "rfc3161:vmsh-test/a-crafted rejected");
});

test("claim items: claims offered by item id past the per-version cap are refused unverified and change nothing", async () => {
  const b = mesh.node("b");
  const createdAt = 1_760_004_000;
  const { sealed, origin } = await spread("c-cap", createdAt);
  const junk = (n: number): Anchor[] => Array.from({ length: n }, (_, i) => ({ batchId: sealed.id, batchRoot: sealed.root, chain: "rfc3161:vmsh-test", tx: `junk-${randomBytes(6).toString("hex")}-${i}`, block: 0, ts: createdAt + 60, sig: randomBytes(96).toString("base64") }));
  const over = 6;
  // b holds the version's one genuine claim: room for MAX_CLAIMS_PER_VERSION − 1 more.
  const first = junk(MAX_CLAIMS_PER_VERSION - 1 + over);
  await malloryOffers(b, sealed, origin, createdAt, first);
  const r = await sync(b, mallory.did);
  assert.deepEqual(
    [r.itemsHere, r.rejected, r.claimsOverCap, r.itemsRefused, r.missingHere],
    [MAX_CLAIMS_PER_VERSION - 1, MAX_CLAIMS_PER_VERSION - 1, over, over, 0],
    "as many taken and verified as the version has room for; the rest refused before verification",
  );
  const full = await claimsOf(b, "c-cap");
  assert.equal(full.records.size, MAX_CLAIMS_PER_VERSION);
  assert.equal([...full.verdicts.values()].filter((v) => v.endsWith(" verified")).length, 1, "the genuine claim kept");

  // Mallory keeps pushing: the refused ones and as many new ones again. Nothing is verified, nothing changes.
  const second = [...first, ...junk(MAX_CLAIMS_PER_VERSION + over)];
  await malloryOffers(b, sealed, origin, createdAt, second);
  const again = await sync(b, mallory.did);
  const offered = over + MAX_CLAIMS_PER_VERSION + over;
  // Refused: the offered claims past the cap, and the ones b holds already, which mallory sent unasked.
  assert.deepEqual([again.itemsHere, again.rejected, again.claimsOverCap, again.itemsRefused, again.missingHere], [0, 0, offered, offered + MAX_CLAIMS_PER_VERSION - 1, 0]);
  const after = await claimsOf(b, "c-cap");
  assert.deepEqual(after.records, full.records, "every record as it was: no claim added, evicted or re-checked");
  assert.equal(after.winner, full.winner);
});
