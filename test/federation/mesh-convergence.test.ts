// Convergence of every item across a mesh (docs/FEDERATION_SEMANTICS.md §7. Convergence): four
// real `serve` processes, each with its own state directory, in the line a – b – c – d. The
// origin a takes batches exactly as upstream's sealer and anchor writers leave them
// (test/support/upstream-writers.ts) and anchors one of them one rail at a time (TSA, then EVM
// on a real anvil, then Bitcoin on a regtest chain). c is stopped while the EVM rail is added and
// b's queued relay to it is lost, so only anti-entropy can bring c that claim; d joins at the end
// with nothing. Every node must end
// with the same receipts, the same anchors with the same verdicts, and the same winners.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { Address } from "viem";
import { openStore } from "../../lib/store/index.js";
import { docPath, layout } from "../../lib/store/layout.js";
import { deployBatchAnchor, mine, startAnvil, type AnvilNode } from "../support/anvil.js";
import { createRegtestChain, startCoreRpcServer, type RegtestChain, type RunningServer } from "../support/btc-regtest.js";
import { startMesh, waitUntil, MESH_NAMESPACE as NS, type Mesh, type MeshNode } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { rewriteReceipts, sealUpstreamBatch, upstreamBtcAnchor, upstreamEvmAnchor, upstreamTsaAnchor, type UpstreamBatch } from "../support/upstream-writers.js";

/** Batches of 200 receipts besides the one anchored rail by rail: 1,200 receipts in all. */
const FILLER_BATCHES = 5;
const RECEIPTS_PER_BATCH = 200;
/** Generous: four daemons, an anvil and the test share two cores, maybe with other work. */
const CONVERGE_MS = 90_000;

let tsa: OpensslTsa;
let anvil: AnvilNode;
let contract: Address;
let btc: RegtestChain;
let core: RunningServer;
let mesh: Mesh;

before(async () => {
  tsa = createOpensslTsa();
  anvil = await startAnvil();
  contract = await deployBatchAnchor(anvil);
  btc = createRegtestChain(3);
  core = await startCoreRpcServer(btc);
  mesh = await startMesh(
    [
      { name: "a", routes: ["b"] },
      { name: "b", routes: ["a", "c"] },
      { name: "c", routes: ["b", "d"] },
      { name: "d", routes: ["c"] },
    ],
    {
      trustPem: tsa.rootPem,
      anchorsYaml: `eip155:\n  "${anvil.chainId}": { rpcUrl: "${anvil.rpcUrl}", contract: "${contract}" }\nbtc:\n  regtest: { rpcUrl: "${core.url}" }\n`,
      antiEntropyIntervalS: 2,
    },
  );
  // d is the late joiner: it is down, and holds nothing, until the last step.
  const d = mesh.node("d");
  await d.stop();
  await rm(d.stateDir, { recursive: true, force: true });
});
after(async () => {
  await mesh?.stop();
  await anvil?.stop();
  await core?.close();
  tsa?.cleanup();
});

/** What a node holds of NS, read from its own state: receipts, each batch's anchors with verdicts, and winners. */
interface NodeView {
  receipts: number;
  /** sha256 over the sorted receipt ids: equal sets, not only equal counts. */
  receiptSet: string;
  batches: string[];
  anchors: string[];
  winners: string[];
}

async function viewOf(n: MeshNode): Promise<NodeView> {
  const store = await openStore(n.stateDir, { readOnly: true });
  try {
    const keys = store.receiptKeys(NS).map((k) => k.id).sort();
    const batches = store.listBatches(NS).map((b) => `${b.batchId} ${b.batchRoot} ${b.receiptCount}`).sort();
    const anchors: string[] = [];
    const winners: string[] = [];
    for (const id of new Set(store.listBatches(NS).map((b) => b.batchId))) {
      for (const a of await store.anchors(NS, id)) {
        anchors.push(`${id} ${a.chain}/${a.tx} ${a.outcome}${a.superseded_by === undefined ? "" : ` superseded_by ${a.superseded_by}`}`);
        if (a.outcome === "verified" && a.superseded_by === undefined) winners.push(`${id} ${a.chain}/${a.tx}`);
      }
    }
    return { receipts: keys.length, receiptSet: createHash("sha256").update(keys.join("\n")).digest("hex"), batches, anchors: anchors.sort(), winners: winners.sort() };
  } finally {
    await store.close();
  }
}

/** Waits until every running node in `names` holds what a holds, then asserts it field by field. */
async function convergeOn(names: string[], what: string): Promise<NodeView> {
  const want = await viewOf(mesh.node("a"));
  const nodes = names.map((n) => mesh.node(n));
  await waitUntil(async () => {
    for (const n of nodes) if (JSON.stringify(await viewOf(n)) !== JSON.stringify(want)) return false;
    return true;
  }, CONVERGE_MS, `${names.join(", ")} to hold what a holds (${what})`).catch(async (e: Error) => {
    const seen = await Promise.all(nodes.map(async (n) => `${n.name}: ${JSON.stringify({ ...(await viewOf(n)), receiptSet: undefined })}`));
    throw new Error(`${e.message}\na: ${JSON.stringify({ ...want, receiptSet: undefined })}\n${seen.join("\n")}`);
  });
  for (const n of nodes) assert.deepEqual(await viewOf(n), want, `${n.name} after ${what}`);
  return want;
}

async function announce(batch: UpstreamBatch): Promise<{ winner?: string; status: string }> {
  const r = await mesh.node("a").cli("announce", "--namespace", NS, "--batch", batch.batchFile, "--receipts", batch.receiptsDir, "--json");
  const report = (JSON.parse(r.stdout) as { report: { winner?: string; status: string } }).report;
  // A batch held on the sealer's placeholder is stored but not announced: exit 1 (README "The command line").
  assert.equal(r.code, report.status === "held" ? 1 : 0, r.stderr + r.stdout);
  return report;
}

test("mesh convergence: rails added one at a time, a node restarted, a late joiner: every node ends with the same receipts, verdicts and winners", async () => {
  const out = join(mesh.root, "sealer");
  // Upstream names a batch by its sealing second; five earlier batches, each with its TSA rail.
  for (let i = 0; i < FILLER_BATCHES; i++) {
    const filler = await sealUpstreamBatch(out, RECEIPTS_PER_BATCH, 1_760_000_000 + i);
    await rewriteReceipts(filler.receiptsDir, filler.id, upstreamTsaAnchor(tsa, filler.root));
    assert.equal((await announce(filler)).status, "active");
  }
  const railed = await sealUpstreamBatch(out, RECEIPTS_PER_BATCH, 1_760_000_100);
  assert.equal((await announce(railed)).status, "held", "the sealer's placeholder anchors nothing");

  // Rail 1: the TSA stamp, gossiped to every running node.
  await rewriteReceipts(railed.receiptsDir, railed.id, upstreamTsaAnchor(tsa, railed.root));
  assert.equal((await announce(railed)).winner, "rfc3161:tsa/tsq:request.tsq");
  let view = await convergeOn(["b", "c"], "the TSA rail");
  assert.equal(view.receipts, (FILLER_BATCHES + 1) * RECEIPTS_PER_BATCH);

  // Rail 2 while c is down: its only news of the EVM claim can come from anti-entropy.
  assert.equal(await mesh.node("c").stop(), 0);
  const evm = await upstreamEvmAnchor(anvil, contract, railed);
  await mine(anvil, 2);
  await rewriteReceipts(railed.receiptsDir, railed.id, evm);
  const evmWinner = `eip155:${anvil.chainId}/${String(evm.tx)}`;
  assert.equal((await announce(railed)).winner, evmWinner);
  await convergeOn(["b"], "the EVM rail, c down");
  // b queued its relay for c; that gossip is lost (b restarts without its outbox), so c can
  // learn the claim only from anti-entropy with b.
  const b = mesh.node("b");
  const outbox = docPath(layout(b.stateDir), "outbox");
  await waitUntil(async () => (await readFile(outbox, "utf8").catch(() => "")).includes(mesh.node("c").did), CONVERGE_MS, "b to queue its relay for c");
  assert.equal(await b.stop(), 0);
  await rm(outbox);
  await b.start();
  await mesh.node("c").start();
  view = await convergeOn(["b", "c"], "the EVM rail, c restarted");
  assert.ok(view.winners.includes(`${railed.id} ${evmWinner}`));

  // Rail 3: Bitcoin, read back once mined (upstream's other branch names the wrong height).
  const btcAnchor = upstreamBtcAnchor(btc, railed.root, { minedBeforeReadBack: true });
  btc.mine(1);
  await rewriteReceipts(railed.receiptsDir, railed.id, btcAnchor);
  const btcWinner = `btc:regtest/${String(btcAnchor.tx)}`;
  assert.equal((await announce(railed)).winner, btcWinner);
  await convergeOn(["b", "c"], "the BTC rail");

  // d joins with nothing, behind c, and catches up everything: receipts, all three rails, winners.
  await mesh.node("d").start();
  view = await convergeOn(["b", "c", "d"], "d joining late");
  assert.ok(view.winners.includes(`${railed.id} ${btcWinner}`));
  assert.deepEqual(view.anchors.filter((a) => a.startsWith(railed.id)).map((a) => a.split(" ").slice(1, 3).join(" ")).sort(), [
    `${btcWinner} verified`,
    `${evmWinner} verified`,
    "rfc3161:tsa/tsq:request.tsq verified",
  ]);
  assert.equal(view.receipts, (FILLER_BATCHES + 1) * RECEIPTS_PER_BATCH);
});
