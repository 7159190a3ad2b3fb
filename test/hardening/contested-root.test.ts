/**
 * Contested roots and one origin's two shapes, against real `serve` processes each with its own
 * state directory (docs/FEDERATION_SEMANTICS.md §6. Threat model, §8. Quorum). In the line
 * a – b – c every node is a witness (k = 2 of a, b, c); "eve" is an admitted origin on every node
 * whose endpoint is this test's own HTTP server, signing with the `jose` package.
 *
 * - Claim: anchors commit only to a root, so eve signs its own checkpoint of a's anchored root
 *   (its own batch id, an earlier sealing time) and forwards a's anchors. On 0.2.0 that version
 *   was active, even final under the quorum, its copies were served first (by its earlier ts),
 *   and nothing showed two origins claiming one root.
 * - Two shapes: eve signs two checkpoints of one batch that differ only in createdAt and sends
 *   one to a, the other to c. On 0.2.0 they kept different ones forever, the second written to
 *   `checkpoint-conflicts` and read by nothing, and verify-online exited 0 everywhere.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { digestBytes } from "../../lib/digest.js";
import { inclusionProofs } from "../../lib/merkle/index.js";
import { messageDigest } from "../../lib/messages/canonical.js";
import type { Checkpoint } from "../../lib/messages/checkpoint.js";
import { primaryShape } from "../../lib/quorum/shape.js";
import type { Receipt } from "../../lib/receipt.js";
import { openStore } from "../../lib/store/index.js";
import { checkpointBy } from "../support/checkpoint.js";
import { LINE_ABC, startMesh, waitUntil, MESH_NAMESPACE as NS, type Guest, type Mesh, type MeshNode } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { sealTsaBatch, type SealedFiles } from "../support/sealer.js";
import { hostileAnnounce, hostileRequest, startHostileServer, type HostileServer } from "./hostile-server.js";

let tsa: OpensslTsa;
let mesh: Mesh;
let server: HostileServer;
let eve: Guest;
const NAMES = ["a", "b", "c"];
const did = (n: string) => `did:vm:node:${n}`;

before(async () => {
  tsa = createOpensslTsa();
  server = await startHostileServer(() => eve);
  mesh = await startMesh(LINE_ABC, { trustPem: tsa.rootPem, witnesses: NAMES, guests: [{ name: "eve", roles: ["announce", "serve", "request", "origin"], url: server.url }] });
  eve = mesh.guests.get("eve")!;
  for (const n of NAMES) await mesh.setQuorum(n, { k: 2, witnesses: NAMES.map(did) });
});
after(async () => {
  await server?.close();
  await mesh?.stop();
  tsa?.cleanup();
});

interface Contest {
  namespace: string;
  batchRoot: string;
  claims: Array<{ origin: string; batchId: string; createdAt: number; size: number; attributed: boolean }>;
}

/** A node's versions of one batch id, from its state: origin, createdAt, checkpoint, shapes, receipt ts. */
async function version(n: MeshNode, batchId: string, origin: string) {
  const store = await openStore(n.stateDir, { readOnly: true });
  try {
    const v = store.batchVersions(NS, batchId).find((x) => x.origin === origin);
    return v === undefined ? undefined : await store.getBatch(NS, batchId, v.batchRoot, origin);
  } finally {
    await store.close();
  }
}

async function quorumOf(n: MeshNode, batchId: string, root: string): Promise<{ state: string; contested?: string } | undefined> {
  const res = await fetch(`${n.url}/api/v1/namespaces/${encodeURIComponent(NS)}/batches/${encodeURIComponent(batchId)}/${encodeURIComponent(root)}`);
  if (res.status !== 200) return undefined;
  return ((await res.json()) as { quorum?: { state: string; contested?: string } }).quorum;
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  await waitUntil(check, 60_000, what).catch((e: Error) => {
    const logs = NAMES.map((x) => `${x}:\n${mesh.node(x).logs.filter((l) => !/anti-entropy failed/.test(l)).slice(-10).join("\n")}`);
    throw new Error(`${e.message}\n${logs.join("\n")}`);
  });
}

/** eve's receipts of `sealed`'s leaves under its own batch id and sealing time (the proofs hold: ts is not in the tree). */
function relabel(sealed: SealedFiles, batchId: string, ts: number): Receipt[] {
  const proofs = inclusionProofs(sealed.leaves, "vmsh-dup-sha256");
  return sealed.leaves.map((leaf, i) => ({ id: leaf, namespace: NS, batchId, batchRoot: sealed.root, eventHash: leaf, ts, proof: proofs[i]! }));
}

describe("hardening: contested roots and an origin's two shapes", () => {
  test("claim: eve's checkpoint of a's anchored root under its own batch id is shown contested on every node; a is attributed, eve's version is never final, a's copy is served first", async () => {
    const [a, b, c] = [mesh.node("a"), mesh.node("b"), mesh.node("c")];
    const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "g-1", 4, tsa, 1_760_000_100);
    const r = await a.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
    assert.equal(r.code, 0, r.stderr);
    for (const n of NAMES) await waitFor(async () => (await quorumOf(mesh.node(n), "g-1", sealed.root))?.state === "final", `${n} to hold a's g-1 final`);
    const genuine = server.captured.get("g-1");
    assert.ok(genuine, "a announced the batch to eve");
    // Witness times are seconds: eve's claim is cosigned in a later second than a's.
    await new Promise((res) => setTimeout(res, 1_100));

    const eveAt = 1_760_000_000;
    const eveCheckpoint = checkpointBy(eve, { namespace: NS, batchId: "e-1", batchRoot: sealed.root, size: 4, createdAt: eveAt });
    const anchors = genuine.anchors.map((x) => ({ ...x, batchId: "e-1" }));
    server.answers.set("e-1", { receipts: relabel(sealed, "e-1", eveAt), checkpoints: [eveCheckpoint], anchors });
    assert.equal(await hostileAnnounce(eve, b, "e-1", sealed.root, eveCheckpoint, anchors), 202);
    for (const n of NAMES) await waitFor(async () => (await version(mesh.node(n), "e-1", eve.did))?.receipts.length === 4, `${n} to hold eve's e-1`);

    for (const n of NAMES.map((x) => mesh.node(x))) {
      // Shown: verify-online lists the contest, with a attributed, and exits 1.
      const v = await n.cli("verify-online", "--namespace", NS, "--json");
      assert.equal(v.code, 1, `${n.name}: ${v.stdout}`);
      const doc = JSON.parse(v.stdout) as { contested: Contest[]; quorum: Array<{ batchId: string; origin: string; state: string; contested?: string }> };
      assert.deepEqual(doc.contested, [{ namespace: NS, batchRoot: sealed.root, claims: [
        { origin: a.did, batchId: "g-1", createdAt: 1_760_000_100, size: 4, attributed: true },
        { origin: eve.did, batchId: "e-1", createdAt: eveAt, size: 4, attributed: false },
      ] }], n.name);
      // Only the attributed version can be final: eve's is not, whatever the witnesses cosigned.
      assert.equal(doc.quorum.find((q) => q.batchId === "g-1")?.state, "final", n.name);
      const eveQ = doc.quorum.find((q) => q.batchId === "e-1")!;
      assert.notEqual(eveQ.state, "final", n.name);
      assert.match(eveQ.contested!, /is contested .* and this version is not attributed/);
      const text = await n.cli("verify-online", "--namespace", NS, "--batch", "e-1");
      assert.equal(text.code, 1);
      assert.match(text.stdout, new RegExp(`contested: dao:vaultmesh root ${sealed.root} is claimed by did:vm:node:a as g-1 \\(createdAt 1760000100, size 4\\) attributed; did:vm:node:eve as e-1`));
      const st = await n.cli("status", "--json");
      assert.equal(JSON.parse(st.stdout).counts.contested, 1, n.name);
      const api = (await (await fetch(`${n.url}/api/v1/contested`)).json()) as { contested: Contest[] };
      assert.deepEqual(api.contested.map((x) => [x.batchRoot, x.claims.filter((y) => y.attributed).map((y) => y.origin)]), [[sealed.root, [a.did]]], n.name);
      const metrics = await (await fetch(`${n.url}/metrics`)).text();
      assert.match(metrics, /^vmsh_federation_contested_roots\{namespace="dao:vaultmesh"\} 1$/m, n.name);
      // Served first: a's copy, though eve's carries the earlier ts.
      const bundle = await hostileRequest(eve, n, { want: [sealed.leaves[0]!] });
      assert.deepEqual(bundle.receipts.map((x) => [x.batchId, x.ts]), [["g-1", 1_760_000_100], ["e-1", eveAt]], n.name);
    }
  });

  test("two shapes: eve's two checkpoints of one batch, differing only in createdAt, sent to a and to c, converge on one primary everywhere and show as eve's equivocation", async () => {
    const [a, b, c] = [mesh.node("a"), mesh.node("b"), mesh.node("c")];
    // b is down, so a and c each hold only the shape sent to them at first.
    await b.stop();
    const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "e-2", 4, tsa, 1_760_000_300);
    const token = Buffer.from(tsa.mint(digestBytes(sealed.root), { noNonce: false })).toString("base64");
    const anchors = [{ batchId: "e-2", batchRoot: sealed.root, chain: "rfc3161:vmsh-test", tx: "tsa-e-2", block: 0, ts: 1_760_000_305, sig: token }];
    const shapes: Checkpoint[] = [1_760_000_300, 1_760_000_301].map((createdAt) => checkpointBy(eve, { namespace: NS, batchId: "e-2", batchRoot: sealed.root, size: 4, createdAt }));
    const sendTo = async (n: MeshNode, cp: Checkpoint) => {
      server.answers.set("e-2", { receipts: relabel(sealed, "e-2", cp.createdAt), checkpoints: [cp], anchors });
      assert.equal(await hostileAnnounce(eve, n, "e-2", sealed.root, cp, anchors), 202);
      await waitFor(async () => (await version(n, "e-2", eve.did))?.receipts.length === 4, `${n.name} to hold eve's e-2`);
    };
    // Each node receives the shape that is not the primary... and the other one the primary: neither order may decide.
    await sendTo(a, shapes[0]!);
    await sendTo(c, shapes[1]!);
    assert.notEqual((await version(a, "e-2", eve.did))?.checkpoint?.createdAt, (await version(c, "e-2", eve.did))?.checkpoint?.createdAt);
    await b.start();

    const primary = primaryShape(shapes[0]!, shapes[1]!);
    const other = primary === shapes[0] ? shapes[1]! : shapes[0]!;
    for (const n of NAMES.map((x) => mesh.node(x))) {
      await waitFor(async () => {
        const v = await version(n, "e-2", eve.did);
        return v !== undefined && v.receipts.length === 4 && messageDigest(v.checkpoint!) === messageDigest(primary) && (v.shapes ?? []).some((s) => messageDigest(s) === messageDigest(other));
      }, `${n.name} to hold ${primary.createdAt} as e-2's primary and ${other.createdAt} beside it`);
      const v = (await version(n, "e-2", eve.did))!;
      assert.ok(v.receipts.every((x) => x.ts === primary.createdAt), `${n.name}: receipts at the primary's sealing time`);
      const run = await n.cli("verify-online", "--namespace", NS, "--batch", "e-2", "--json");
      assert.equal(run.code, 1, `${n.name}: ${run.stdout}`);
      const doc = JSON.parse(run.stdout) as { equivocations: Array<{ batchId: string }>; contested: Contest[] };
      assert.deepEqual(doc.equivocations.map((e) => e.batchId), ["e-2"], n.name);
      assert.deepEqual(doc.contested.map((x) => [x.batchRoot, x.claims.map((y) => [y.origin, y.createdAt])]), [[sealed.root, [[eve.did, 1_760_000_300], [eve.did, 1_760_000_301]]]], n.name);
      const st = JSON.parse((await n.cli("status", "--json")).stdout) as { equivocations: Array<{ batchId: string }> };
      assert.ok(st.equivocations.some((e) => e.batchId === "e-2"), n.name);
    }
  });
});
