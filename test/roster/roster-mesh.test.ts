// The governed roster end to end
// (docs/FEDERATION_OPERATIONS.md §Running a federation with a roster): six real `serve` processes, each with its own configuration and state directory,
// whose peers.yaml admits nobody. One roster published on one node makes a..e a federation;
// serial 2 adds f and a namespace pattern; serial 3 rotates c's key and revokes e. Rosters
// that must be refused (k−1 signatures, an older serial, a non-governance signer, expired)
// change nothing on any node. No node is restarted or sent SIGHUP after the start.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { readKeyFile, writeKeyFile } from "../../lib/identity/key-file.js";
import { formatKeyLine } from "../../lib/identity/did.js";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { buildAnnounce } from "../../lib/federation/gossip.js";
import { openStore } from "../../lib/store/index.js";
import { activeBatchIds, waitUntil, MESH_NAMESPACE as NS, type MeshNode } from "../support/mesh.js";
import { sealTsaBatch } from "../support/sealer.js";
import { useMesh } from "../support/use-mesh.js";
import { governanceKeys, governanceYaml, heldRosterFiles, makeRoster, shownSerial, type GovernanceKeys } from "./support.js";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";

const INTERVAL_S = 2;
const NAMES = ["a", "b", "c", "d", "e", "f"];
const govDir = mkdtempSync(join(tmpdir(), "vmsh-gov-"));
let gov: GovernanceKeys;
const mesh = useMesh(
  NAMES.map((name) => ({ name, routes: [], origins: [] })),
  async () => {
    gov = await governanceKeys(govDir, 3);
    return { antiEntropyIntervalS: INTERVAL_S, federationExtra: governanceYaml(2, gov) };
  },
);

const node = (n: string): MeshNode => mesh.node(n);
const five = () => ["a", "b", "c", "d", "e"].map((n) => ({ node: node(n) }));
const hasBatch = async (n: MeshNode, id: string) => (await activeBatchIds(n)).includes(id);
let sealedCount = 0;

async function announceOn(n: MeshNode, id: string): Promise<{ code: number | null; deliveries: Array<{ peer: string; outcome: string; reason?: string }>; stderr: string }> {
  const sealed = await sealTsaBatch(join(mesh.root, `sealer-${++sealedCount}`), id, 3, mesh.tsa);
  const r = await n.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
  return { code: r.code, deliveries: r.stdout === "" ? [] : JSON.parse(r.stdout).deliveries, stderr: r.stderr };
}

async function metric(n: MeshNode, name: RegExp): Promise<number> {
  const text = await (await fetch(`${n.url}/metrics`)).text();
  const m = text.split("\n").map((l) => name.exec(l)).find((x) => x !== null);
  return m == null ? NaN : Number(m[1]);
}
const SERIAL = /^vmsh_federation_roster_serial (\d+)$/;

/** Every node's roster state: the serial it shows and the files it holds. */
async function snapshot(): Promise<string> {
  const out: string[] = [];
  for (const n of NAMES) out.push(`${n}: ${await shownSerial(node(n))} ${(await heldRosterFiles(node(n))).join(",")}`);
  return out.join("\n");
}

/** Each node started once and reloaded only by the mesh's own start-up SIGHUP. */
const startedOnce = () => NAMES.every((n) => node(n).logs.filter((l) => /listening on/.test(l)).length === 1 && node(n).logs.filter((l) => /SIGHUP: reloaded/.test(l)).length <= 1);

describe("roster: a federation governed by one signed roster, applied live", () => {
  let serial1 = "";

  test("roster: serial 1 published on one node puts a..e in one federation, without restart or SIGHUP", async () => {
    assert.equal(await shownSerial(node("a")), null);
    serial1 = await makeRoster(govDir, node("a"), "serial1", { serial: 1, members: five() }, [gov.files[0]!, gov.files[1]!]);
    const v = await node("a").cli("roster", "verify", serial1);
    assert.equal(v.code, 0, v.stdout + v.stderr);
    const p = await node("a").cli("roster", "publish", serial1);
    assert.equal(p.code, 0, p.stderr);
    assert.match(p.stdout, /roster serial 1 in force, signed by 2 governance keys/);
    for (const n of ["a", "b", "c", "d", "e"]) await node(n).waitForLog(/"msg":"roster applied".*"serial":1/, 20_000);
    assert.equal(await shownSerial(node("f")), null, "f is not a member and was not offered serial 1");
    assert.equal(await metric(node("c"), SERIAL), 1);
    const applied = node("c").logs.find((l) => /roster applied/.test(l))!;
    assert.match(applied, /"added":\["did:vm:node:a","did:vm:node:b","did:vm:node:c","did:vm:node:d","did:vm:node:e"\]/);
    const r = await announceOn(node("a"), "r-0001");
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.deliveries.map((d) => d.peer).sort(), ["did:vm:node:b", "did:vm:node:c", "did:vm:node:d", "did:vm:node:e"]);
    for (const n of ["b", "c", "d", "e"]) await waitUntil(() => hasBatch(node(n), "r-0001"), 30_000, `${n} to hold r-0001`);
    // e seals a batch while it is a member: after its revocation this version is shown revoked-origin.
    const early = await announceOn(node("e"), "e-early");
    assert.equal(early.code, 0, early.stderr);
    for (const n of ["a", "b", "c", "d"]) await waitUntil(() => hasBatch(node(n), "e-early"), 30_000, `${n} to hold e-early`);
    assert.ok(startedOnce());
  });

  test("roster: refused rosters (k−1 signatures, non-governance signer, expired) change nothing on any node", async () => {
    const before = await snapshot();
    const stranger = join(govDir, "stranger.key");
    await writeKeyFile(stranger, generateNodeKey(), { force: false });
    const now = Math.floor(Date.now() / 1000);
    const cases: Array<[string, string, RegExp]> = [
      ["k−1", await makeRoster(govDir, node("a"), "few", { serial: 9, members: five() }, [gov.files[0]!]), /ROSTER_SIGNATURES.*has 1 valid governance signature, needs 2/],
      ["stranger", await makeRoster(govDir, node("a"), "stranger", { serial: 9, members: five() }, [gov.files[0]!, stranger]), /ROSTER_SIGNATURES.*not a governance key/],
      ["expired", await makeRoster(govDir, node("a"), "expired", { serial: 9, issuedAt: now - 100, expiresAt: now - 10, members: five() }, [gov.files[0]!, gov.files[2]!]), /ROSTER_EXPIRED.*expired at/],
    ];
    for (const [what, file, reason] of cases) {
      const r = await node("b").cli("roster", "publish", file);
      assert.equal(r.code, 1, `${what}: ${r.stdout}`);
      assert.match(r.stderr, reason, what);
      assert.match(r.stderr, /nothing changed/);
      // Offered over the wire to a running node: refused with the same reason.
      const offered = await fetch(`${node("c").url}/federation/roster`, { method: "POST", headers: { "content-type": "application/json" }, body: await readFile(file, "utf8") });
      const body = (await offered.json()) as { accepted: boolean; serial: number; reason: string };
      assert.equal(body.accepted, false, what);
      assert.equal(body.serial, 1);
      assert.match(`${(body as unknown as { code: string }).code}: ${body.reason}`, reason);
    }
    await node("c").waitForLog(/"msg":"roster refused".*ROSTER_EXPIRED/);
    // A body that is not a roster at all is 400 MALFORMED, naming the member.
    const bad = await fetch(`${node("c").url}/federation/roster`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ type: "roster", v: 1, serial: "9" }) });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(await bad.json()), /MALFORMED.*roster\.federation/);
    assert.equal(await snapshot(), before);
  });

  test("roster: serial 2 adds f and a namespace pattern; every node routes to f without restart", async () => {
    const rotated = generateNodeKey();
    await writeKeyFile(join(govDir, "c-next.key"), rotated, { force: false });
    const serial2 = await makeRoster(
      govDir,
      node("a"),
      "serial2",
      { serial: 2, members: [...five().map((m) => (m.node.name === "c" ? { ...m, next: formatKeyLine(rotated.publicKeyBytes) } : m)), { node: node("f") }], namespaces: `  "dao:*": { routing: { select: all, pull: any } }` },
      [gov.files[1]!, gov.files[2]!],
    );
    // d is down while serial 2 is offered: it must learn serial 2 by anti-entropy.
    await node("d").stop();
    // f holds nothing yet; publishing there bootstraps f and offers serial 2 to every member.
    const p = await node("f").cli("roster", "publish", serial2);
    assert.equal(p.code, 0, p.stderr);
    for (const n of ["a", "b", "c", "e", "f"]) await node(n).waitForLog(/"msg":"roster applied".*"serial":2/, 20_000);
    await node("d").start();
    await node("d").waitForLog(/"msg":"roster applied".*"serial":2/, 10 * INTERVAL_S * 1000);
    for (const n of ["a", "b", "c", "d", "e"]) {
      const s = JSON.parse((await node(n).cli("status", "--json")).stdout);
      assert.equal(s.roster.serial, 2, n);
      const route = s.roster.routes.find((r: { namespace: string }) => r.namespace === NS);
      assert.equal(route.pattern, "dao:*", n);
      assert.ok(route.peers.includes("did:vm:node:f"), `${n} routes ${NS} to f`);
    }
    const r = await announceOn(node("b"), "r-0002");
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.deliveries.some((d) => d.peer === "did:vm:node:f" && d.outcome === "delivered"), JSON.stringify(r.deliveries));
    await waitUntil(() => hasBatch(node("f"), "r-0002"), 30_000, "f to hold r-0002");
    // A replayed older serial: refused by the node and over the wire.
    const old = await node("e").cli("roster", "publish", serial1);
    assert.equal(old.code, 1);
    assert.match(old.stderr, /ROSTER_ROLLBACK.*serial 1 is older than serial 2 in force/);
    const offered = (await (await fetch(`${node("a").url}/federation/roster`, { method: "POST", headers: { "content-type": "application/json" }, body: await readFile(serial1, "utf8") })).json()) as { accepted: boolean; code: string };
    assert.deepEqual([offered.accepted, offered.code], [false, "ROSTER_ROLLBACK"]);
    assert.equal(await shownSerial(node("e")), 2);
  });

  test("roster: serial 3 promotes c's next key and revokes e: e's messages are refused, its later checkpoints too, its earlier versions show revoked-origin", async () => {
    // c starts signing with its announced next key; serial 2 already accepts it.
    const c = node("c");
    const nextKey = await readKeyFile(join(govDir, "c-next.key"));
    await c.stop();
    await writeKeyFile(join(c.configDir, "keys", "node.key"), nextKey, { force: true });
    await c.start();
    const during = await announceOn(c, "c-rotating");
    assert.equal(during.code, 0, during.stderr);
    assert.ok(during.deliveries.every((d) => d.outcome === "delivered"), JSON.stringify(during.deliveries));
    const members = five().filter((m) => m.node.name !== "e").map((m) => (m.node.name === "c" ? { ...m, key: formatKeyLine(nextKey.publicKeyBytes) } : m));
    const serial3 = await makeRoster(govDir, node("a"), "serial3", { serial: 3, members: [...members, { node: node("f") }], namespaces: `  "dao:*": { routing: { select: all, pull: any } }` }, [gov.files[0]!, gov.files[2]!]);
    const p = await node("a").cli("roster", "publish", serial3);
    assert.equal(p.code, 0, p.stderr);
    for (const n of ["a", "b", "c", "d", "f"]) await node(n).waitForLog(/"msg":"roster applied".*"serial":3/, 20_000);
    const applied = node("b").logs.find((l) => /"msg":"roster applied".*"serial":3/.test(l))!;
    assert.match(applied, /"removed":\["did:vm:node:e"\]/);
    assert.match(applied, /"rekeyed":\["did:vm:node:c"\]/);
    // e's Announces are refused everywhere.
    const late = await announceOn(node("e"), "e-late");
    assert.ok(late.deliveries.length > 0);
    for (const d of late.deliveries) assert.equal(d.outcome, "refused", JSON.stringify(d));
    assert.ok(late.deliveries.every((d) => /SIGNER_UNKNOWN/.test(d.reason ?? "")), JSON.stringify(late.deliveries));
    // e's Requests are refused.
    const sync = await node("e").cli("sync", "--namespace", NS, "--json");
    const peers = JSON.parse(sync.stdout).peers as Array<{ ok: boolean; error: string }>;
    assert.ok(peers.length > 0 && peers.every((x) => !x.ok && /SIGNER_UNKNOWN/.test(x.error)), sync.stdout);
    // A member relays e's checkpoint signed after the revocation: a refuses it and never holds the batch.
    const eStore = await openStore(node("e").stateDir, { readOnly: true });
    const lateVersion = eStore.listBatches(NS).find((b) => b.batchId === "e-late")!;
    const bKey = await readKeyFile(join(node("b").configDir, "keys", "node.key"));
    const relayed = await buildAnnounce(eStore, { did: node("b").did, privateKey: bKey.privateKey }, NS, "e-late", lateVersion.batchRoot, Math.floor(Date.now() / 1000), node("a").did, node("e").did);
    await eStore.close();
    const res = await fetch(`${node("a").url}/federation/announce`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(relayed) });
    assert.equal(res.status, 202);
    await node("a").waitForLog(/announce refused: checkpoint not from an origin.*e-late/);
    assert.equal(await hasBatch(node("a"), "e-late"), false);
    // e's earlier version stays, shown revoked-origin.
    const s = JSON.parse((await node("a").cli("status", "--json")).stdout);
    assert.deepEqual(s.revoked.map((v: { batchId: string; state: string; revokedBy: number }) => [v.batchId, v.state, v.revokedBy]), [["e-early", "revoked-origin", 3]]);
    // The explorer shows the same: serial, routes, the revoked version.
    const api = (await (await fetch(`${node("a").url}/api/v1/roster`)).json()) as { roster: { serial: number; routes: Array<{ namespace: string; peers: string[] }> }; revoked: Array<{ batchId: string }> };
    assert.equal(api.roster.serial, 3);
    assert.ok(!api.roster.routes.find((r) => r.namespace === NS)!.peers.includes("did:vm:node:e"));
    assert.deepEqual(api.revoked.map((v) => v.batchId), ["e-early"]);
    const text = await node("a").cli("status");
    assert.match(text.stdout, /revoked-origin: dao:vaultmesh batch e-early/);
    // c, with its promoted key, still federates.
    const after = await announceOn(c, "c-after");
    assert.equal(after.code, 0, after.stderr);
    await waitUntil(() => hasBatch(node("f"), "c-after"), 30_000, "f to hold c-after");
    assert.equal(await metric(node("f"), SERIAL), 3);
    assert.ok(NAMES.filter((n) => n !== "c" && n !== "d").every((n) => node(n).logs.filter((l) => /listening on/.test(l)).length === 1), "no restart except c's key change and d's outage");
  });
});
