/**
 * The origin log end to end on three real `serve` processes, each with its own state directory
 * (docs/FEDERATION_PROTOCOL.md §Origin log and §Witnessed heads): a's checkpoint goes into a's
 * log, b and c (the namespace's quorum witnesses) cosign a's head, and `GET /log/checkpoint` and
 * `/log/tile/…` serve it in the C2SP formats. A witness refuses a wrong old size (409), a
 * rollback (400) and a second root for a size it cosigned (422, evidence kept). An origin that
 * shows two different heads of one size to two witnesses is caught and shown on every node.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { readKeyFile } from "../../lib/identity/key-file.js";
import type { NodeKey } from "../../lib/identity/keys.js";
import { rfc9162LeafHash, rfc9162TreeHead } from "../../lib/merkle/rfc9162.js";
import { logOrigin, logVerifier } from "../../lib/origin-log/origin-log.js";
import { witnessName } from "../../lib/origin-log/service.js";
import { formatCheckpoint, parseCheckpoint } from "../../lib/tlog/checkpoint.js";
import { cosignatureVerifier } from "../../lib/tlog/cosignature.js";
import { ed25519NoteSigner, openNote, parseNote, signNote } from "../../lib/tlog/note.js";
import { formatAddCheckpoint } from "../../lib/tlog/witness.js";
import { startMesh, waitUntil, type Mesh, MESH_NAMESPACE as NS } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { sealTsaBatch } from "../support/sealer.js";
import { readFile } from "node:fs/promises";
import { digestBytes } from "../../lib/digest.js";
import { verifyLogged, type LogInclusionProof } from "../../lib/origin-log/logged.js";
import { checkpointDigest } from "../../lib/reconcile/version-items.js";
import { openStore } from "../../lib/store/index.js";
import { loadConfig } from "../../lib/config/load.js";
import { logInclusionOf } from "../../lib/federation/origin-log.js";
import { openRuntime } from "../../lib/federation/runtime.js";

const NAMES = ["a", "b", "c"];
const did = (n: string) => `did:vm:node:${n}`;
let mesh: Mesh;
let tsa: OpensslTsa;

before(async () => {
  tsa = createOpensslTsa();
  mesh = await startMesh(NAMES.map((n) => ({ name: n, routes: NAMES.filter((x) => x !== n) })), {
    trustPem: tsa.rootPem,
    witnesses: ["b", "c"],
    guests: [{ name: "o", roles: ["announce", "origin"] }],
    antiEntropyIntervalS: 2,
  });
  for (const n of NAMES) await mesh.setQuorum(n, { k: 2, witnesses: [did("b"), did("c")] });
});

after(async () => {
  try {
    await mesh?.stop();
  } finally {
    tsa?.cleanup();
  }
});

async function get(url: string): Promise<{ status: number; type: string; text: string; bytes: Buffer }> {
  const res = await fetch(url);
  const bytes = Buffer.from(await res.arrayBuffer());
  return { status: res.status, type: res.headers.get("content-type") ?? "", text: bytes.toString("utf8"), bytes };
}

async function post(url: string, body: string): Promise<{ status: number; type: string; text: string }> {
  const res = await fetch(url, { method: "POST", body });
  return { status: res.status, type: res.headers.get("content-type") ?? "", text: await res.text() };
}

function headNote(origin: string, key: NodeKey, entries: Uint8Array[]): string {
  return signNote(formatCheckpoint({ origin, size: entries.length, rootHash: rfc9162TreeHead(entries) }), [ed25519NoteSigner(origin, key.privateKey, key.publicKeyBytes)]);
}

async function keyOf(name: string): Promise<NodeKey> {
  return readKeyFile(join(mesh.node(name).configDir, "keys", "node.key"));
}

async function forksOn(name: string): Promise<Array<{ kind: string; origin: string; cosigned: string; offered: string }>> {
  const r = await get(`${mesh.node(name).url}/log/forks`);
  return (JSON.parse(r.text) as { forks: Array<{ kind: string; origin: string; cosigned: string; offered: string }> }).forks;
}

describe("origin log on real serve processes", () => {
  test("a's checkpoint is logged, b and c cosign a's head, and the head and tiles are served in the C2SP formats", async () => {
    const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "log-1", 4, tsa);
    const r = await mesh.node("a").cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const a = mesh.node("a");
    const aKey = await keyOf("a");
    const [bKey, cKey] = [await keyOf("b"), await keyOf("c")];
    const verifiers = [logVerifier(a.did, aKey.publicKeyBytes), cosignatureVerifier(witnessName(did("b")), bKey.publicKeyBytes), cosignatureVerifier(witnessName(did("c")), cKey.publicKeyBytes)];
    let note = "";
    await waitUntil(async () => {
      note = (await get(`${a.url}/log/checkpoint`)).text;
      const opened = openNote(note, verifiers);
      return opened.outcome === "verified" && opened.verified.length === 3;
    }, 60_000, "a's head cosigned by b and c");
    const cp = await get(`${a.url}/log/checkpoint`);
    assert.equal(cp.type, "text/plain; charset=utf-8");
    const opened = openNote(note, verifiers);
    assert.ok(opened.outcome === "verified");
    const head = parseCheckpoint(opened.text);
    assert.ok(!("reason" in head));
    assert.equal(head.origin, logOrigin(a.did));
    assert.equal(head.size, 1);
    // The one entry is the digest of a's signed checkpoint, as stored: the entry bundle holds it and the level-0 tile its leaf hash.
    const bundle = await get(`${a.url}/log/tile/entries/000.p/1`);
    assert.equal(bundle.status, 200);
    assert.equal(bundle.type, "application/octet-stream");
    assert.equal(bundle.bytes.readUInt16BE(0), 32);
    const entry = bundle.bytes.subarray(2);
    // The state directory keeps the head as a's bare signed note; the served one adds the cosignatures.
    const stored = await readFile(join(a.stateDir, "v1", "origin-log", "checkpoint"), "utf8");
    assert.ok(note.startsWith(stored) && note.length > stored.length);
    const tile = await get(`${a.url}/log/tile/0/000.p/1`);
    assert.deepEqual(tile.bytes, Buffer.from(rfc9162LeafHash(entry)));
    assert.deepEqual(Buffer.from(head.rootHash), Buffer.from(rfc9162LeafHash(entry)));
    assert.equal((await get(`${a.url}/log/tile/0/000.p/2`)).status, 404, "no tile beyond the head");
    assert.equal((await get(`${a.url}/log/tile/0/000`)).status, 404);
    // a serves the checkpoint's inclusion in the witnessed head; it verifies offline with k = 2.
    const store = await openStore(a.stateDir, { readOnly: true });
    const version = (await store.getBatchVersions(NS, sealed.id))[0]!;
    await store.close();
    const digest = checkpointDigest(version.checkpoint!);
    assert.deepEqual(Buffer.from(digestBytes(digest)), Buffer.from(entry));
    const inc = await get(`${a.url}/log/inclusion/${digest.slice(7)}`);
    assert.equal(inc.status, 200);
    const proof = JSON.parse(inc.text) as LogInclusionProof & { witnessed: boolean };
    assert.equal(proof.witnessed, true);
    const trust = { originKey: aKey.publicKeyBytes, witnesses: new Map([[did("b"), bKey.publicKeyBytes], [did("c"), cKey.publicKeyBytes]]), k: 2 };
    const check = verifyLogged(version.checkpoint!, proof, trust);
    assert.equal(check.outcome, "verified");
    assert.equal(check.outcome === "verified" && check.cosigners.length, 2);
    assert.equal((await get(`${a.url}/log/inclusion/${"0".repeat(64)}`)).status, 404);
    // b fetches and checks it with its own trust (a's key, the quorum's witnesses and k).
    const bRuntime = await openRuntime((await loadConfig(mesh.node("b").configDir, process.env)).config, { state: "none" });
    try {
      const seen = await logInclusionOf(bRuntime, version.checkpoint!);
      assert.equal(seen.state, "logged", JSON.stringify(seen));
      assert.equal(seen.state === "logged" && seen.check.witnessedAt !== undefined, true);
      const other = await logInclusionOf(bRuntime, { ...version.checkpoint!, batchId: "never-signed" });
      assert.equal(other.state, "unlogged");
    } finally {
      await bRuntime.close();
    }
    // status and /metrics show the log.
    const st = await a.cli("status", "--json");
    const originLog = (JSON.parse(st.stdout) as { originLog: { origin: string; size: number; witnessedSize: number; witnesses: string[]; forks: number } }).originLog;
    assert.deepEqual(originLog, { origin: logOrigin(a.did), size: 1, witnessedSize: 1, witnesses: [witnessName(did("b")), witnessName(did("c"))].sort(), forks: 0 });
    const metrics = (await get(`${a.url}/metrics`)).text;
    assert.match(metrics, /^vmsh_federation_log_size 1$/m);
    assert.match(metrics, /^vmsh_federation_log_witnessed_lag 0$/m);
    // The explorer's log panel data: a's own log on a; on b, a's log as b has seen it (serve records the checked inclusion).
    type Panel = { origin: string; self: boolean; size: number; witnessedSize: number; witnessedAt?: number; witnesses: string[] };
    const own = (JSON.parse((await get(`${a.url}/api/v1/log`)).text) as { logs: Panel[] }).logs.find((l) => l.self)!;
    assert.deepEqual([own.origin, own.size, own.witnessedSize, own.witnesses], [a.did, 1, 1, [witnessName(did("b")), witnessName(did("c"))].sort()]);
    let seenOnB: Panel | undefined;
    await waitUntil(async () => {
      seenOnB = (JSON.parse((await get(`${mesh.node("b").url}/api/v1/log`)).text) as { logs: Panel[] }).logs.find((l) => l.origin === a.did);
      return seenOnB?.witnessedSize === 1;
    }, 60_000, "b to record a's checkpoint as logged");
    assert.deepEqual([seenOnB!.size, seenOnB!.witnesses.sort()], [1, [did("b"), did("c")]]);
    assert.equal(typeof seenOnB!.witnessedAt, "number");
    // b serves the head it cosigned on its monitoring path, with its own line.
    const hash = createHash("sha256").update(logOrigin(a.did)).digest("hex");
    const mon = await get(`${mesh.node("b").url}/log/witness/${hash}/checkpoint`);
    assert.equal(mon.status, 200);
    assert.equal(openNote(mon.text, verifiers).outcome, "verified");
    assert.ok((parseNote(mon.text) as { signatures: { name: string }[] }).signatures.some((s) => s.name === witnessName(did("b"))));
  });

  test("b refuses a wrong old size with 409 and its size, a rollback with 400, and a second root for size 1 with 422, keeping the evidence", async () => {
    const a = mesh.node("a");
    const b = mesh.node("b");
    const aKey = await keyOf("a");
    const origin = logOrigin(a.did);
    const forged = headNote(origin, aKey, [createHash("sha256").update("not a's checkpoint").digest()]);
    const conflict = await post(`${b.url}/log/add-checkpoint`, formatAddCheckpoint({ oldSize: 0, proof: [], note: forged }));
    assert.deepEqual([conflict.status, conflict.type, conflict.text], [409, "text/x.tlog.size", "1\n"]);
    const rollback = await post(`${b.url}/log/add-checkpoint`, formatAddCheckpoint({ oldSize: 1, proof: [], note: headNote(origin, aKey, []) }));
    assert.equal(rollback.status, 400);
    const before = await get(`${b.url}/log/witness/${createHash("sha256").update(origin).digest("hex")}/checkpoint`);
    const fork = await post(`${b.url}/log/add-checkpoint`, formatAddCheckpoint({ oldSize: 1, proof: [], note: forged }));
    assert.equal(fork.status, 422);
    assert.match(fork.text, /not consistent/);
    const after = await get(`${b.url}/log/witness/${createHash("sha256").update(origin).digest("hex")}/checkpoint`);
    assert.equal(after.text, before.text, "the witness's record is unchanged");
    const forks = await forksOn("b");
    assert.ok(forks.some((f) => f.origin === origin && f.kind === "same-size" && f.offered === forged));
    // Unknown origin and an unsigned head.
    const stranger = await post(`${b.url}/log/add-checkpoint`, formatAddCheckpoint({ oldSize: 0, proof: [], note: headNote("vmsh-federation/log/did:vm:node:nobody", aKey, []) }));
    assert.equal(stranger.status, 404);
    const other = await keyOf("c");
    const unsigned = await post(`${b.url}/log/add-checkpoint`, formatAddCheckpoint({ oldSize: 1, proof: [], note: headNote(origin, other, [createHash("sha256").update("x").digest()]) }));
    assert.equal(unsigned.status, 403);
  });

  test("an origin that shows b and c two different heads of size 3 is caught and shown on every node", async () => {
    const o = mesh.guests.get("o")!;
    const origin = logOrigin(o.did);
    const entries = (tag: string) => [0, 1, 2].map((i) => createHash("sha256").update(`${tag}-${i}`).digest());
    const x = headNote(origin, o.key, entries("x"));
    const y = headNote(origin, o.key, entries("y"));
    // Each witness sees a consistent history of its own: both cosign.
    assert.equal((await post(`${mesh.node("b").url}/log/add-checkpoint`, formatAddCheckpoint({ oldSize: 0, proof: [], note: x }))).status, 200);
    assert.equal((await post(`${mesh.node("c").url}/log/add-checkpoint`, formatAddCheckpoint({ oldSize: 0, proof: [], note: y }))).status, 200);
    for (const n of NAMES) {
      await waitUntil(async () => (await forksOn(n)).some((f) => f.origin === origin), 60_000, `${n} shows o's fork`);
      const f = (await forksOn(n)).find((e) => e.origin === origin)!;
      // The evidence is the two notes, each signed by o: anyone can check it.
      const heads = [f.cosigned, f.offered].map((note) => {
        const opened = openNote(note, [logVerifier(o.did, o.key.publicKeyBytes)]);
        assert.equal(opened.outcome, "verified");
        return parseCheckpoint((opened as { text: string }).text) as { size: number; rootHash: Uint8Array };
      });
      assert.equal(heads[0]!.size, 3);
      assert.equal(heads[1]!.size, 3);
      assert.notDeepEqual(heads[0]!.rootHash, heads[1]!.rootHash);
    }
    const logged = mesh.node("a").logs.filter((l) => /origin log fork/.test(l));
    assert.ok(logged.length >= 1);
    for (const n of NAMES) {
      const st = JSON.parse((await mesh.node(n).cli("status", "--json")).stdout) as { originLog: { forks: number } };
      assert.ok(st.originLog.forks >= 1, `${n}: status --json counts the fork`);
      assert.match((await get(`${mesh.node(n).url}/metrics`)).text, /^vmsh_federation_log_forks [1-9]/m);
      // The explorer's origin-log panel (GET /api/v1/log) shows it against o's log.
      const logs = (JSON.parse((await get(`${mesh.node(n).url}/api/v1/log`)).text) as { logs: Array<{ origin: string; forks: number }> }).logs;
      assert.ok((logs.find((l) => l.origin === o.did)?.forks ?? 0) >= 1, `${n}: /api/v1/log shows o's fork`);
    }
  });
});
