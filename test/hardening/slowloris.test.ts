/**
 * 1,000 slow connections that never finish their headers: /health still answers, and a valid
 * signed request from a peer is still served, while they are held.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { signMessage } from "../../lib/messages/authenticate.js";
import type { Request } from "../../lib/messages/schema.js";
import { MESH_NAMESPACE } from "../support/mesh.js";
import { useMesh } from "../support/use-mesh.js";
import { holdSlowClients, type SlowClients } from "./slowloris.js";

const mesh = useMesh([{ name: "a", routes: [] }], { guests: [{ name: "peer", roles: ["request"] }] });
let slow: SlowClients | undefined;

after(() => slow?.close());

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
