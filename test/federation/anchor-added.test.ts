// Convergence of anchors added later (docs/FEDERATION_SEMANTICS.md §7. Convergence): upstream's
// writers anchor one rail at a time and rewrite the receipts each time, so a batch every node
// already holds is announced again with one more anchor. Every node must take the new claim,
// verify it with its own verifier, and end with the same winner.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { digestBytes } from "../../lib/digest.js";
import { openStore } from "../../lib/store/index.js";
import { activeBatchIds, LINE_ABC, startMesh, waitUntil, MESH_NAMESPACE as NS, type Mesh, type MeshNode } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { sealTsaBatch } from "../support/sealer.js";

let tsa: OpensslTsa;
let mesh: Mesh;

before(async () => {
  tsa = createOpensslTsa();
  // Gossip alone: with anti-entropy on (2 s), c could take a batch by anti-entropy while b's
  // relay is being pulled, and the pull's log line would then land after the second test's count.
  // Anti-entropy of claims is tested in item-anti-entropy.test.ts.
  mesh = await startMesh(LINE_ABC, { trustPem: tsa.rootPem, antiEntropyIntervalS: 3600 });
});
after(async () => {
  await mesh?.stop();
  tsa?.cleanup();
});

/** The batch's stored anchors as `chain/tx outcome`, and its winner, read from the node's own state. */
async function anchorsOf(n: MeshNode, batchId: string): Promise<{ anchors: string[]; winner: string | undefined }> {
  const store = await openStore(n.stateDir, { readOnly: true });
  try {
    const anchors = await store.anchors(NS, batchId);
    const winner = anchors.find((a) => a.outcome === "verified" && a.superseded_by === undefined);
    return { anchors: anchors.map((a) => `${a.chain}/${a.tx} ${a.outcome}`).sort(), winner: winner && `${winner.chain}/${winner.tx}` };
  } finally {
    await store.close();
  }
}

test("convergence: an anchor added to a batch every node holds reaches every node, and all agree on the new winner", async () => {
  const a = mesh.node("a");
  const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "b-0100", 8, tsa);
  assert.equal((await a.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir)).code, 0);
  for (const n of ["b", "c"]) await waitUntil(async () => (await activeBatchIds(mesh.node(n))).includes("b-0100"), 30_000, `${n} to hold b-0100`);
  assert.equal((await anchorsOf(mesh.node("c"), "b-0100")).winner, "rfc3161:vmsh-test/tsa-b-0100");

  // The writer adds a second anchor and rewrites every receipt with it, as upstream does. It
  // ties with the first on rail and block, so the (chain, tx) order decides: "a-…" wins.
  const token = Buffer.from(tsa.mint(digestBytes(sealed.root), { noNonce: false })).toString("base64");
  const second = { chain: "rfc3161:vmsh-test", tx: "a-second-stamp", block: 0, ts: 1_760_000_100, sig: token };
  for (const name of await readdir(sealed.receiptsDir)) {
    const file = join(sealed.receiptsDir, name);
    await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, "utf8")), anchor: second }));
  }
  const again = await a.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
  assert.equal(again.code, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout).report.winner, "rfc3161:vmsh-test/a-second-stamp");

  const expected = { anchors: ["rfc3161:vmsh-test/a-second-stamp verified", "rfc3161:vmsh-test/tsa-b-0100 verified"], winner: "rfc3161:vmsh-test/a-second-stamp" };
  for (const n of ["b", "c"]) {
    await waitUntil(async () => (await anchorsOf(mesh.node(n), "b-0100")).winner === expected.winner, 30_000, `${n} to take the added anchor as winner`);
    assert.deepEqual(await anchorsOf(mesh.node(n), "b-0100"), expected);
  }
  // c, which talks only to b, got it through b's relay.
  await mesh.node("c").waitForLog(/imported new anchors of a held batch.*"from":"did:vm:node:b"/);
});

test("convergence: re-announcing a batch with no new anchor is neither imported nor relayed", async () => {
  const b = mesh.node("b");
  const c = mesh.node("c");
  const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "b-0101", 3, tsa);
  const a = mesh.node("a");
  assert.equal((await a.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir)).code, 0);
  await waitUntil(async () => (await activeBatchIds(c)).includes("b-0101"), 30_000, "c to hold b-0101");
  const seen = (n: MeshNode) => n.logs.filter((l) => /b-0101/.test(l) && /imported/.test(l)).length;
  // The state can show b-0101 before the import's log line has come through the pipe (a busy
  // machine): count from the moment both logs show the first import.
  await waitUntil(async () => seen(b) >= 1 && seen(c) >= 1, 30_000, "b's and c's logs to show the first import");
  const [beforeB, beforeC] = [seen(b), seen(c)];
  const again = await a.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(JSON.parse(again.stdout).deliveries, [{ peer: "did:vm:node:b", outcome: "delivered" }], "the announce did reach b");
  // b answered 202 and handled it; give it a moment, then see that nothing was imported or relayed.
  await b.health();
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual([seen(b), seen(c)], [beforeB, beforeC]);
});
