// When anti-entropy runs (docs/ANTI_ENTROPY.md §Rounds), with real serve processes and anti-entropy
// an hour apart, so that every session these tests see comes from the rule under test, not from
// a timer: a round at start; the sessions of a round side by side, so a peer that trickles its
// answer holds up only its own; a peer in back-off reconciled with at once when it is heard from.
// Found by the chaos run (docs/RELIABILITY.md §Chaos): heals converged after up to 17 s against a
// bound of two 5 s intervals while each round reconciled its peers one after another.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { lastSyncs } from "../../lib/federation/sync-state.js";
import { openStore } from "../../lib/store/index.js";
import { startMesh, waitUntil, MESH_NAMESPACE as NS, type Mesh, type MeshNode } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";

let tsa: OpensslTsa;
let mesh: Mesh;
/** A routed peer that answers every POST with a 200 whose body never ends: one byte every 2 s. */
let slow: { server: Server; url: string; open: Map<ServerResponse, string>; release(): void };

function trickler(): typeof slow {
  const open = new Map<ServerResponse, string>();
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8").on("data", (d: string) => (body += d));
    req.on("end", () => {
      const signer = /"signer":"([^"]+)"/.exec(body)?.[1] ?? "?";
      res.writeHead(200, { "content-type": "application/json" });
      open.set(res, signer);
      const drip = setInterval(() => res.write(" "), 2_000);
      res.on("close", () => {
        clearInterval(drip);
        open.delete(res);
      });
    });
  });
  return {
    server,
    url: "",
    open,
    release() {
      for (const res of open.keys()) res.destroy();
    },
  };
}

before(async () => {
  tsa = createOpensslTsa();
  slow = trickler();
  await new Promise<void>((r) => slow.server.listen(0, "127.0.0.1", r));
  slow.url = `http://127.0.0.1:${(slow.server.address() as AddressInfo).port}`;
  mesh = await startMesh([{ name: "a", routes: ["b"] }, { name: "b", routes: ["a"] }], {
    trustPem: tsa.rootPem,
    antiEntropyIntervalS: 3600,
    guests: [{ name: "slow", roles: ["announce", "serve", "request"], url: slow.url }],
  });
  // a reconciles with the trickling peer first.
  const fed = join(mesh.node("a").configDir, "federation.yaml");
  const text = await readFile(fed, "utf8");
  assert.match(text, /peers: \["did:vm:node:b", "did:vm:node:slow"\]/);
  await writeFile(fed, text.replace('peers: ["did:vm:node:b", "did:vm:node:slow"]', 'peers: ["did:vm:node:slow", "did:vm:node:b"]'));
});
after(async () => {
  slow?.release();
  await mesh?.stop();
  slow?.server.closeAllConnections();
  await new Promise((r) => slow?.server.close(r));
  tsa?.cleanup();
});

/** When `n` last recorded a successful session with `peer`, unix seconds (0: never). */
async function syncedAt(n: MeshNode, peer: MeshNode): Promise<number> {
  const store = await openStore(n.stateDir, { readOnly: true });
  try {
    return (await lastSyncs(store)).get(peer.did)?.[NS] ?? 0;
  } finally {
    await store.close();
  }
}

const nowS = (): number => Math.floor(Date.now() / 1000);

/**
 * A time in unix seconds after which a session of `n` with `peer` is recorded only by a session
 * that starts now: sessions are recorded to the second, so a session of an earlier test in this
 * same second would otherwise pass for the one under test (it did, in CI).
 */
async function sinceNow(n: MeshNode, peer: MeshNode): Promise<number> {
  const before = await syncedAt(n, peer);
  while (nowS() <= before) await new Promise((r) => setTimeout(r, 50));
  return nowS();
}

test("anti-entropy rounds: the sessions of a round run side by side, so a peer trickling its answer does not hold up the others", async () => {
  const [a, b] = [mesh.node("a"), mesh.node("b")];
  await a.stop();
  const since = await sinceNow(a, b);
  await a.start();
  // a's round at start asks the trickling peer first; one after another, b would wait for ever.
  await waitUntil(async () => (await syncedAt(a, b)) >= since, 60_000, "a to reconcile with b");
  assert.ok([...slow.open.values()].includes(a.did), "the trickling peer's answer to a was still coming");
});

test("anti-entropy rounds: a node runs a round when it starts, not one interval later", async () => {
  const [a, b] = [mesh.node("a"), mesh.node("b")];
  await b.stop();
  const since = await sinceNow(b, a);
  await b.start();
  // The next timed round is an hour away.
  await waitUntil(async () => (await syncedAt(b, a)) >= since, 60_000, "b to reconcile with a after its start");
});

test("anti-entropy rounds: a peer in back-off that is heard from again is reconciled with at once, not at the next round", async () => {
  const [a, b] = [mesh.node("a"), mesh.node("b")];
  await b.stop();
  await a.stop();
  await a.start();
  // a's round at start fails against b: b is in back-off, and a's next round is an hour away.
  await a.waitForLog(/anti-entropy failed.*"peer":"did:vm:node:b"/, 60_000);
  const since = await sinceNow(a, b);
  await b.start();
  // b's round at start reaches a (an authenticated reconcile): a reconciles with b in return.
  await waitUntil(async () => (await syncedAt(a, b)) >= since, 60_000, "a to reconcile with b once b was heard from");
  assert.equal(a.logs.filter((l) => /a peer in back-off was heard from, reconciling now.*"peer":"did:vm:node:b"/.test(l)).length, 1);
});
