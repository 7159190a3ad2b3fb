/**
 * A hostile origin that is also a listed witness cosigns its own log head
 * (docs/EXPLORER.md §The log part): two real `serve` processes b and c, and "eve", an admitted origin and quorum witness
 * (k = 2 of eve, b, c) whose endpoint is this test's own HTTP server. Eve logs her checkpoint,
 * gets b's genuine cosignature of that head and adds her own. Neither a node (verifyLogged) nor
 * verify-proof counts an origin as a witness of its own log, so the head has one of the two
 * cosignatures k needs, and a file carrying it would be refused. c's explorer therefore serves the proof unlogged,
 * and the third party's verify-proof accepts it as unlogged: a hostile origin can make its own
 * proofs unlogged, never make genuine-looking files fail.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Anchor } from "../../lib/anchors/anchor.js";
import { digestBytes } from "../../lib/digest.js";
import { inclusionProofs } from "../../lib/merkle/index.js";
import { rfc9162LeafHash } from "../../lib/merkle/rfc9162.js";
import { verifyLogged } from "../../lib/origin-log/logged.js";
import { logOrigin } from "../../lib/origin-log/origin-log.js";
import { witnessName } from "../../lib/origin-log/witness-name.js";
import type { Receipt } from "../../lib/receipt.js";
import { checkpointDigest } from "../../lib/reconcile/version-items.js";
import { formatCheckpoint } from "../../lib/tlog/checkpoint.js";
import { cosignatureSigner } from "../../lib/tlog/cosignature.js";
import { ed25519NoteSigner, noteSignatureLine, signNote } from "../../lib/tlog/note.js";
import { formatAddCheckpoint } from "../../lib/tlog/witness.js";
import { parseKeyLine } from "../../lib/identity/did.js";
import { checkpointBy } from "../support/checkpoint.js";
import { runCli } from "../support/cli.js";
import { startMesh, waitUntil, MESH_NAMESPACE as NS, type Guest, type Mesh } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { sealTsaBatch } from "../support/sealer.js";
import { hostileAnnounce, nowS, startHostileServer, type HostileServer } from "../hardening/hostile-server.js";

let tsa: OpensslTsa;
let mesh: Mesh;
let server: HostileServer;
let eve: Guest;
let outside: string;

before(async () => {
  tsa = createOpensslTsa();
  outside = await mkdtemp(join(tmpdir(), "vmsh-hostile-log-"));
  server = await startHostileServer(() => eve);
  mesh = await startMesh([{ name: "b", routes: ["c"] }, { name: "c", routes: ["b"] }], {
    trustPem: tsa.rootPem,
    witnesses: ["b", "c"],
    guests: [{ name: "eve", roles: ["announce", "serve", "request", "origin", "witness"], url: server.url }],
  });
  eve = mesh.guests.get("eve")!;
  for (const n of ["b", "c"]) await mesh.setQuorum(n, { k: 2, witnesses: [eve.did, mesh.node("b").did, mesh.node("c").did] });
});

after(async () => {
  await server?.close();
  await mesh?.stop();
  tsa?.cleanup();
  if (outside !== undefined) await rm(outside, { recursive: true, force: true });
});

describe("a hostile origin cosigning its own log head", () => {
  test("c serves eve's proof unlogged; the log part eve offers would be refused by verify-proof, and the served file verifies as unlogged", async () => {
    const [b, c] = [mesh.node("b"), mesh.node("c")];
    const createdAt = 1_760_000_000;
    const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "e-1", 4, tsa, createdAt);
    const cp = checkpointBy(eve, { namespace: NS, batchId: "e-1", batchRoot: sealed.root, size: 4, createdAt });
    const proofs = inclusionProofs(sealed.leaves, "vmsh-dup-sha256");
    const receipts: Receipt[] = sealed.leaves.map((leaf, i) => ({ id: leaf, namespace: NS, batchId: "e-1", batchRoot: sealed.root, eventHash: leaf, ts: createdAt, proof: proofs[i]! }));
    const written = JSON.parse(await readFile(join(sealed.receiptsDir, "0.json"), "utf8")) as { anchor: Omit<Anchor, "batchId" | "batchRoot"> };
    const anchors: Anchor[] = [{ ...written.anchor, batchId: "e-1", batchRoot: sealed.root }];
    server.answers.set("e-1", { receipts, checkpoints: [cp], anchors });

    // Eve's log of one entry, cosigned by b (a genuine witness) and by eve herself.
    const text = formatCheckpoint({ origin: logOrigin(eve.did), size: 1, rootHash: rfc9162LeafHash(digestBytes(checkpointDigest(cp))) });
    const note = signNote(text, [ed25519NoteSigner(logOrigin(eve.did), eve.key.privateKey, eve.key.publicKeyBytes)]);
    const res = await fetch(`${b.url}/log/add-checkpoint`, { method: "POST", body: formatAddCheckpoint({ oldSize: 0, proof: [], note }) });
    const bLine = await res.text();
    assert.equal(res.status, 200, bLine);
    const own = noteSignatureLine(text, cosignatureSigner(witnessName(eve.did), eve.key.privateKey, eve.key.publicKeyBytes, nowS));
    const offered = { head: note + bLine + own, index: 0, proof: [] as string[] };
    server.routes.set(`/log/inclusion/${checkpointDigest(cp).slice("sha256:".length)}`, async () => ({ status: 200, body: offered }));
    // Even with eve listed as a witness, her own cosignature of her log does not count: one of the two k needs.
    const key = (line: string) => parseKeyLine(line) as Uint8Array;
    const withEve = verifyLogged(cp, offered, { originKey: eve.key.publicKeyBytes, witnesses: new Map([[eve.did, eve.key.publicKeyBytes], [b.did, key(b.verifyKey)], [c.did, key(c.verifyKey)]]), k: 2 });
    assert.ok(withEve.outcome === "verified", JSON.stringify(withEve));
    assert.deepEqual(withEve.cosigners.map((x) => x.did), [b.did]);
    assert.equal(withEve.witnessedAt, undefined);

    assert.equal(await hostileAnnounce(eve, c, "e-1", sealed.root, cp, anchors), 202);
    const url = `${c.url}/api/v1/receipts/${sealed.leaves[0]}/proof`;
    let served: Response | undefined;
    await waitUntil(async () => (served = await fetch(url)).status === 200, 60_000, "c to serve eve's receipt as a proof file");
    assert.equal(served!.headers.get("x-vmsh-log"), 'unlogged; reason="the head including it has 1 of 2 witness cosignatures, the origin\'s own not counted"');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the file is edited below
    const file = (await served!.json()) as any;
    assert.equal(file.checkpoint.origin, eve.did);
    assert.equal(file.log, undefined);

    const t = await c.cli("trust", "export", "--namespace", NS);
    assert.equal(t.code, 0, t.stderr);
    await writeFile(join(outside, "trust-c.json"), t.stdout);
    await writeFile(join(outside, "served.json"), JSON.stringify(file));
    await writeFile(join(outside, "offered.json"), JSON.stringify({ ...file, log: offered }));
    const stranger = (...args: string[]) => runCli(args, { cwd: outside, timeoutMs: 60_000 });
    const ok = await stranger("verify-proof", "served.json", "--trust", "trust-c.json");
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /log: unlogged: /);
    const refused = await stranger("verify-proof", "offered.json", "--trust", "trust-c.json");
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(refused.stdout, new RegExp(`proof NOT verified: log\\.head: cosigned by 1 of the 2 distinct witnesses of ${NS} needed \\(${b.did}\\); the origin's own cosignature of its log does not count`));
  });
});
