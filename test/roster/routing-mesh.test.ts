// Routing policies end to end (docs/FEDERATION_OPERATIONS.md §Routing policies): seven real
// `serve` processes and one member, s, that is a test server answering slowly and serving
// nothing. The roster routes `dao:*` with `{ fanout: 2, select: lowest-latency }`.
// An Announce goes to two peers and still reaches every node (relay and anti-entropy); nobody
// asks s for a batch or reconciles with it, even when s announces one itself: the test counts
// what s was asked, and reads each node's selection counts from /metrics. No timing is asserted.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatKeyLine } from "../../lib/identity/did.js";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { buildAnnounce } from "../../lib/federation/gossip.js";
import { openStore } from "../../lib/store/index.js";
import { activeBatchIds, waitUntil, MESH_NAMESPACE as NS, type MeshNode } from "../support/mesh.js";
import { sealTsaBatch } from "../support/sealer.js";
import { useMesh } from "../support/use-mesh.js";
import { governanceKeys, governanceYaml, makeRoster, type GovernanceKeys } from "./support.js";

const NAMES = ["a", "b", "c", "d", "e", "f", "g"];
const SLOW_MS = 1_500;
const govDir = mkdtempSync(join(tmpdir(), "vmsh-gov-"));
const sKey = generateNodeKey();
const S_DID = "did:vm:node:s";
const asked = { request: 0, reconcile: 0, announce: 0 };
let slow: Server;
let sUrl = "";
let gov: GovernanceKeys;

/** s: a member that answers every probe late and holds nothing it will give. */
function startSlowMember(): Promise<void> {
  slow = createServer((req, res) => {
    req.resume();
    const path = (req.url ?? "/").split("?")[0];
    const reply = (status: number, body: unknown) => {
      if (!res.headersSent) res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    req.on("end", () => {
      if (path === "/federation/request") asked.request++;
      if (path === "/federation/reconcile") asked.reconcile++;
      if (path === "/federation/announce") return (asked.announce++, reply(202, { accepted: true }));
      if (req.method === "POST" && path === "/federation/roster") return reply(200, { accepted: true, serial: null });
      const late = path === "/federation/roster" || path === "/health";
      setTimeout(() => reply(late && path === "/health" ? 200 : 503, late && path === "/health" ? { status: "ok", node: S_DID } : { error: { code: "SHUTTING_DOWN", message: "slow member" } }), late ? SLOW_MS : 0);
    });
  });
  return new Promise((resolve) => slow.listen(0, "127.0.0.1", () => {
    sUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}`;
    resolve();
  }));
}

const mesh = useMesh(
  NAMES.map((name) => ({ name, routes: [], origins: [] })),
  async () => {
    await startSlowMember();
    gov = await governanceKeys(govDir, 1);
    return { antiEntropyIntervalS: 2, federationExtra: governanceYaml(1, gov) };
  },
);
after(() => new Promise<void>((resolve) => (slow ? slow.close(() => resolve()) : resolve())));

const node = (n: string): MeshNode => mesh.node(n);
const hasBatch = async (n: MeshNode, id: string) => (await activeBatchIds(n)).includes(id);

async function selections(n: MeshNode): Promise<Map<string, number>> {
  const text = await (await fetch(`${n.url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const m of text.matchAll(/^vmsh_federation_peer_selected_total\{peer="([^"]+)",purpose="([a-z]+)"\} (\d+)$/gm)) out.set(`${m[2]} ${m[1]}`, Number(m[3]));
  return out;
}

describe("routing: fanout, selection and pulls per the roster's policy", () => {
  test("routing: with fanout 2 an Announce goes to two peers and reaches all seven nodes", async () => {
    const sMember = { node: { did: S_DID, url: sUrl, verifyKey: formatKeyLine(sKey.publicKeyBytes) } as MeshNode, roles: ["announce", "serve", "request"] };
    const roster = await makeRoster(govDir, node("a"), "routing", {
      serial: 1,
      members: [...NAMES.map((n) => ({ node: node(n) })), sMember],
      namespaces: `  "dao:*": { routing: { fanout: 2, select: lowest-latency, pull: fastest } }`,
    }, [gov.files[0]!]);
    const p = await node("a").cli("roster", "publish", roster);
    assert.equal(p.code, 0, p.stderr);
    for (const n of NAMES) await node(n).waitForLog(/"msg":"roster applied".*"serial":1/, 20_000);
    const sealed = await sealTsaBatch(join(mesh.root, "sealer-1"), "fan-1", 3, mesh.tsa);
    const r = await node("a").cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
    assert.equal(r.code, 0, r.stderr);
    const deliveries = JSON.parse(r.stdout).deliveries as Array<{ peer: string; outcome: string }>;
    assert.equal(deliveries.length, 2, JSON.stringify(deliveries));
    assert.ok(!deliveries.some((d) => d.peer === S_DID));
    for (const n of NAMES.slice(1)) await waitUntil(() => hasBatch(node(n), "fan-1"), 60_000, `${n} to hold fan-1`);
  });

  test("routing: pulls and anti-entropy avoid the slow member, even for a batch it announces", async () => {
    // Every node has measured s once it ran an anti-entropy round (the roster exchange is the probe).
    for (const n of NAMES) await waitUntil(async () => [...(await selections(node(n))).keys()].some((k) => k.startsWith("sync ")), 30_000, `${n} to run an anti-entropy round`);
    const before = { ...asked };
    // s's Announce races the relays of a's: a node that already holds the batch pulls nothing.
    // Batches are announced until at least one node pulled because of s's Announce (usually the first).
    let pulledAfterS: string[] = [];
    for (let attempt = 1; attempt <= 5 && pulledAfterS.length === 0; attempt++) {
      const id = `fan-2-${attempt}`;
      const sealed = await sealTsaBatch(join(mesh.root, `sealer-2-${attempt}`), id, 3, mesh.tsa);
      const announcing = node("a").cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
      // s announces the batch to every node at once, as a holder would, as soon as a has stored it:
      // while a's own Announces (fanout 2) and their relays are still on their way.
      const announces: unknown[] = [];
      await waitUntil(
        async () => {
          const store = await openStore(node("a").stateDir, { readOnly: true });
          try {
            const version = store.listBatches(NS).find((b) => b.batchId === id);
            if (version === undefined) return false;
            for (const n of NAMES.slice(1)) announces.push(await buildAnnounce(store, { did: S_DID, privateKey: sKey.privateKey }, NS, id, version.batchRoot, Math.floor(Date.now() / 1000), node(n).did, node("a").did));
            return true;
          } finally {
            await store.close();
          }
        },
        60_000,
        `a to store ${id}`,
      );
      const answers = await Promise.all(NAMES.slice(1).map((n, i) => fetch(`${node(n).url}/federation/announce`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(announces[i]) })));
      assert.deepEqual(answers.map((x) => x.status), NAMES.slice(1).map(() => 202));
      const r = await announcing;
      assert.equal(r.code, 0, r.stderr);
      for (const n of NAMES.slice(1)) await waitUntil(() => hasBatch(node(n), id), 60_000, `${n} to hold ${id}`);
      // Pulls started by s's Announce went to a fast holder.
      pulledAfterS = NAMES.filter((n) => node(n).logs.some((l) => /imported announced batch/.test(l) && l.includes(`"batch":"${id}"`) && l.includes(`"from":"${S_DID}"`)));
      assert.equal(asked.request - before.request, 0, "nobody asked s for a bundle");
    }
    assert.ok(pulledAfterS.length > 0, "at least one node pulled because of s's Announce");
    assert.equal(asked.request - before.request, 0, "nobody asked s for a bundle");
    assert.equal(asked.reconcile, 0, "nobody reconciled with s");
    for (const n of NAMES) {
      const sel = await selections(node(n));
      assert.equal(sel.get(`pull ${S_DID}`) ?? 0, 0, `${n} never pulled from s`);
      assert.equal(sel.get(`sync ${S_DID}`) ?? 0, 0, `${n} never chose s for anti-entropy`);
      const pulls = [...sel].filter(([k]) => k.startsWith("pull ")).reduce((t, [, v]) => t + v, 0);
      if (pulledAfterS.includes(n)) assert.ok(pulls > 0, `${n} counted its pulls`);
    }
  });
});
