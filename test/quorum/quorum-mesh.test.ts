/**
 * Quorum end to end (docs/FEDERATION_SEMANTICS.md §8. Quorum) on four real `serve` processes,
 * each with its own state directory, every node a witness of every other: k-of-n finality, a
 * witness whose verifier rejects the anchor, a witness that cosigns a checkpoint no origin signed
 * (a witness fault, never a dispute), and cosignatures that must not count. Two openssl TSAs: a, b and c trust both, d only the second.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { digestBytes } from "../../lib/digest.js";
import { wireAnchor } from "../../lib/federation/answer-request.js";
import { readKeyFile } from "../../lib/identity/key-file.js";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { formatKeyLine } from "../../lib/identity/did.js";
import { signMessage } from "../../lib/messages/authenticate.js";
import type { Announce } from "../../lib/messages/schema.js";
import { signCosignature, type Cosignature } from "../../lib/messages/cosignature.js";
import { openStore } from "../../lib/store/index.js";
import { startMesh, type Mesh, type MeshNode, MESH_NAMESPACE as NS } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { sealTsaBatch, type SealedFiles } from "../support/sealer.js";

const NAMES = ["a", "b", "c", "d"];
const did = (n: string) => `did:vm:node:${n}`;
/** The witnesses of every node: the four serve processes and the guest g, a test's own identity. */
const WITNESSES = [...NAMES.map(did), did("g")];

let mesh: Mesh;
let tsa1: OpensslTsa;
let tsa2: OpensslTsa;

before(async () => {
  tsa1 = createOpensslTsa();
  tsa2 = createOpensslTsa();
  // d's verifier trusts only the second TSA: its own endpoint configured differently.
  mesh = await startMesh(
    NAMES.map((n) => ({ name: n, routes: NAMES.filter((x) => x !== n), ...(n === "d" ? { trustPem: tsa2.rootPem } : {}) })),
    { trustPem: tsa1.rootPem + tsa2.rootPem, witnesses: NAMES, guests: [{ name: "g", roles: ["announce", "witness"] }, { name: "h", roles: ["announce"] }], antiEntropyIntervalS: 3600 },
  );
  for (const n of NAMES) await mesh.setQuorum(n, { k: 3, witnesses: WITNESSES });
});

after(async () => {
  try {
    await mesh?.stop();
  } finally {
    tsa1?.cleanup();
    tsa2?.cleanup();
  }
});

/** A batch anchored by the second TSA only (every node verifies it), or by both (d rejects the first, which wins elsewhere). */
async function seal(id: string, anchors: "second" | "both"): Promise<SealedFiles> {
  const sealed = await sealTsaBatch(join(mesh.root, "sealer"), id, 4, anchors === "second" ? tsa2 : tsa1);
  if (anchors === "both") {
    const file = join(sealed.receiptsDir, "1.json");
    const r = JSON.parse(await readFile(file, "utf8"));
    // tx "tsb-…" sorts after "tsa-…": the first TSA's anchor wins where both verify (docs/FEDERATION_SEMANTICS.md §3. Conflicts).
    r.anchor = { ...r.anchor, tx: `tsb-${id}`, sig: Buffer.from(tsa2.mint(digestBytes(sealed.root), { noNonce: false })).toString("base64") };
    await writeFile(file, JSON.stringify(r));
  }
  return sealed;
}

async function announceOnA(sealed: SealedFiles): Promise<void> {
  const r = await mesh.node("a").cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
  assert.equal(r.code, 0, r.stderr + r.stdout);
}

interface QuorumView {
  state: "final" | "awaiting" | "disputed";
  k: number;
  cosigners: string[];
  needed?: number;
  notYet?: string[];
  disagree?: Array<{ signer: string; winner: { chain: string; tx: string } }>;
  reason?: string;
  evidence?: Cosignature[];
}

/** The quorum field of the explorer API's batch answer on `n` (undefined while n does not hold the batch). */
async function quorumOn(n: MeshNode, sealed: SealedFiles): Promise<QuorumView | undefined> {
  const res = await fetch(`${n.url}/api/v1/namespaces/${encodeURIComponent(NS)}/batches/${encodeURIComponent(sealed.id)}/${encodeURIComponent(sealed.root)}`);
  if (res.status === 404) return undefined;
  assert.equal(res.status, 200);
  return ((await res.json()) as { quorum?: QuorumView }).quorum;
}

/** Polls every 300 ms (the explorer's allowance is 600 a minute per client) until `check` holds for `n`. */
async function awaitQuorum(n: MeshNode, sealed: SealedFiles, what: string, check: (q: QuorumView) => boolean, timeoutMs = 40_000): Promise<QuorumView> {
  const deadline = Date.now() + timeoutMs;
  let last: QuorumView | undefined;
  for (;;) {
    last = await quorumOn(n, sealed);
    if (last !== undefined && check(last)) return last;
    if (Date.now() > deadline) throw new Error(`${n.name}: ${sealed.id} not ${what} within ${timeoutMs} ms; quorum: ${JSON.stringify(last)}; last log lines:\n${NAMES.map((x) => `${x}:\n${mesh.node(x).logs.slice(-8).join("\n")}`).join("\n")}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** A guest's Announce v3 of a stored batch to `to`, carrying `cosignatures`, signed with `key`. */
async function guestAnnounce(from: string, key: ReturnType<typeof generateNodeKey>, to: MeshNode, sealed: SealedFiles, cosignatures: Cosignature[]): Promise<void> {
  const store = await openStore(mesh.node("a").stateDir, { readOnly: true });
  const batch = await store.getBatch(NS, sealed.id, sealed.root);
  await store.close();
  const message = signMessage<Announce>(
    { type: "announce", v: 3, namespace: NS, aud: to.did, batchId: sealed.id, batchRoot: sealed.root, checkpoint: batch!.checkpoint!, anchors: batch!.anchors.map(wireAnchor), cosignatures, ts: Math.floor(Date.now() / 1000), signer: from },
    key.privateKey,
  );
  const res = await fetch(`${to.url}/federation/announce`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(message) });
  assert.equal(res.status, 202, await res.text());
}

/** Polls every 300 ms until `check` holds. */
async function waitFor(check: () => Promise<boolean>, what: string, timeoutMs = 40_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** The stored cosignatures of a version on `n` (read without a lock). */
async function storedCosignatures(n: MeshNode, sealed: SealedFiles): Promise<Cosignature[]> {
  const store = await openStore(n.stateDir, { readOnly: true });
  try {
    return (await store.getBatch(NS, sealed.id, sealed.root))?.cosignatures ?? [];
  } finally {
    await store.close();
  }
}

describe("quorum: witness cosignatures between real serve processes", () => {
  test("quorum: with k = 3 of 4 witnesses a batch announced on a becomes final on all four; verify-online --require-final passes", async () => {
    const sealed = await seal("q-final", "second");
    await announceOnA(sealed);
    for (const n of NAMES) {
      const q = await awaitQuorum(mesh.node(n), sealed, "final", (x) => x.state === "final");
      assert.equal(q.k, 3);
      assert.ok(q.cosigners.length >= 3 && q.cosigners.every((c) => NAMES.map(did).includes(c)), JSON.stringify(q));
    }
    const c = mesh.node("c");
    const r = await c.cli("verify-online", "--namespace", NS, "--batch", "q-final", "--require-final", "--json");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual(doc.quorum.map((q: QuorumView & { batchId: string }) => [q.batchId, q.state]), [["q-final", "final"]]);
    assert.equal(doc.notFinal, 0);
    const metrics = await (await fetch(`${mesh.node("b").url}/metrics`)).text();
    assert.match(metrics, /^vmsh_federation_batches_by_quorum\{namespace="dao:vaultmesh",state="final"\} [1-9]/m);
    // Exit 1: the guests g and h are routed but nothing listens at their url (README "The command line").
    const status = await mesh.node("b").cli("status", "--json");
    assert.equal(status.code, 1, status.stderr);
    assert.deepEqual([...JSON.parse(status.stdout).unreachable].sort(), [...mesh.guests.values()].map((x) => x.did).sort());
    assert.equal(JSON.parse(status.stdout).quorum.find((q: { batchId: string }) => q.batchId === "q-final").state, "final");
    // An unknown batch selects nothing: the gate does not pass.
    const none = await c.cli("verify-online", "--namespace", NS, "--batch", "q-none", "--require-final");
    assert.equal(none.code, 1, none.stdout);
    assert.match(none.stdout, /--require-final: no batch selected, so none is final/);
  });

  test("quorum: a witness whose verifier rejects the winning anchor keeps k = 4 awaiting and is shown disagreeing; it sees the batch disputed", async () => {
    for (const n of NAMES) await mesh.setQuorum(n, { k: 4, witnesses: WITNESSES });
    const sealed = await seal("q-split", "both");
    await announceOnA(sealed);
    const first = { chain: "rfc3161:vmsh-test", tx: "tsa-q-split" };
    const second = { chain: "rfc3161:vmsh-test", tx: "tsb-q-split" };
    for (const n of ["a", "b", "c"]) {
      const q = await awaitQuorum(mesh.node(n), sealed, "awaiting with d disagreeing and a, b, c cosigning", (x) => x.state === "awaiting" && (x.disagree ?? []).length > 0 && x.cosigners.length === 3);
      assert.deepEqual([q.k, q.needed, q.notYet, q.disagree, [...q.cosigners].sort()], [4, 1, [did("g")], [{ signer: did("d"), winner: second }], [did("a"), did("b"), did("c")]]);
    }
    const onD = await awaitQuorum(mesh.node("d"), sealed, "disputed", (x) => x.state === "disputed");
    assert.match(onD.reason!, /cosigned rfc3161:vmsh-test\/tsa-q-split as winner, which this node rejected/);
    assert.deepEqual(onD.evidence![0]!.winner, first);
    const gate = await mesh.node("a").cli("verify-online", "--namespace", NS, "--batch", "q-split", "--require-final");
    assert.equal(gate.code, 1, gate.stdout + gate.stderr);
    assert.match(gate.stdout, /q-split .*awaiting\s+3 of 4\s+1 more needed; not yet: did:vm:node:g; did:vm:node:d cosigned rfc3161:vmsh-test\/tsb-q-split as winner/);
    assert.match(gate.stdout, /--require-final: 1 of 1 selected batch versions not final/);
    // Without --require-final an awaiting batch is reported, not a failure.
    assert.equal((await mesh.node("a").cli("verify-online", "--namespace", NS, "--batch", "q-split")).code, 0);
    for (const n of NAMES) await mesh.setQuorum(n, { k: 3, witnesses: WITNESSES });
  });

  test("quorum: a witness that cosigns a made-up checkpoint digest for an honest batch is a witness fault: the batch stays final on every node, the fault is shown", async () => {
    const sealed = await seal("q-fault", "second");
    await announceOnA(sealed);
    for (const n of NAMES) await awaitQuorum(mesh.node(n), sealed, "final", (x) => x.state === "final");
    const g = mesh.guests.get("g")!;
    // No origin signed this checkpoint: on 0.2.0 one such cosignature turned the batch disputed on every node.
    const madeUp = `sha256:${createHash("sha256").update("a checkpoint nobody signed").digest("hex")}`;
    const winner = { chain: "rfc3161:vmsh-test", tx: "tsa-q-fault" };
    const lie = signCosignature({ namespace: NS, origin: did("a"), batchId: "q-fault", batchRoot: sealed.root, checkpoint: madeUp, winner, verified: [winner], ts: Math.floor(Date.now() / 1000), signer: g.did }, g.key.privateKey);
    await guestAnnounce(g.did, g.key, mesh.node("b"), sealed, [lie]);
    // The lie is kept as evidence on every node (it travels like any cosignature) ...
    for (const n of NAMES) await waitFor(async () => (await storedCosignatures(mesh.node(n), sealed)).some((c) => c.sig === lie.sig), `${n} to hold g's cosignature of the made-up checkpoint`);
    for (const n of NAMES) {
      // ... and the batch stays final everywhere.
      const q = await quorumOn(mesh.node(n), sealed);
      assert.equal(q?.state, "final", `${n}: ${JSON.stringify(q)}`);
      const shown = (await (await fetch(`${mesh.node(n).url}/api/v1/contested`)).json()) as { witnessFaults: Array<{ batchId: string; signer: string; checkpoint: string }> };
      assert.deepEqual(shown.witnessFaults.filter((f) => f.batchId === "q-fault").map((f) => [f.signer, f.checkpoint]), [[g.did, madeUp]], n);
    }
    const c = mesh.node("c");
    const r = await c.cli("verify-online", "--namespace", NS, "--batch", "q-fault", "--require-final", "--json");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout);
    assert.deepEqual([doc.quorum[0].state, doc.contested, doc.witnessFaults.map((f: { signer: string; checkpoint: string; cosignature: Cosignature }) => [f.signer, f.checkpoint, f.cosignature.sig])], ["final", [], [[g.did, madeUp, lie.sig]]]);
    const text = await c.cli("verify-online", "--namespace", NS, "--batch", "q-fault");
    assert.match(text.stdout, /witness fault: dao:vaultmesh batch q-fault: did:vm:node:g cosigned checkpoint sha256:[0-9a-f]{64} of did:vm:node:a's batch q-fault, which that origin never signed/);
    const metrics = await (await fetch(`${mesh.node("d").url}/metrics`)).text();
    assert.match(metrics, /^vmsh_federation_witness_faults\{namespace="dao:vaultmesh"\} [1-9]/m);
    assert.match(metrics, /^vmsh_federation_contested_roots\{namespace="dao:vaultmesh"\} 0$/m);
  });

  test("quorum: a witness that was down cosigns what anti-entropy brings it, and learns the others' cosignatures from the outbox", async () => {
    const d = mesh.node("d");
    assert.equal(await d.stop("SIGTERM"), 0);
    const sealed = await seal("q-late", "second");
    await announceOnA(sealed);
    for (const n of ["a", "b", "c"]) await awaitQuorum(mesh.node(n), sealed, "final without d", (x) => x.state === "final" && x.cosigners.length === 3);
    // The CLI's anti-entropy imports the batch on d, which cosigns it and announces it.
    const r = await d.cli("sync", "--namespace", NS, "--json");
    assert.equal(r.code, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout).totals.imported > 0, r.stdout);
    for (const n of ["a", "b", "c"]) await awaitQuorum(mesh.node(n), sealed, "cosigned by d too", (x) => x.cosigners.includes(did("d")));
    await d.start();
    const q = await awaitQuorum(d, sealed, "final on d", (x) => x.state === "final");
    assert.ok(q.cosigners.length >= 3);
  });

  test("quorum: a cosignature replayed, forged, from a non-witness, or from a second DID with this node's key does not count", async () => {
    const b = mesh.node("b");
    // On b only: a second witness DID "twin" holding b's own key (nothing at configuration time knows b's key).
    const keyOf = (n: string) => mesh.node(n).verifyKey;
    await mesh.writePeers("b", [
      ...["a", "c", "d"].map((n) => ({ did: did(n), url: mesh.node(n).url, roles: ["announce", "serve", "request", "origin", "witness"], key: keyOf(n) })),
      ...[...mesh.guests.values()].map((x) => ({ did: x.did, url: x.url, roles: x.roles, key: formatKeyLine(x.key.publicKeyBytes) })),
      { did: did("twin"), roles: ["witness"], key: keyOf("b") },
    ]);
    for (const n of NAMES) await mesh.setQuorum(n, { k: 5, witnesses: n === "b" ? [...WITNESSES, did("twin")] : WITNESSES });
    const sealed = await seal("q-neg", "second");
    await announceOnA(sealed);
    const before = await awaitQuorum(b, sealed, "cosigned by all four", (x) => x.cosigners.length === 4);
    assert.deepEqual([before.state, before.needed], ["awaiting", 1]);

    const g = mesh.guests.get("g")!;
    const h = mesh.guests.get("h")!;
    const winner = { chain: "rfc3161:vmsh-test", tx: "tsa-q-neg" };
    const held = await storedCosignatures(b, sealed);
    const fromA = held.find((c) => c.signer === did("a"))!;
    const fields = { namespace: NS, origin: did("a"), batchId: "q-neg", batchRoot: sealed.root, checkpoint: fromA.checkpoint, winner, verified: [winner], ts: Math.floor(Date.now() / 1000) };
    const forged = signCosignature({ ...fields, signer: g.did }, generateNodeKey().privateKey);
    const stranger = signCosignature({ ...fields, signer: h.did }, h.key.privateKey);
    const bKey = await readKeyFile(join(b.configDir, "keys", "node.key"));
    const twin = signCosignature({ ...fields, signer: did("twin") }, bKey.privateKey);
    await guestAnnounce(g.did, g.key, b, sealed, [fromA, fromA, forged, stranger, twin]);
    await b.waitForLog(/cosignature ignored.*"signer":"did:vm:node:h".*neither this node nor a peers\.yaml entry with role witness/);
    await b.waitForLog(/cosignature ignored.*"signer":"did:vm:node:g".*signature/);
    await b.waitForLog(/cosignatures stored.*did:vm:node:twin/);
    const after = await quorumOn(b, sealed);
    assert.deepEqual([after!.state, [...after!.cosigners].sort(), after!.needed, after!.notYet], ["awaiting", [did("a"), did("b"), did("c"), did("d")], 1, [did("g")]]);
    const stored = await storedCosignatures(b, sealed);
    assert.equal(stored.filter((c) => c.signer === did("a")).length, 1, "the replay is the same item, kept once");
    assert.ok(!stored.some((c) => c.signer === g.did || c.signer === h.did), "refused cosignatures are never stored");
    const gate = await b.cli("verify-online", "--namespace", NS, "--batch", "q-neg", "--require-final", "--json");
    assert.equal(gate.code, 1);
    assert.equal(JSON.parse(gate.stdout).quorum[0].state, "awaiting");
  });
});
