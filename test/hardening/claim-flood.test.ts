/**
 * A hostile admitted peer floods a held batch with bogus anchor claims (docs/FEDERATION_SEMANTICS.md
 * §6. Threat model), against real `serve` processes in the line a – b – c with "mallory" admitted
 * and routed on every node, signing with the `jose` package. The attack this covers: claims are
 * kept apart by digest and a version keeps at most MAX_CLAIMS_PER_VERSION of them, so bogus claims
 * that filled the bound would keep every later genuine anchor out; and anti-entropy, which offers
 * every held claim as evidence (docs/ANTI_ENTROPY.md §Attachment items), could make every node
 * verify the flood. Now unverified records give way to new claims that an Announce brings, and a
 * node takes claims by item id only into a version's room under the bound, each verified by
 * itself: the genuine second stamp reaches every node and wins, and no node holds more than the
 * bound or a bogus claim it did not reject itself.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Anchor } from "../../lib/anchors/anchor.js";
import { digestBytes } from "../../lib/digest.js";
import { MAX_CLAIMS_PER_VERSION } from "../../lib/pipeline/import.js";
import { openStore } from "../../lib/store/index.js";
import { activeBatchIds, LINE_ABC, startMesh, waitUntil, MESH_NAMESPACE as NS, type Guest, type Mesh, type MeshNode } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { sealTsaBatch } from "../support/sealer.js";
import { hostileAnnounce, hostileRequest, startHostileServer, type HostileServer } from "./hostile-server.js";

let tsa: OpensslTsa;
let mesh: Mesh;
let mallory: Guest;
let server: HostileServer;

before(async () => {
  tsa = createOpensslTsa();
  server = await startHostileServer(() => mallory);
  mesh = await startMesh(LINE_ABC, { trustPem: tsa.rootPem, guests: [{ name: "mallory", roles: ["announce", "serve", "request"], url: server.url }] });
  mallory = mesh.guests.get("mallory")!;
});
after(async () => {
  await mesh?.stop();
  await server?.close();
  tsa?.cleanup();
});

/** A node's claims of one batch as `tx outcome`, and its winner, from its own state. */
async function claimsOf(n: MeshNode, batchId: string): Promise<{ claims: string[]; winner: string | undefined }> {
  const store = await openStore(n.stateDir, { readOnly: true });
  try {
    const anchors = await store.anchors(NS, batchId);
    const winner = anchors.find((a) => a.outcome === "verified" && a.superseded_by === undefined);
    return { claims: anchors.map((a) => `${a.tx} ${a.outcome}`).sort(), winner: winner && `${winner.chain}/${winner.tx}` };
  } finally {
    await store.close();
  }
}

test("claim flood: bogus claims past the bound give way to a genuine anchor added later, and spread only as rejected evidence within the bound", async () => {
  const [a, b, c] = [mesh.node("a"), mesh.node("b"), mesh.node("c")];
  const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "b-flood", 6, tsa);
  assert.equal((await a.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir)).code, 0);
  for (const n of [b, c]) await waitUntil(async () => (await activeBatchIds(n)).includes("b-flood"), 30_000, `${n.name} to hold b-flood`);

  // Mallory reads the checkpoint from b like any peer, then sends b more bogus claims than a
  // version keeps, 16 per Announce: each names a TSA whose "token" is random bytes.
  const served = await hostileRequest(mallory, b, { batchId: "b-flood" });
  const checkpoint = served.checkpoints[0]!;
  const bogus = (i: number): Anchor => ({ batchId: "b-flood", batchRoot: sealed.root, chain: "rfc3161:vmsh-test", tx: `bogus-${String(i).padStart(3, "0")}`, block: 0, ts: 1_760_000_050, sig: randomBytes(96).toString("base64") });
  const total = MAX_CLAIMS_PER_VERSION + 16;
  for (let i = 0; i < total; i += 16) {
    assert.equal(await hostileAnnounce(mallory, b, "b-flood", sealed.root, checkpoint, Array.from({ length: 16 }, (_, k) => bogus(i + k))), 202);
  }
  await waitUntil(async () => b.logs.filter((l) => /imported new anchors of a held batch.*"batch":"b-flood".*"from":"did:vm:node:mallory"/.test(l)).length >= total / 16, 30_000, "b to take every flood announce");
  const flooded = await claimsOf(b, "b-flood");
  assert.ok(flooded.claims.length <= MAX_CLAIMS_PER_VERSION, `b keeps at most ${MAX_CLAIMS_PER_VERSION} claims, holds ${flooded.claims.length}`);
  assert.ok(flooded.claims.includes("tsa-b-flood verified"), "the genuine verified claim is never the one that gives way");
  assert.ok(flooded.claims.filter((x) => x.startsWith("bogus-")).every((x) => x.endsWith(" rejected")));

  // The origin's writer adds a second stamp (it sorts first, so it wins) and re-announces.
  const token = Buffer.from(tsa.mint(digestBytes(sealed.root), { noNonce: false })).toString("base64");
  const second = { chain: "rfc3161:vmsh-test", tx: "a-second-stamp", block: 0, ts: 1_760_000_100, sig: token };
  for (const name of await readdir(sealed.receiptsDir)) {
    const file = join(sealed.receiptsDir, name);
    await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, "utf8")), anchor: second }));
  }
  // a takes b's bogus claims as evidence (rejected by its own check) before it re-announces: they
  // are not the sealer's, so the re-announce still exits 0 and names no rejected claim of its own.
  const evidence = await a.cli("sync", "--namespace", NS, "--peer", b.did, "--json");
  assert.equal(JSON.parse(evidence.stdout).peers[0].ok, true, evidence.stderr);
  assert.ok((await claimsOf(a, "b-flood")).claims.some((x) => x.startsWith("bogus-") && x.endsWith(" rejected")), "a holds bogus claims as rejected evidence");
  const again = await a.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
  assert.equal(again.code, 0, again.stdout + again.stderr);
  const announced = JSON.parse(again.stdout);
  assert.deepEqual(announced.rejectedClaims, []);
  assert.ok(announced.report.anchors.some((x: { tx: string; outcome: string }) => x.tx.startsWith("bogus-") && x.outcome === "rejected"));
  const winner = "rfc3161:vmsh-test/a-second-stamp";
  for (const n of [b, c]) await waitUntil(async () => (await claimsOf(n, "b-flood")).winner === winner, 30_000, `${n.name} to take the genuine second stamp despite the flood`);

  // A sync from c to b, which holds the bogus claims, offers them to c as evidence: c verifies each
  // itself, rejects it, and takes no more than the version has room for; the genuine stamp still wins.
  const synced = await c.cli("sync", "--namespace", NS, "--peer", b.did, "--json");
  const report = JSON.parse(synced.stdout).peers[0];
  assert.equal(report.ok, true, synced.stderr);
  assert.equal(synced.code, report.rejected > 0 ? 1 : 0, "sync exits 1 when it rejected a claim");
  for (const n of [a, b, c]) {
    const held = await claimsOf(n, "b-flood");
    assert.equal(held.winner, winner, n.name);
    assert.ok(held.claims.length <= MAX_CLAIMS_PER_VERSION, `${n.name} keeps at most ${MAX_CLAIMS_PER_VERSION} claims, holds ${held.claims.length}`);
    assert.deepEqual(held.claims.filter((x) => !x.startsWith("bogus-")), ["a-second-stamp verified", "tsa-b-flood verified"], n.name);
    assert.ok(held.claims.filter((x) => x.startsWith("bogus-")).every((x) => x.endsWith(" rejected")), `${n.name} rejected every bogus claim it holds`);
  }
  assert.ok((await claimsOf(c, "b-flood")).claims.length > 2, "c holds the bogus claims as rejected evidence");
});
