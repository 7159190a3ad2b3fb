/**
 * Benchmark of quorum finality (docs/FEDERATION_SEMANTICS.md §8. Quorum): announce-to-final time
 * on a full mesh of 4 real `serve` processes, every node a witness, k = 3. The clock starts when
 * the `announce` CLI on a returns and stops when every node's store (opened read-only, polled)
 * shows the batch final: k cosignatures of this node's winner, each verified here. Baseline,
 * measured the same way on the same mesh in the same run before the quorum is configured: the
 * batch final without quorum, i.e. held with a verified anchor on all four.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/quorum.bench.js
 */
import type { KeyObject } from "node:crypto";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../lib/config/load.js";
import type { NodeConfig } from "../lib/config/types.js";
import { quorumOfVersions, witnessKeysFor } from "../lib/federation/witness.js";
import { readKeyFile } from "../lib/identity/key-file.js";
import { openStore } from "../lib/store/index.js";
import { startMesh, MESH_NAMESPACE as NS, type Mesh, type MeshNode } from "../test/support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../test/support/openssl-tsa.js";
import { sealTsaBatch } from "../test/support/sealer.js";
import { formatTable, type BenchFigures } from "./table.js";

const NAMES = ["a", "b", "c", "d"];
const K = 3;
const BATCHES = 3;
const RECEIPTS = 100;
const POLL_MS = 10;
const TIMEOUT_MS = 60_000;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A node's configuration and witness keys as its `status` would load them. */
interface NodeView {
  config: NodeConfig;
  keys: Map<string, KeyObject>;
}

async function viewOf(node: MeshNode): Promise<NodeView> {
  const { config } = await loadConfig(node.configDir, process.env);
  const key = await readKeyFile(config.federation.mesh.keyFile);
  return { config, keys: witnessKeysFor(config, { did: node.did, publicKey: key.publicKey }) };
}

/** True once `node`'s own state shows `batchId` final, computed as `status` does (read-only open). */
async function isFinal(node: MeshNode, view: NodeView, batchId: string): Promise<boolean> {
  const store = await openStore(node.stateDir, { readOnly: true }).catch(() => undefined);
  if (store === undefined) return false;
  try {
    const q = await quorumOfVersions(store, view.config, view.keys, node.did, NS, batchId);
    return q.length > 0 && q.every((v) => v.state === "final");
  } finally {
    await store.close();
  }
}

/** Announces one fresh batch on a; milliseconds from the CLI's return until all four show it final. */
async function announceUntilFinal(mesh: Mesh, tsa: OpensslTsa, batchId: string, createdAt: number): Promise<number> {
  const views = new Map(await Promise.all(NAMES.map(async (n) => [n, await viewOf(mesh.node(n))] as const)));
  const sealed = await sealTsaBatch(join(mesh.root, "sealer"), batchId, RECEIPTS, tsa, createdAt);
  const r = await mesh.node("a").cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
  const t0 = performance.now();
  if (r.code !== 0) throw new Error(`announce ${batchId} failed (${r.code}): ${r.stderr}`);
  const done = new Set<string>();
  while (done.size < NAMES.length) {
    for (const n of NAMES) if (!done.has(n) && (await isFinal(mesh.node(n), views.get(n)!, batchId))) done.add(n);
    if (performance.now() - t0 > TIMEOUT_MS) {
      const missing = NAMES.filter((n) => !done.has(n));
      throw new Error(`${batchId}: ${missing.join(", ")} not final within ${TIMEOUT_MS} ms; last log lines of ${missing[0]}:\n${mesh.node(missing[0]!).logs.slice(-8).join("\n")}`);
    }
    if (done.size < NAMES.length) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return performance.now() - t0;
}

/** A warm-up batch, not counted, then BATCHES batches: the times to final. */
async function finality(mesh: Mesh, tsa: OpensslTsa, prefix: string, createdAt: number): Promise<number[]> {
  await announceUntilFinal(mesh, tsa, `${prefix}-warm`, createdAt);
  const out: number[] = [];
  for (let i = 0; i < BATCHES; i++) out.push(await announceUntilFinal(mesh, tsa, `${prefix}-${i}`, createdAt + 60 * (i + 1)));
  return out;
}

/**
 * Runs the 4-node mesh without quorum (baseline), then with k = 3 of 4 witnesses.
 * @example const { rows } = await run();
 */
export async function run(): Promise<BenchFigures> {
  const tsa = createOpensslTsa();
  try {
    const mesh = await startMesh(
      NAMES.map((n) => ({ name: n, routes: NAMES.filter((x) => x !== n) })),
      { trustPem: tsa.rootPem, witnesses: NAMES, antiEntropyIntervalS: 3600 },
    );
    try {
      const plain = await finality(mesh, tsa, "plain", 1_760_000_000);
      for (const n of NAMES) await mesh.setQuorum(n, { k: K, witnesses: NAMES.map((x) => mesh.node(x).did) });
      const quorum = await finality(mesh, tsa, "quorum", 1_760_100_000);
      return {
        name: "quorum finality (4 serve processes, full mesh, TSA anchors)",
        rows: [
          { metric: `announce → final on all 4, k = ${K} of 4 witnesses (median of ${BATCHES} × ${RECEIPTS} receipts)`, value: median(quorum), unit: "ms", baseline: { name: "no quorum: verified on all 4", value: median(plain) } },
          { metric: "slowest of those runs", value: Math.max(...quorum), unit: "ms", baseline: { name: "no quorum: slowest", value: Math.max(...plain) } },
        ],
      };
    } finally {
      await mesh.stop();
    }
  } finally {
    tsa.cleanup();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(formatTable([await run()]));
