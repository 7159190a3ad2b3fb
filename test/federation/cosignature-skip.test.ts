/**
 * A witness cosignature whose signer the receiving node does not list goes round once, not every
 * round (lib/federation/item-skips.ts, docs/ANTI_ENTROPY.md §Attachment items): three `serve`
 * processes with their own state, a (lists witness w), w (cosigns), b (does not list w). Rounds of
 * anti-entropy between a and b are counted one by one with `sync`: the first closes the gap of the
 * cosignature (b fetches it and drops it; a offers it), every later one finds nothing to do, and
 * once b lists w the cosignature is fetched and kept.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { MESH_NAMESPACE as NS, startMesh, waitUntil, type Mesh } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { sealTsaBatch } from "../support/sealer.js";

let mesh: Mesh;
let tsa: OpensslTsa;

before(async () => {
  tsa = createOpensslTsa();
  mesh = await startMesh(
    [
      { name: "a", routes: ["b", "w"] },
      { name: "b", routes: ["a"] },
      { name: "w", routes: ["a"] },
    ],
    { trustPem: tsa.rootPem, witnesses: ["w"], antiEntropyIntervalS: 3600 },
  );
  for (const n of ["a", "w"]) await mesh.setQuorum(n, { k: 1, witnesses: ["did:vm:node:w"] });
  // b admits a only: w is no witness of b's namespace.
  const a = mesh.node("a");
  await mesh.writePeers("b", [{ did: a.did, url: a.url, roles: ["announce", "serve", "request", "origin"], key: a.verifyKey }]);
});
after(async () => {
  try {
    await mesh?.stop();
  } finally {
    tsa?.cleanup();
  }
});

interface Round {
  ok: boolean;
  itemsHere: number;
  itemsThere: number;
  missingHere: number;
  missingThere: number;
  itemsKnown: number;
}

async function round(from: string, peer: string): Promise<Round> {
  const r = await mesh.node(from).cli("sync", "--namespace", NS, "--peer", mesh.node(peer).did, "--json");
  assert.equal(r.code, 0, r.stdout + r.stderr);
  const report = (JSON.parse(r.stdout) as { peers: Round[] }).peers[0]!;
  assert.equal(report.ok, true, r.stdout);
  return report;
}

const gap = (r: Round) => r.itemsHere + r.itemsThere + r.missingHere + r.missingThere;

test("anti-entropy: a cosignature from a signer b does not list is fetched and offered once, then never again", { timeout: 180_000 }, async () => {
  const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "b-cosig", 3, tsa);
  const r = await mesh.node("a").cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
  assert.equal(r.code, 0, r.stdout + r.stderr);
  // w verifies and cosigns; a keeps the cosignature (k = 1: final).
  await waitUntil(async () => {
    const s = JSON.parse((await mesh.node("a").cli("status", "--json")).stdout) as { quorum: Array<{ batchId: string; state: string }> };
    return s.quorum.some((q) => q.batchId === "b-cosig" && q.state === "final");
  }, 60_000, "a holds w's cosignature");
  await waitUntil(async () => JSON.parse((await mesh.node("b").cli("status", "--json")).stdout).counts?.receipts === 3, 60_000, "b holds the batch");

  // b's rounds with a: the cosignature is fetched at most once (by gossip or the first round), then known.
  const bRounds = [await round("b", "a"), await round("b", "a"), await round("b", "a"), await round("b", "a")];
  assert.ok(bRounds[0]!.itemsHere <= 1, JSON.stringify(bRounds[0]));
  assert.deepEqual(bRounds.slice(1).map(gap), [0, 0, 0], `b: nothing to do after the first round: ${JSON.stringify(bRounds)}`);
  assert.ok(bRounds.slice(1).every((x) => x.itemsKnown >= 1), "the refused cosignature is known, not fetched");
  // a's rounds with b: offered once, then not counted as a difference again.
  const aRounds = [await round("a", "b"), await round("a", "b"), await round("a", "b"), await round("a", "b")];
  assert.deepEqual(aRounds.slice(1).map(gap), [0, 0, 0], `a: nothing to do after the first round: ${JSON.stringify(aRounds)}`);
  // The daemons' own logs agree: no gap closed with the other after those rounds.
  const closed = (n: string) => mesh.node(n).logs.filter((l) => /anti-entropy closed a gap/.test(l)).length;
  const [aClosed, bClosed] = [closed("a"), closed("b")];
  await round("b", "a");
  await round("a", "b");
  assert.deepEqual([closed("a"), closed("b")], [aClosed, bClosed]);

  // Once b lists w as a witness, the cosignature is wanted again and kept.
  const [a, w] = [mesh.node("a"), mesh.node("w")];
  await mesh.writePeers("b", [
    { did: a.did, url: a.url, roles: ["announce", "serve", "request", "origin"], key: a.verifyKey },
    { did: w.did, roles: ["witness"], key: w.verifyKey },
  ]);
  const again = await round("b", "a");
  assert.equal(again.itemsHere, 1, JSON.stringify(again));
  const after = await round("b", "a");
  assert.equal(gap(after), 0, JSON.stringify(after));
});
