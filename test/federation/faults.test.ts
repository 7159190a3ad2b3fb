import { after, describe, test } from "node:test";
import { checkpointBy } from "../support/checkpoint.js";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { join } from "node:path";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { formatKeyLine } from "../../lib/identity/did.js";
import { signMessage } from "../../lib/messages/authenticate.js";
import type { Announce, Bundle } from "../../lib/messages/schema.js";
import { checkIntegrity } from "../../lib/store/index.js";
import { activeBatchIds, waitUntil, MESH_NAMESPACE as NS } from "../support/mesh.js";
import { sealTsaBatch } from "../support/sealer.js";
import { useMesh } from "../support/use-mesh.js";

/** What the hostile guest's server answers to /federation/request. */
let hostileAnswer: "garbage" | "wrong-key" | "hang" = "garbage";
let hostile: Server;
const hanging = new Set<Socket>();

const now = () => Math.floor(Date.now() / 1000);
const ROOT = `sha256:${"7c".repeat(32)}`;

// The hostile guest's server starts inside useMesh's hook: the nodes need its URL.
const mesh = useMesh(
  [
    { name: "a", routes: ["b"] },
    { name: "b", routes: ["a"] },
  ],
  async () => {
    hostile = createServer((req, res) => {
      if (hostileAnswer === "hang") {
        hanging.add(req.socket);
        return; // accept, never answer
      }
      if (hostileAnswer === "garbage") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end("{ this is not json");
        return;
      }
      // A well-formed bundle, signed by a key that is not the guest's.
      const bundle = signMessage<Bundle>({ type: "bundle", v: 2, namespace: NS, aud: "did:vm:node:a", request: `sha256:${"00".repeat(32)}`, checkpoints: [], receipts: [], anchors: [], ts: now(), signer: "did:vm:node:hostile" }, generateNodeKey().privateKey);
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(bundle));
    });
    await new Promise<void>((r) => hostile.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
    return { guests: [{ name: "hostile", roles: ["announce", "serve", "request", "origin"], url }] };
  },
);
after(async () => {
  for (const s of hanging) s.destroy();
  await new Promise((r) => hostile?.close(r));
});

describe("federation: faults", () => {
  test("faults: SIGKILL of the receiving node at random moments, 5 times: nothing reported stored is lost", async () => {
    const a = mesh.node("a");
    const b = mesh.node("b");
    const reported: string[] = [];
    for (let i = 0; i < 5; i++) {
      const s = await sealTsaBatch(join(mesh.root, "sealer"), `k-${i}`, 4, mesh.tsa, 1_760_100_000 + i);
      const announcing = a.cli("announce", "--namespace", NS, "--batch", s.batchFile, "--receipts", s.receiptsDir, "--json");
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 400)));
      await b.stop("SIGKILL");
      const r = await announcing;
      assert.equal(r.code, 0, r.stderr);
      reported.push(s.id);
      const integrity = await checkIntegrity(b.stateDir);
      assert.deepEqual(integrity.problems, [], `b's state after SIGKILL ${i}`);
      await b.start();
    }
    // a reported every batch stored; b gets each through a's outbox or anti-entropy.
    assert.deepEqual((await activeBatchIds(a)).filter((id) => id.startsWith("k-")), reported);
    await waitUntil(async () => {
      const held = await activeBatchIds(b);
      return reported.every((id) => held.includes(id));
    }, 60_000, "b to hold all 5 batches");
  });

  test("faults: SIGKILL of the announcing node right after it reported a batch stored loses nothing", async () => {
    const a = mesh.node("a");
    const s = await sealTsaBatch(join(mesh.root, "sealer"), "k-announcer", 3, mesh.tsa, 1_760_100_100);
    const r = await a.cli("announce", "--namespace", NS, "--batch", s.batchFile, "--receipts", s.receiptsDir);
    assert.equal(r.code, 0, r.stderr);
    await a.stop("SIGKILL");
    assert.deepEqual((await checkIntegrity(a.stateDir)).problems, []);
    await a.start();
    assert.ok((await activeBatchIds(a)).includes("k-announcer"));
    await waitUntil(async () => (await activeBatchIds(mesh.node("b"))).includes("k-announcer"), 30_000, "b to hold k-announcer");
  });

  test("faults: a peer that answers garbage, a wrong-key bundle, or hangs is refused and the node carries on", async () => {
    const a = mesh.node("a");
    const g = mesh.guests.get("hostile")!;
    for (const mode of ["garbage", "wrong-key", "hang"] as const) {
      hostileAnswer = mode;
      const batchId = `h-${mode}`;
      const checkpoint = checkpointBy(g, { namespace: NS, batchId, batchRoot: ROOT });
      const announce = signMessage<Announce>({ type: "announce", v: 2, namespace: NS, aud: a.did, batchId, batchRoot: ROOT, checkpoint, anchors: [{ batchId, batchRoot: ROOT, chain: "rfc3161:x", tx: "t", block: 0, ts: 1, sig: "AAAA" }], ts: now(), signer: g.did }, g.key.privateKey);
      const res = await fetch(`${a.url}/federation/announce`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(announce) });
      assert.equal(res.status, 202);
      if (mode !== "hang") await a.waitForLog(new RegExp(`pull failed.*${mode === "garbage" ? "not valid JSON|MALFORMED|malformed" : "signed by|does not answer|refused"}`), 20_000);
      assert.equal((await a.health()).status, 200);
    }
    // While the hostile peer hangs, a real batch still flows a → b.
    const s = await sealTsaBatch(join(mesh.root, "sealer"), "after-hostile", 2, mesh.tsa, 1_760_100_200);
    const r = await a.cli("announce", "--namespace", NS, "--batch", s.batchFile, "--receipts", s.receiptsDir);
    assert.equal(r.code, 0, r.stderr);
    await waitUntil(async () => (await activeBatchIds(mesh.node("b"))).includes("after-hostile"), 30_000, "b to hold after-hostile while a pull hangs");
    assert.ok(!(await activeBatchIds(a)).some((id) => id.startsWith("h-")), "nothing from the hostile peer was stored");
    for (const sock of hanging) sock.destroy();
  });

  test("faults: a sync CLI run during daemon imports loses no update", async () => {
    const a = mesh.node("a");
    const b = mesh.node("b");
    const ids: string[] = [];
    const announces: Promise<unknown>[] = [];
    for (let i = 0; i < 6; i++) {
      const s = await sealTsaBatch(join(mesh.root, "sealer"), `race-${i}`, 3, mesh.tsa, 1_760_100_300 + i);
      ids.push(s.id);
      announces.push(a.cli("announce", "--namespace", NS, "--batch", s.batchFile, "--receipts", s.receiptsDir));
      if (i % 2 === 0) announces.push(b.cli("sync", "--namespace", NS));
    }
    await Promise.all(announces);
    await waitUntil(async () => {
      const held = await activeBatchIds(b);
      return ids.every((id) => held.includes(id));
    }, 60_000, "b to hold all race batches");
    assert.deepEqual((await checkIntegrity(b.stateDir)).problems, []);
  });

  test("faults: key rotation: after peers.yaml gets the new key and SIGHUP, the old key is refused", async () => {
    const a = mesh.node("a");
    const g = mesh.guests.get("hostile")!;
    const oldKey = g.key;
    const newKey = generateNodeKey();
    const send = (key: typeof oldKey) =>
      fetch(`${a.url}/federation/request`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(signMessage({ type: "request", v: 2, namespace: NS, aud: a.did, ts: now(), signer: g.did, want: [`sha256:${Math.random().toString(16).slice(2).padEnd(64, "0").slice(0, 64)}`] }, key.privateKey)),
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { error?: { code: string } } }));
    assert.equal((await send(oldKey)).status, 200);
    await mesh.writePeers("a", [
      { did: mesh.node("b").did, url: mesh.node("b").url, roles: ["announce", "serve", "request"], key: mesh.node("b").verifyKey },
      { did: g.did, url: g.url, roles: g.roles, key: formatKeyLine(newKey.publicKeyBytes) },
    ]);
    const old = await send(oldKey);
    assert.equal(old.status, 401);
    assert.equal(old.body.error?.code, "SIG_INVALID");
    assert.equal((await send(newKey)).status, 200);
  });
});
