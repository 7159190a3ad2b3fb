// A peer heard from gets the Announces queued for it at once, not when their retry time comes
// (docs/ANTI_ENTROPY.md §Rounds, "Queued Announces go at once"): the call in
// lib/federation/node.ts that wakes the peer's outbox lane when it is heard from, end to end with
// two real `serve` processes, each with its own state directory.
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { OUTBOX_INDEX_DOC, queueDocName, readQueue, type PeerQueue } from "../../lib/federation/outbox-queue.js";
import { openStore } from "../../lib/store/index.js";
import { waitUntil, MESH_NAMESPACE as NS, type MeshNode } from "../support/mesh.js";
import { useMesh } from "../support/use-mesh.js";
import { sealTsaBatch } from "../support/sealer.js";

// Anti-entropy once an hour: after its round at start, nothing runs on a timer but the outbox tick.
const mesh = useMesh([{ name: "a", routes: ["b"] }, { name: "b", routes: ["a"] }], { antiEntropyIntervalS: 3600 });

/** The entries queued on `n` for `peer`, read from n's own state. */
async function queued(n: MeshNode, peer: string): Promise<PeerQueue["entries"]> {
  const store = await openStore(n.stateDir, { readOnly: true });
  try {
    return readQueue(await store.getDoc(queueDocName(peer)), peer).entries;
  } finally {
    await store.close();
  }
}

test("outbox wake: an Announce queued for a peer with its next try an hour away goes as soon as the peer is heard from", async () => {
  const [a, b] = [mesh.node("a"), mesh.node("b")];
  await b.stop();
  const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "w-1", 3, mesh.tsa);
  const r = await a.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
  assert.equal(JSON.parse(r.stdout).deliveries.find((d: { peer: string }) => d.peer === b.did)?.outcome, "queued", r.stderr);

  // As after many failed tries: the entry's next try is an hour away.
  await a.stop();
  const store = await openStore(a.stateDir);
  try {
    await store.updateDoc<PeerQueue>(queueDocName(b.did), (cur) => {
      const q = readQueue(cur, b.did);
      return { ...q, entries: q.entries.map((e) => ({ ...e, attempts: 9, nextAttemptAt: Date.now() + 3_600_000 })) };
    });
    assert.ok(await store.getDoc(OUTBOX_INDEX_DOC));
  } finally {
    await store.close();
  }
  await a.start();
  assert.equal((await queued(a, b.did)).length, 1, "not due for an hour");

  // b comes back; its round at start reconciles with a, so a hears from it.
  await b.start();
  await waitUntil(async () => (await queued(a, b.did)).length === 0, 30_000, "a to deliver the queued Announce to b");
});
