// A partition that heals is reconciled at the next anti-entropy round (docs/ANTI_ENTROPY.md
// §Catching up): a peer's back-off after failed rounds ends as soon as that peer is heard from.
// Found by the chaos run (docs/RELIABILITY.md §Chaos): before, a node that had failed against a
// peer a few times waited out up to 32 intervals after the peer was back, and convergence after
// a heal took 24 s against a bound of two 5 s intervals.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { lastSyncs } from "../../lib/federation/sync-state.js";
import { openStore } from "../../lib/store/index.js";
import { startMesh, waitUntil, MESH_NAMESPACE as NS, type Mesh } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";

const INTERVAL_S = 3;
let tsa: OpensslTsa;
let mesh: Mesh;

before(async () => {
  tsa = createOpensslTsa();
  mesh = await startMesh([{ name: "a", routes: ["b"] }, { name: "b", routes: ["a"] }], { trustPem: tsa.rootPem, antiEntropyIntervalS: INTERVAL_S });
});
after(async () => {
  await mesh?.stop();
  tsa?.cleanup();
});

/** When a last recorded a successful sync with b, unix seconds (0: never). */
async function aSyncedB(): Promise<number> {
  const store = await openStore(mesh.node("a").stateDir, { readOnly: true });
  try {
    return (await lastSyncs(store)).get(mesh.node("b").did)?.[NS] ?? 0;
  } finally {
    await store.close();
  }
}

test("anti-entropy: a peer back after failed rounds is reconciled at the next round once it is heard from, not when its back-off runs out", async () => {
  const a = mesh.node("a");
  const b = mesh.node("b");
  assert.equal(await b.stop(), 0);
  // Three failed rounds: a's next try at b is 8 intervals (24 s) away.
  const line = await a.waitForLog(new RegExp(`anti-entropy failed.*"retryInS":${8 * INTERVAL_S}`), 60_000);
  const { time, retryInS } = JSON.parse(line) as { time: string; retryInS: number };
  const until = Date.parse(time) / 1000 + retryInS;
  const back = Math.floor(Date.now() / 1000);
  await b.start();
  // b's own round reaches a (an authenticated reconcile): a must sync with b well before `until`.
  await waitUntil(async () => (await aSyncedB()) >= back, (retryInS + 30) * 1000, "a to sync with b again");
  const synced = await aSyncedB();
  // Two intervals of margin: a retry that merely waited out the back-off lands at `until`.
  assert.ok(synced < until - 2 * INTERVAL_S, `a synced with b at ${synced}, only when its back-off ran out (${until.toFixed(0)}): hearing from b did not end it`);
});

test("anti-entropy: after a partition, when neither side hears from the other, a backed-off peer that answers /health is tried at the next round", async () => {
  const a = mesh.node("a");
  const b = mesh.node("b");
  assert.equal(await b.stop(), 0);
  // b comes back silent towards a (its own anti-entropy an hour apart, nothing to announce), as
  // after a symmetric partition where both sides are in back-off.
  const fed = join(b.configDir, "federation.yaml");
  await writeFile(fed, (await readFile(fed, "utf8")).replace(`interval_s: ${INTERVAL_S}`, "interval_s: 3600"));
  const seen = a.logs.length;
  const line = await waitForNew(a, new RegExp(`anti-entropy failed.*"retryInS":${8 * INTERVAL_S}`), seen);
  const { time, retryInS } = JSON.parse(line) as { time: string; retryInS: number };
  const until = Date.parse(time) / 1000 + retryInS;
  const back = Math.floor(Date.now() / 1000);
  await b.start();
  await waitUntil(async () => (await aSyncedB()) >= back, (retryInS + 30) * 1000, "a to sync with b again");
  const synced = await aSyncedB();
  assert.ok(synced < until - 2 * INTERVAL_S, `a synced with b at ${synced}, only when its back-off ran out (${until.toFixed(0)}): the probe of b did not end it`);
});

/** Waits for a log line of `n` matching `pattern` among those logged after the first `seen`. */
async function waitForNew(n: ReturnType<Mesh["node"]>, pattern: RegExp, seen: number): Promise<string> {
  let found: string | undefined;
  await waitUntil(() => (found = n.logs.slice(seen).find((l) => pattern.test(l))) !== undefined, 90_000, `a log line matching ${pattern}`);
  return found!;
}
