// A witness cosignature a node learns by anti-entropy (not by an Announce) is relayed to its other
// peers, as one an Announce brought is (docs/ANTI_ENTROPY.md §Attachment items; the gap the chaos
// run left open, docs/RELIABILITY.md §Figures). Three real `serve` processes in the line
// a – b – c, each with its own state directory; b takes no Announce from a, and anti-entropy
// runs once an hour (and once at start), so b learns from a only in the round a restart starts,
// and c, routed to b only, gets the cosignature only from b's relay.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { wireAnchor } from "../../lib/federation/answer-request.js";
import { messageDigest } from "../../lib/messages/canonical.js";
import { signMessage } from "../../lib/messages/authenticate.js";
import { signCosignature, type Cosignature } from "../../lib/messages/cosignature.js";
import type { Announce } from "../../lib/messages/schema.js";
import { openStore } from "../../lib/store/index.js";
import { startMesh, waitUntil, MESH_NAMESPACE as NS, type Guest, type Mesh, type MeshNode } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { sealTsaBatch, type SealedFiles } from "../support/sealer.js";

let tsa: OpensslTsa;
let mesh: Mesh;
let g: Guest;

before(async () => {
  tsa = createOpensslTsa();
  mesh = await startMesh(
    [
      { name: "a", routes: ["b"] },
      { name: "b", routes: ["a", "c"], roles: ["serve", "request"] },
      { name: "c", routes: ["b"] },
    ],
    { trustPem: tsa.rootPem, antiEntropyIntervalS: 3600, guests: [{ name: "g", roles: ["announce", "witness"] }] },
  );
  g = mesh.guests.get("g")!;
  for (const n of ["a", "b", "c"]) await mesh.setQuorum(n, { k: 1, witnesses: [g.did] });
});
after(async () => {
  await mesh?.stop();
  tsa?.cleanup();
});

/** The stored version on `n`, read without a lock. */
async function versionOn(n: MeshNode, sealed: SealedFiles) {
  const store = await openStore(n.stateDir, { readOnly: true });
  try {
    return await store.getBatch(NS, sealed.id, sealed.root);
  } finally {
    await store.close();
  }
}

test("cosignature relay: a cosignature b learns by anti-entropy reaches c, which hears of it from b alone", async () => {
  const [a, b, c] = [mesh.node("a"), mesh.node("b"), mesh.node("c")];
  const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "r-1", 3, tsa);
  const r = await a.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
  assert.equal(JSON.parse(r.stdout).deliveries.find((d: { peer: string }) => d.peer === b.did)?.outcome, "refused", "b takes no Announce from a");
  // b's round at start brings it the batch; b relays the batch it made active to c.
  await b.stop();
  await b.start();
  await waitUntil(async () => (await versionOn(c, sealed)) !== undefined, 30_000, "c to hold r-1 through b");
  assert.deepEqual((await versionOn(b, sealed))?.cosignatures ?? [], []);

  // The witness g cosigns the version and tells a alone; a's relay to b is refused.
  const held = (await versionOn(a, sealed))!;
  const winner = { chain: held.anchors[0]!.chain, tx: held.anchors[0]!.tx };
  const cosignature: Cosignature = signCosignature({ namespace: NS, origin: a.did, batchId: sealed.id, batchRoot: sealed.root, checkpoint: messageDigest(held.checkpoint!), winner, verified: [winner], ts: Math.floor(Date.now() / 1000), signer: g.did }, g.key.privateKey);
  const announce = signMessage<Announce>({ type: "announce", v: 3, namespace: NS, aud: a.did, batchId: sealed.id, batchRoot: sealed.root, checkpoint: held.checkpoint!, anchors: held.anchors.map(wireAnchor), cosignatures: [cosignature], ts: Math.floor(Date.now() / 1000), signer: g.did }, g.key.privateKey);
  const res = await fetch(`${a.url}/federation/announce`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(announce) });
  assert.equal(res.status, 202, await res.text());
  await waitUntil(async () => ((await versionOn(a, sealed))?.cosignatures ?? []).some((x) => x.sig === cosignature.sig), 30_000, "a to store g's cosignature");
  assert.deepEqual((await versionOn(b, sealed))?.cosignatures ?? [], [], "a's relay did not reach b");

  // b's next round (at its restart) fetches the cosignature from a as an item; b relays the version to c.
  await b.stop();
  await b.start();
  await waitUntil(async () => ((await versionOn(b, sealed))?.cosignatures ?? []).some((x) => x.sig === cosignature.sig), 30_000, "b to fetch g's cosignature from a");
  await waitUntil(async () => ((await versionOn(c, sealed))?.cosignatures ?? []).some((x) => x.sig === cosignature.sig), 30_000, "c to get g's cosignature by b's relay");
});
