// A batch version is kept as its leaves by its origin's `announce` and by every node that pulls it
// after an Announce (docs/STATE.md §Leaves form, docs/FEDERATION_PROTOCOL.md §Leaves): the serving
// peer sends it whole as leaves, the puller rebuilds the tree and keeps the leaves, so a claim or cosignature written later rewrites about
// 45 bytes a receipt instead of a Merkle path each. Every receipt read back is the origin's, path
// and all. A serving peer whose leaves do not rebuild to the origin's signed root is refused before
// anything is stored, and the pull goes on to the next serving peer. Three real `serve` processes
// (a → b → c, each its own state dir) and an admitted hostile guest, on loopback.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { digestBytes } from "../../lib/digest.js";
import { buildAnnounce } from "../../lib/federation/gossip.js";
import { wireAnchor } from "../../lib/federation/answer-request.js";
import { signMessage } from "../../lib/messages/authenticate.js";
import { messageDigest } from "../../lib/messages/canonical.js";
import { encodeLeaves } from "../../lib/messages/leaves.js";
import { parseRequest, type Bundle } from "../../lib/messages/schema.js";
import type { Receipt } from "../../lib/receipt.js";
import { openStore } from "../../lib/store/index.js";
import { encodeName } from "../../lib/store/layout.js";
import { body, rewriteReceipts } from "../support/item-mesh.js";
import { activeBatchIds, waitUntil, MESH_NAMESPACE as NS, type MeshNode } from "../support/mesh.js";
import { sealTsaBatch, type SealedFiles } from "../support/sealer.js";
import { useMesh } from "../support/use-mesh.js";

const SIZE = 1_000;
let server: Server | undefined;
/** The leaves mallory answers any Request with (the genuine ones with one bit flipped), once set. */
let hostile: { bundle: (request: ReturnType<typeof parseRequest>) => Bundle } | undefined;
let requestsToMallory = 0;

/** Mallory, an admitted guest with roles announce and serve: answers Requests as the test says. */
function startMallory(): Promise<string> {
  server = createServer((req, res) => {
    void body(req).then(async (text) => {
      // A Request that comes before the test has set the answer waits for it (at most 20 s).
      for (let i = 0; i < 400 && req.url === "/federation/request" && hostile === undefined; i++) await new Promise((r) => setTimeout(r, 50));
      if (req.url === "/federation/request" && hostile !== undefined) {
        requestsToMallory++;
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(hostile.bundle(parseRequest(JSON.parse(text)))));
        return;
      }
      res.writeHead(404, { "content-type": "application/json" }).end('{"error":{"code":"NOT_FOUND","message":"mallory answers nothing else"}}');
    });
  });
  return new Promise<string>((resolve) => server!.listen(0, "127.0.0.1", () => resolve(`http://127.0.0.1:${(server!.address() as AddressInfo).port}`)));
}

// Gossip alone: anti-entropy would also bring the versions, as leaves too, and hide which path did.
const mesh = useMesh(
  [
    { name: "a", routes: ["b"] },
    { name: "b", routes: ["a", "c"] },
    { name: "c", routes: ["b"] },
  ],
  async () => ({ antiEntropyIntervalS: 3600, guests: [{ name: "mallory", roles: ["announce", "serve"], url: await startMallory() }] }),
);
after(async () => {
  await new Promise((r) => (server === undefined ? r(undefined) : server.close(r)));
});

/** The node's stored batch file of `batchId` (one version), parsed, with its size in bytes. */
function batchFile(n: MeshNode, batchId: string): { doc: { receipts: unknown[]; leaves?: string; anchors: unknown[] }; bytes: number } {
  const dir = join(n.stateDir, "v1", "namespaces", encodeName(NS), "batches", encodeName(batchId));
  const files = readdirSync(dir).filter((f) => f.endsWith(".json"));
  assert.equal(files.length, 1, `one version of ${batchId} at ${n.name}`);
  const path = join(dir, files[0]!);
  return { doc: JSON.parse(readFileSync(path, "utf8")), bytes: statSync(path).size };
}

/** Every receipt the node serves of `batchId`, sorted by id, and the version's claims as `chain/tx outcome`. */
async function held(n: MeshNode, batchId: string): Promise<{ receipts: Receipt[]; claims: string[] }> {
  const store = await openStore(n.stateDir, { readOnly: true });
  try {
    const [version] = await store.getBatchVersions(NS, batchId);
    assert.ok(version, `${n.name} holds ${batchId}`);
    return { receipts: [...version.receipts].sort((x, y) => (x.id < y.id ? -1 : 1)), claims: version.anchors.map((a) => `${a.chain}/${a.tx} ${a.outcome}`).sort() };
  } finally {
    await store.close();
  }
}

let sealed: SealedFiles;

/** Announces on the origin: stored active and delivered to b (mallory, routed too, answers 404 to it: exit 1). */
async function announced(a: MeshNode, files: SealedFiles): Promise<void> {
  const r = await a.cli("announce", "--namespace", NS, "--batch", files.batchFile, "--receipts", files.receiptsDir, "--json");
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.report.status, "active", r.stderr);
  assert.equal(doc.deliveries.find((d: { peer: string }) => d.peer === "did:vm:node:b")?.outcome, "delivered", r.stdout);
}

test("pulled leaves: the origin, b and c keep a 1,000-receipt version as its leaves, serve the sealer's receipts path and all, and keep the form when a claim is added", async () => {
  const [a, b, c] = ["a", "b", "c"].map((n) => mesh.node(n));
  sealed = await sealTsaBatch(join(mesh.root, "sealer"), "b-leaves", SIZE, mesh.tsa);
  await announced(a!, sealed);
  for (const n of [b!, c!]) await waitUntil(async () => (await activeBatchIds(n)).includes("b-leaves"), 60_000, `${n.name} to hold b-leaves`);

  const genuine = await held(a!, "b-leaves");
  // The receipts the sealer wrote, each with its path, as a file of receipts would hold them.
  const asReceipts = Buffer.byteLength(JSON.stringify(genuine.receipts));
  assert.equal(genuine.receipts.length, SIZE);
  // What the origin serves is the sealer's own receipt files: event hash, index and path.
  for (let i = 0; i < SIZE; i++) {
    const file = JSON.parse(readFileSync(join(sealed.receiptsDir, `${i}.json`), "utf8")) as { eventHash: string; path: string[] };
    const r = genuine.receipts.find((x) => x.id === file.eventHash);
    assert.deepEqual(r && { index: r.proof.index, size: r.proof.size, path: r.proof.path, root: r.batchRoot }, { index: i, size: SIZE, path: file.path, root: sealed.root }, `receipt ${i}`);
  }
  for (const n of [a!, b!, c!]) {
    const f = batchFile(n, "b-leaves");
    assert.deepEqual(f.doc.receipts, [], `${n.name} keeps no receipt objects`);
    assert.equal(typeof f.doc.leaves, "string", `${n.name} keeps the version as its leaves`);
    assert.equal(Buffer.from(f.doc.leaves!, "base64").length, SIZE * 32);
    assert.ok(f.bytes * 10 < asReceipts, `${n.name}'s file (${f.bytes} B) is a tenth of the receipts with paths (${asReceipts} B) or less`);
    // Read back, every receipt is the sealer's: same ids, sealing time, index, size and path.
    assert.deepEqual(await held(n, "b-leaves"), genuine);
  }
  // c pulled from b, which served the version from its leaves.
  await c!.waitForLog(/imported announced batch.*"batch":"b-leaves".*"from":"did:vm:node:b"/);

  // The writer adds a second stamp; every node takes the claim and the file stays leaves.
  const token = Buffer.from(mesh.tsa.mint(digestBytes(sealed.root), { noNonce: false })).toString("base64");
  await rewriteReceipts(sealed.receiptsDir, { chain: "rfc3161:vmsh-test", tx: "a-second-stamp", block: 0, ts: 1_760_000_100, sig: token });
  await announced(a!, sealed);
  const claims = ["rfc3161:vmsh-test/a-second-stamp verified", "rfc3161:vmsh-test/tsa-b-leaves verified"];
  for (const n of [b!, c!]) {
    await waitUntil(async () => (await held(n, "b-leaves")).claims.length === 2, 60_000, `${n.name} to take the second stamp`);
    assert.deepEqual((await held(n, "b-leaves")).claims, claims);
    const f = batchFile(n, "b-leaves");
    assert.equal(typeof f.doc.leaves, "string", `${n.name}'s file stays leaves after the claim`);
    assert.deepEqual(f.doc.receipts, []);
  }
});

test("pulled leaves: a serving peer whose leaves do not rebuild to the origin's signed root is refused whole, nothing of it is stored, and the genuine leaves are taken", async () => {
  const [a, b] = ["a", "b"].map((n) => mesh.node(n));
  const mallory = mesh.guests.get("mallory")!;
  const batch = await sealTsaBatch(join(mesh.root, "sealer"), "b-forged-leaves", 64, mesh.tsa);
  // With a's serve down, b can pull a's Announce only from c (which holds none of it) and mallory.
  await a!.stop();
  hostile = undefined;
  const genuine = await (async () => {
    const r = await a!.cli("announce", "--namespace", NS, "--batch", batch.batchFile, "--receipts", batch.receiptsDir, "--json");
    assert.equal(JSON.parse(r.stdout).report.status, "active", r.stderr);
    const store = await openStore(a!.stateDir, { readOnly: true });
    try {
      const [v] = await store.getBatchVersions(NS, "b-forged-leaves");
      assert.ok(v?.checkpoint);
      const hashes = Array.from({ length: v.checkpoint.size }, (_, i) => v.receipts.find((x) => x.proof.index === i)!.eventHash);
      const announce = await buildAnnounce(store, { did: mallory.did, privateKey: mallory.key.privateKey }, NS, "b-forged-leaves", v.batchRoot, Math.floor(Date.now() / 1000), b!.did, v.checkpoint.origin);
      return { checkpoint: v.checkpoint, anchors: v.anchors.map((x) => wireAnchor(x)), leaves: encodeLeaves(hashes), announce, receipts: [...v.receipts].sort((x, y) => (x.id < y.id ? -1 : 1)) };
    } finally {
      await store.close();
    }
  })();
  const answerWith = (leaves: string) => (request: ReturnType<typeof parseRequest>) =>
    signMessage<Bundle>(
      { type: "bundle", v: 4, namespace: NS, aud: request.signer, request: messageDigest(request), checkpoints: [genuine.checkpoint], receipts: [], anchors: genuine.anchors, leaves: [{ checkpoint: 0, leaves }], ts: Math.floor(Date.now() / 1000), signer: mallory.did },
      mallory.key.privateKey,
    );
  // Mallory answers with the origin's signed checkpoint and the genuine claims, but one leaf altered.
  const forged = Buffer.from(genuine.leaves, "base64");
  forged[7 * 32 + 3] = forged[7 * 32 + 3]! ^ 0x01;
  hostile = { bundle: answerWith(forged.toString("base64")) };
  await b!.waitForLog(/no serving peer delivered the announced batch.*b-forged-leaves/);
  const refusal = b!.logs.find((l) => /pull failed/.test(l) && l.includes(mallory.did) && l.includes("b-forged-leaves"));
  assert.ok(refusal, "b logged why mallory's pull failed");
  assert.match(refusal!, /PEER_LEAVES_MISMATCH|leaves rebuild to the vmsh-dup-sha256 root/);
  assert.match(refusal!, /the bundle is refused whole/);
  assert.equal((await activeBatchIds(b!)).includes("b-forged-leaves"), false);
  const store = await openStore(b!.stateDir, { readOnly: true });
  try {
    assert.deepEqual(await store.getBatchVersions(NS, "b-forged-leaves"), [], "nothing of the forged answer is stored");
  } finally {
    await store.close();
  }

  // The same Announce answered with the genuine leaves: b keeps them, and every receipt is the origin's.
  hostile = { bundle: answerWith(genuine.leaves) };
  const asked = requestsToMallory;
  const answer = await fetch(`${b!.url}/federation/announce`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(genuine.announce) });
  assert.equal(answer.status, 202, await answer.text());
  await waitUntil(async () => (await activeBatchIds(b!)).includes("b-forged-leaves"), 60_000, "b to hold b-forged-leaves");
  assert.ok(requestsToMallory > asked);
  assert.equal(batchFile(b!, "b-forged-leaves").doc.leaves, genuine.leaves);
  assert.deepEqual((await held(b!, "b-forged-leaves")).receipts, genuine.receipts);
  await a!.start();
});
