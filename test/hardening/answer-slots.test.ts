/**
 * The Request answer slots are shared fairly (docs/FEDERATION_PROTOCOL.md §Limits): peers
 * flooding a real `serve` with Requests back to back, each at its allowance, hold their own
 * turns and nobody else's, so a legitimate peer's Requests are all answered (they wait their
 * turn instead of being refused 429 while another peer's answer is built). Everything is
 * counted, nothing is timed.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { signMessage } from "../../lib/messages/authenticate.js";
import type { Request } from "../../lib/messages/schema.js";
import { startMesh, MESH_NAMESPACE as NS, type Guest, type Mesh, type MeshNode } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { seedStore } from "../support/seed-store.js";

const FLOODERS = ["f1", "f2", "f3"];
/** Ids per flooding Request: an answer of about 2 MB, built over many slices. */
const FLOOD_WANT = 2000;
const LEGIT_REQUESTS = 12;
const LEGIT_WANT = 50;

let tsa: OpensslTsa;
let mesh: Mesh;
let node: MeshNode;
let ids: string[];
let sequence = 0;

interface Answer {
  status: number;
  code?: string;
  receipts: number;
}

/** POSTs a Request for `want` signed by `g`, with `type`, `v` and `signer` first as a 0.3.0 sender writes it. */
async function ask(g: Guest, want: string[]): Promise<Answer> {
  const { type, v, signer, ...rest } = signMessage<Request>({ type: "request", v: 2, namespace: NS, aud: node.did, want, ts: Math.floor(Date.now() / 1000), signer: g.did }, g.key.privateKey);
  const res = await fetch(`${node.url}/federation/request`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ type, v, signer, ...rest }) });
  const body = (await res.json()) as { error?: { code: string }; receipts?: unknown[] };
  return { status: res.status, code: body.error?.code, receipts: body.receipts?.length ?? 0 };
}

/** A different slice of the held ids each time, so every message has its own digest. */
function nextWant(n: number): string[] {
  const start = (sequence++ * 997) % (ids.length - n);
  return ids.slice(start, start + n);
}

before(async () => {
  tsa = createOpensslTsa();
  const guests = [...FLOODERS, "legit"].map((name) => ({ name, roles: ["request"] }));
  // Allowances high enough that the flooders are never refused for their own budgets: what
  // limits them is only that one answer per peer is built or waiting at a time.
  mesh = await startMesh([{ name: "a", routes: [] }], { trustPem: tsa.rootPem, guests, limits: { requestPerMin: 100_000, answerBytesPerMin: 1024 * 1024 * 1024, postsPerAddressPerMin: 100_000 } });
  node = mesh.node("a");
  await node.stop();
  ids = await seedStore(node.stateDir, tsa, { namespace: NS, origin: { did: node.did, keyFile: join(node.configDir, "keys", "node.key") }, batches: 10, receiptsPerBatch: 1000 });
  await node.start();
});
after(async () => {
  await mesh?.stop();
  tsa?.cleanup();
});

describe("hardening: Request answer slots shared fairly (issue #21 item 5)", () => {
  test("three peers flooding Requests back to back at their allowance do not make a fourth peer's Requests refused: all of them are answered", async () => {
    let flooding = true;
    const flooded = new Map<string, Answer[]>(FLOODERS.map((f) => [f, []]));
    const floods = FLOODERS.map(async (name) => {
      const g = mesh.guests.get(name)!;
      while (flooding) flooded.get(name)!.push(await ask(g, nextWant(FLOOD_WANT)));
    });
    // The flood is under way: every flooder has had an answer before the legitimate peer asks.
    for (let polls = 0; polls < 1200 && [...flooded.values()].some((answers) => !answers.some((a) => a.status === 200)); polls++) await new Promise((resolve) => setTimeout(resolve, 50));
    const legit: Answer[] = [];
    try {
      for (let i = 0; i < LEGIT_REQUESTS; i++) legit.push(await ask(mesh.guests.get("legit")!, nextWant(LEGIT_WANT)));
    } finally {
      flooding = false;
      await Promise.all(floods);
    }
    assert.deepEqual(
      legit.map((a) => `${a.status} ${a.code ?? ""}`.trim()),
      Array.from({ length: LEGIT_REQUESTS }, () => "200"),
      "every Request of the legitimate peer is answered",
    );
    for (const a of legit) assert.equal(a.receipts, LEGIT_WANT);
    for (const [name, answers] of flooded) {
      // The flooders were served too, each its own turns; nothing of theirs was refused either.
      assert.ok(answers.filter((a) => a.status === 200).length >= 2, `${name}: ${answers.length} answers`);
      assert.deepEqual(answers.filter((a) => a.status !== 200), [], `${name}`);
    }
  });
});
