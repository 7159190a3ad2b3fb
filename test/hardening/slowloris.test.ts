/**
 * 1,000 slow connections that never finish their headers: /health still answers, and a valid
 * signed request from a peer is still served, while they are held.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { signMessage } from "../../lib/messages/authenticate.js";
import type { Request } from "../../lib/messages/schema.js";
import { startMesh, MESH_NAMESPACE, type Mesh } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { holdSlowClients, type SlowClients } from "./slowloris.js";

let tsa: OpensslTsa;
let mesh: Mesh;
let slow: SlowClients | undefined;

before(async () => {
  tsa = createOpensslTsa();
  mesh = await startMesh([{ name: "a", routes: [] }], { trustPem: tsa.rootPem, guests: [{ name: "peer", roles: ["request"] }] });
});
after(async () => {
  slow?.close();
  await mesh?.stop();
  tsa?.cleanup();
});

describe("hardening: slow clients", () => {
  test("slowloris: with 1,000 connections trickling headers, /health answers and a peer's request is served", async () => {
    const node = mesh.node("a");
    slow = await holdSlowClients(node.url, 1000, 500);
    assert.ok(slow.open() >= 900, `only ${slow.open()} of 1,000 slow connections opened`);
    await new Promise((r) => setTimeout(r, 1500));
    for (let i = 0; i < 5; i++) {
      const h = await node.health();
      assert.equal(h.status, 200);
      assert.equal(h.body.status, "ok");
    }
    const peer = mesh.guests.get("peer")!;
    const m = signMessage<Request>({ type: "request", v: 2, namespace: MESH_NAMESPACE, aud: node.did, ts: Math.floor(Date.now() / 1000), signer: peer.did }, peer.key.privateKey);
    const res = await fetch(`${node.url}/federation/request`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(m) });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { type: string }).type, "bundle");
    assert.ok(slow.open() > 0, "the slow connections were all gone before the checks ran");
    slow.close();
    assert.ok(node.running);
  });
});
