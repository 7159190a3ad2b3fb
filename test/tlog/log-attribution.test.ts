/**
 * Attribution by earliest witnessed inclusion in the origins' logs, on real `serve` processes
 * each with its own state directory (docs/FEDERATION_SEMANTICS.md §Origin logs). a, b and c are
 * a triangle; b and c are the namespace's quorum witnesses (k = 2) and witness a's log. "eve" is
 * an admitted origin whose endpoint is this test's own HTTP server: it keeps a log of its own,
 * which b and c cosign, and serves its checkpoint's inclusion proof.
 *
 * a seals and logs batch g-1; its head is witnessed. b and c do not take a's Announces yet (a is
 * only an origin in their peers.yaml), so eve, which a announced to, is first to bring the root
 * to them: under its own batch id, with an earlier sealing time, logged in its own witnessed log,
 * and quorum-cosigned by b and c before a's version is. Witness cosignature times alone attribute
 * eve; earliest witnessed inclusion attributes a, on every node, and a's copy is served first.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { readKeyFile } from "../../lib/identity/key-file.js";
import { formatKeyLine } from "../../lib/identity/did.js";
import { digestBytes } from "../../lib/digest.js";
import { inclusionProofs } from "../../lib/merkle/index.js";
import { rfc9162LeafHash, rfc9162TreeHead } from "../../lib/merkle/rfc9162.js";
import type { Checkpoint } from "../../lib/messages/checkpoint.js";
import { readFile, writeFile } from "node:fs/promises";
import { messageDigest } from "../../lib/messages/canonical.js";
import { logOrigin, logVerifier } from "../../lib/origin-log/origin-log.js";
import { witnessName } from "../../lib/origin-log/witness-name.js";
import { attributedClaim } from "../../lib/quorum/attribution.js";
import type { Receipt } from "../../lib/receipt.js";
import { checkpointDigest } from "../../lib/reconcile/version-items.js";
import { openStore } from "../../lib/store/index.js";
import { formatCheckpoint } from "../../lib/tlog/checkpoint.js";
import { cosignatureTime, cosignatureVerifier } from "../../lib/tlog/cosignature.js";
import { ed25519NoteSigner, openNote, signNote } from "../../lib/tlog/note.js";
import { formatAddCheckpoint } from "../../lib/tlog/witness.js";
import { checkpointBy } from "../support/checkpoint.js";
import { startMesh, waitUntil, MESH_NAMESPACE as NS, type Guest, type Mesh, type MeshNode } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { sealTsaBatch, type SealedFiles } from "../support/sealer.js";
import { hostileAnnounce, hostileRequest, startHostileServer, type HostileServer } from "../hardening/hostile-server.js";

const NAMES = ["a", "b", "c"];
const did = (n: string) => `did:vm:node:${n}`;
const FULL = ["announce", "serve", "request", "origin"];
let tsa: OpensslTsa;
let mesh: Mesh;
let server: HostileServer;
let eve: Guest;
/** eve's checkpoint of a's root: the first entry of eve's log. */
let eveClaim: Checkpoint | undefined;

before(async () => {
  tsa = createOpensslTsa();
  server = await startHostileServer(() => eve);
  mesh = await startMesh(
    NAMES.map((n) => ({ name: n, routes: NAMES.filter((x) => x !== n) })),
    { trustPem: tsa.rootPem, witnesses: ["b", "c"], guests: [{ name: "eve", roles: FULL, url: server.url }], antiEntropyIntervalS: 2 },
  );
  eve = mesh.guests.get("eve")!;
  for (const n of NAMES) await mesh.setQuorum(n, { k: 2, witnesses: [did("b"), did("c")] });
});

after(async () => {
  try {
    await server?.close();
    await mesh?.stop();
  } finally {
    tsa?.cleanup();
  }
});

/** b's or c's peers.yaml, with a granted `aRoles`. */
async function peersOf(name: "b" | "c", aRoles: string[]): Promise<void> {
  const other = mesh.node(name === "b" ? "c" : "b");
  const a = mesh.node("a");
  await mesh.writePeers(name, [
    { did: a.did, url: a.url, roles: aRoles, key: a.verifyKey },
    { did: other.did, url: other.url, roles: [...FULL, "witness"], key: other.verifyKey },
    { did: eve.did, url: server.url, roles: FULL, key: formatKeyLine(eve.key.publicKeyBytes) },
  ]);
}

function relabel(sealed: SealedFiles, batchId: string, ts: number): Receipt[] {
  const proofs = inclusionProofs(sealed.leaves, "vmsh-dup-sha256");
  return sealed.leaves.map((leaf, i) => ({ id: leaf, namespace: NS, batchId, batchRoot: sealed.root, eventHash: leaf, ts, proof: proofs[i]! }));
}

async function versionsOn(n: MeshNode, batchId: string) {
  const store = await openStore(n.stateDir, { readOnly: true });
  try {
    return await store.getBatchVersions(NS, batchId);
  } finally {
    await store.close();
  }
}

async function quorumState(n: MeshNode, batchId: string, root: string): Promise<string | undefined> {
  const res = await fetch(`${n.url}/api/v1/namespaces/${encodeURIComponent(NS)}/batches/${encodeURIComponent(batchId)}/${encodeURIComponent(root)}`);
  if (res.status !== 200) {
    await res.text();
    return undefined;
  }
  return ((await res.json()) as { quorum?: { state: string } }).quorum?.state;
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  await waitUntil(check, 90_000, what).catch((e: Error) => {
    const logs = NAMES.map((x) => `${x}:\n${mesh.node(x).logs.filter((l) => !/anti-entropy failed/.test(l)).slice(-12).join("\n")}`);
    throw new Error(`${e.message}\n${logs.join("\n")}`);
  });
}

interface Doc {
  contested: Array<{ batchRoot: string; claims: Array<{ origin: string; batchId: string; createdAt: number; attributed: boolean }> }>;
  quorum: Array<{ batchId: string; origin?: string; state: string; contested?: string; unlogged?: string }>;
  unlogged: Array<{ batchId: string; origin: string }>;
}

describe("origin log: attribution by earliest witnessed inclusion", () => {
  test("a hostile origin's logged, earlier-sealed, first-cosigned claim of a's root is attributed to a on every node", async () => {
    const [a, b, c] = [mesh.node("a"), mesh.node("b"), mesh.node("c")];
    // b and c take no Announce from a yet, nor pull from it: a may only ask them, and is an origin (its log's key).
    await peersOf("b", ["request", "origin"]);
    await peersOf("c", ["request", "origin"]);
    const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "g-1", 4, tsa, 1_760_000_100);
    const r = await a.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
    // Stored, logged and delivered to eve; refused by b and c (the exit code says so).
    assert.equal(r.code, 1, r.stderr + r.stdout);
    const deliveries = (JSON.parse(r.stdout) as { deliveries: Array<{ peer: string; outcome: string }> }).deliveries;
    assert.deepEqual(deliveries.map((d) => [d.peer, d.outcome]).sort(), [[b.did, "refused"], [c.did, "refused"], [eve.did, "delivered"]]);
    const aKey = await readKeyFile(join(a.configDir, "keys", "node.key"));
    const [bKey, cKey] = [await readKeyFile(join(b.configDir, "keys", "node.key")), await readKeyFile(join(c.configDir, "keys", "node.key"))];
    const witnessVerifiers = [cosignatureVerifier(witnessName(b.did), bKey.publicKeyBytes), cosignatureVerifier(witnessName(c.did), cKey.publicKeyBytes)];
    let aHead = "";
    await waitFor(async () => {
      aHead = await (await fetch(`${a.url}/log/checkpoint`)).text();
      const opened = openNote(aHead, [logVerifier(a.did, aKey.publicKeyBytes), ...witnessVerifiers]);
      return opened.outcome === "verified" && opened.verified.length === 3;
    }, "a's head cosigned by b and c");
    const aWitnessed = Math.max(...(openNote(aHead, witnessVerifiers) as { verified: Array<{ signature: Uint8Array }> }).verified.map((s) => cosignatureTime(s.signature)!));
    await waitFor(async () => server.captured.has("g-1"), "a announced g-1 to eve");
    const genuine = server.captured.get("g-1")!;
    // Cosignature times are seconds: everything eve does is witnessed in a later second.
    await new Promise((res) => setTimeout(res, 1_100));

    // eve: its checkpoint of a's root, sealed earlier, in its own log, whose head b and c cosign.
    const eveAt = 1_760_000_000;
    const eveCp = checkpointBy(eve, { namespace: NS, batchId: "e-1", batchRoot: sealed.root, size: 4, createdAt: eveAt });
    eveClaim = eveCp;
    const origin = logOrigin(eve.did);
    const head = signNote(formatCheckpoint({ origin, size: 1, rootHash: rfc9162TreeHead([digestBytes(checkpointDigest(eveCp))]) }), [ed25519NoteSigner(origin, eve.key.privateKey, eve.key.publicKeyBytes)]);
    let cosigned = head;
    for (const w of [b, c]) {
      const res = await fetch(`${w.url}/log/add-checkpoint`, { method: "POST", body: formatAddCheckpoint({ oldSize: 0, proof: [], note: head }) });
      const text = await res.text();
      assert.equal(res.status, 200, text);
      cosigned += text;
    }
    const eveWitnessed = Math.max(...(openNote(cosigned, witnessVerifiers) as { verified: Array<{ signature: Uint8Array }> }).verified.map((s) => cosignatureTime(s.signature)!));
    assert.ok(eveWitnessed > aWitnessed, "eve's head was witnessed after a's");
    server.routes.set(`/log/inclusion/${checkpointDigest(eveCp).slice(7)}`, async () => ({ status: 200, body: { head: cosigned, index: 0, proof: [] } }));
    const anchors = genuine.anchors.map((x) => ({ ...x, batchId: "e-1" }));
    server.answers.set("e-1", { receipts: relabel(sealed, "e-1", eveAt), checkpoints: [eveCp], anchors });
    assert.equal(await hostileAnnounce(eve, b, "e-1", sealed.root, eveCp, anchors), 202);
    for (const n of [b, c]) await waitFor(async () => (await quorumState(n, "e-1", sealed.root)) === "final", `${n.name} to hold eve's e-1 final`);
    await new Promise((res) => setTimeout(res, 1_100));

    // Now b and c take a's Announces: a's version arrives, and b and c cosign it after eve's.
    await peersOf("b", FULL);
    await peersOf("c", FULL);
    for (const n of NAMES.map((x) => mesh.node(x))) {
      await waitFor(async () => {
        const v = await n.cli("verify-online", "--namespace", NS, "--json");
        const doc = JSON.parse(v.stdout) as Doc;
        const contest = doc.contested.find((x) => x.batchRoot === sealed.root);
        return contest !== undefined && contest.claims.some((x) => x.origin === a.did && x.attributed) && doc.quorum.find((q) => q.batchId === "g-1")?.state === "final";
      }, `${n.name} to attribute the root to a with g-1 final`);
    }

    // What decided is the log: by the witnesses' cosignature times of the two checkpoints, eve came first.
    const held = [...(await versionsOn(b, "g-1")), ...(await versionsOn(b, "e-1"))];
    const marks = held.flatMap((v) => v.cosignatures ?? []).map((x) => ({ signer: x.signer, checkpoint: x.checkpoint, ts: x.ts }));
    const claims = held.map((v) => ({ checkpoint: messageDigest(v.checkpoint!), cosignatures: marks }));
    const byWitnessTimes = attributedClaim(claims, { k: 2, witnesses: [b.did, c.did] });
    assert.equal(held[byWitnessTimes!]!.checkpoint!.origin, eve.did, "without the logs eve would be attributed");

    for (const n of NAMES.map((x) => mesh.node(x))) {
      const v = await n.cli("verify-online", "--namespace", NS, "--json");
      assert.equal(v.code, 1, `${n.name}: a contested root exits 1`);
      const doc = JSON.parse(v.stdout) as Doc;
      const contest = doc.contested.find((x) => x.batchRoot === sealed.root)!;
      assert.deepEqual(contest.claims.map((x) => [x.origin, x.batchId, x.createdAt, x.attributed]), [[a.did, "g-1", 1_760_000_100, true], [eve.did, "e-1", eveAt, false]], n.name);
      assert.equal(doc.quorum.find((q) => q.batchId === "g-1")?.state, "final", n.name);
      const eveQ = doc.quorum.find((q) => q.batchId === "e-1")!;
      assert.notEqual(eveQ.state, "final", n.name);
      assert.match(eveQ.contested ?? "", /not attributed/);
      // Both checkpoints are logged (each in its origin's witnessed log): neither is listed unlogged.
      assert.deepEqual(doc.unlogged.filter((u) => u.batchId === "g-1" || u.batchId === "e-1"), [], n.name);
      const api = (await (await fetch(`${n.url}/api/v1/contested`)).json()) as { contested: Doc["contested"] };
      assert.deepEqual(api.contested.filter((x) => x.batchRoot === sealed.root).map((x) => x.claims.filter((y) => y.attributed).map((y) => y.origin)), [[a.did]], n.name);
      // Served first: a's copy, though eve's carries the earlier ts.
      const bundle = await hostileRequest(eve, n, { want: [sealed.leaves[0]!] });
      assert.deepEqual(bundle.receipts.map((x) => x.batchId), ["g-1", "e-1"], n.name);
    }
  });

  test("unlogged: eve's checkpoint in no witnessed head is listed on every node; with require_logged: true it is not final until its inclusion is shown", async () => {
    const [a, b] = [mesh.node("a"), mesh.node("b")];
    const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "e-2", 2, tsa, 1_760_000_400);
    const token = Buffer.from(tsa.mint(digestBytes(sealed.root), { noNonce: false })).toString("base64");
    const anchors = [{ batchId: "e-2", batchRoot: sealed.root, chain: "rfc3161:vmsh-test", tx: "tsa-e-2", block: 0, ts: 1_760_000_405, sig: token }];
    const cp = checkpointBy(eve, { namespace: NS, batchId: "e-2", batchRoot: sealed.root, size: 2, createdAt: 1_760_000_400 });
    server.answers.set("e-2", { receipts: relabel(sealed, "e-2", 1_760_000_400), checkpoints: [cp], anchors });
    assert.equal(await hostileAnnounce(eve, b, "e-2", sealed.root, cp, anchors), 202);
    for (const n of NAMES.map((x) => mesh.node(x))) {
      await waitFor(async () => (await quorumState(n, "e-2", sealed.root)) === "final", `${n.name} to hold eve's e-2 final`);
      const doc = JSON.parse((await n.cli("verify-online", "--namespace", NS, "--batch", "e-2", "--json")).stdout) as Doc;
      assert.deepEqual(doc.unlogged.map((u) => [u.batchId, u.origin]), [["e-2", eve.did]], n.name);
      const st = JSON.parse((await n.cli("status", "--json")).stdout) as { counts: { unlogged: number } };
      assert.equal(st.counts.unlogged, 1, `${n.name}: status --json counts.unlogged`);
      const metrics = await (await fetch(`${n.url}/metrics`)).text();
      assert.match(metrics, /^vmsh_federation_unlogged_checkpoints\{namespace="dao:vaultmesh"\} 1$/m, n.name);
    }
    // a requires logged checkpoints: e-2 is awaiting there, with the reason; g-1 stays final.
    const fed = join(a.configDir, "federation.yaml");
    const yaml = await readFile(fed, "utf8");
    await writeFile(fed, yaml.replace(/^( {4}limits:.*)$/m, "$1\n    require_logged: true"));
    const gated = await a.cli("verify-online", "--namespace", NS, "--json", "--require-final");
    const doc = JSON.parse(gated.stdout) as Doc;
    const e2 = doc.quorum.find((q) => q.batchId === "e-2")!;
    assert.equal(e2.state, "awaiting");
    assert.match(e2.unlogged ?? "", /not in a witnessed head of its origin's log \(require_logged\)/);
    assert.equal(doc.quorum.find((q) => q.batchId === "g-1")?.state, "final");
    assert.equal(gated.code, 1);
    // eve logs it (its log grows from 1 to 2; b and c check the consistency) and serves the proof: once a's serve has seen it, e-2 is final on a.
    const origin = logOrigin(eve.did);
    const [d1, d2] = [digestBytes(checkpointDigest(eveClaim!)), digestBytes(checkpointDigest(cp))];
    const head = signNote(formatCheckpoint({ origin, size: 2, rootHash: rfc9162TreeHead([d1, d2]) }), [ed25519NoteSigner(origin, eve.key.privateKey, eve.key.publicKeyBytes)]);
    let cosigned = head;
    for (const w of [b, mesh.node("c")]) {
      const res = await fetch(`${w.url}/log/add-checkpoint`, { method: "POST", body: formatAddCheckpoint({ oldSize: 1, proof: [rfc9162LeafHash(d2)], note: head }) });
      const text = await res.text();
      assert.equal(res.status, 200, text);
      cosigned += text;
    }
    server.routes.set(`/log/inclusion/${checkpointDigest(cp).slice(7)}`, async () => ({ status: 200, body: { head: cosigned, index: 1, proof: [Buffer.from(rfc9162LeafHash(d1)).toString("base64")] } }));
    await waitFor(async () => {
      const run = await a.cli("verify-online", "--namespace", NS, "--batch", "e-2", "--json", "--require-final");
      const d = JSON.parse(run.stdout) as Doc;
      return run.code === 0 && d.unlogged.length === 0 && d.quorum.every((q) => q.state === "final");
    }, "a to see e-2 logged and final");
  });
});
