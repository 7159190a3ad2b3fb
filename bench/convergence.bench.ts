/**
 * Benchmark of gossip (docs/FEDERATION_PROTOCOL.md §Transport): announce-to-convergence time on
 * a mesh of 5 real `serve` processes in a line a–b–c–d–e, so that every batch reaches e only
 * through three relays. The clock starts when the `announce` CLI on a returns and stops when
 * every node's store (opened read-only, polled) holds the batch with a verified anchor.
 * Baseline, measured the same way in the same run: one direct pull on a 2-node mesh.
 * Also the peak RSS (VmHWM) of each serve process of the 5-node mesh, over its life and while the
 * batches went through against its own RSS idle before them.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/convergence.bench.js
 */
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { openStore } from "../lib/store/index.js";
import { startMesh, MESH_NAMESPACE as NS, type Mesh, type MeshNode, type MeshNodeSpec } from "../test/support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../test/support/openssl-tsa.js";
import { sealTsaBatch } from "../test/support/sealer.js";
import { findPidByArgument, memoryOf, resetPeakRss } from "./process-memory.js";
import { formatTable, type BenchFigures, type BenchRow } from "./table.js";

const LINE = ["a", "b", "c", "d", "e"];
const BATCHES = 3;
const RECEIPTS = 100;
const POLL_MS = 10;
const TIMEOUT_MS = 60_000;
/** How long the mesh idles after start before each serve's idle RSS is read. */
const IDLE_MS = 3_000;
const role = (i: number): string => (i === 0 ? "announcer" : i === LINE.length - 1 ? "line end" : "relay");

/** Wall time of every announce CLI run, start to exit (node start-up, local import, delivery). */
const cliMs: number[] = [];
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** A line: each node routed to its neighbours only. */
function lineSpecs(names: readonly string[]): MeshNodeSpec[] {
  return names.map((name, i) => ({ name, routes: [names[i - 1], names[i + 1]].filter((n): n is string => n !== undefined) }));
}

/** True once `node` stores batch `batchId` with receipts and a verified anchor (read-only open). */
async function holds(node: MeshNode, batchId: string): Promise<boolean> {
  const store = await openStore(node.stateDir, { readOnly: true }).catch(() => undefined);
  if (store === undefined) return false;
  try {
    return store.listBatches(NS).some((b) => b.batchId === batchId && b.outcomes.verified > 0 && b.receiptCount > 0);
  } finally {
    await store.close();
  }
}

/**
 * Announces one fresh batch on the first node and returns, per node, the milliseconds from
 * the CLI's return until its store was first seen holding the batch.
 */
async function announceAndWait(mesh: Mesh, names: readonly string[], tsa: OpensslTsa, batchId: string, createdAt: number): Promise<Map<string, number>> {
  const origin = mesh.node(names[0]!);
  const sealed = await sealTsaBatch(join(mesh.root, "sealer"), batchId, RECEIPTS, tsa, createdAt);
  const started = performance.now();
  const r = await origin.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
  const t0 = performance.now();
  cliMs.push(t0 - started);
  if (r.code !== 0) throw new Error(`announce ${batchId} failed (${r.code}): ${r.stderr}`);
  const seen = new Map<string, number>();
  while (seen.size < names.length) {
    for (const name of names) if (!seen.has(name) && (await holds(mesh.node(name), batchId))) seen.set(name, performance.now() - t0);
    if (performance.now() - t0 > TIMEOUT_MS) {
      const missing = names.filter((n) => !seen.has(n));
      throw new Error(`${batchId}: ${missing.join(", ")} did not converge within ${TIMEOUT_MS} ms; last log lines of ${missing[0]}:\n${mesh.node(missing[0]!).logs.slice(-8).join("\n")}`);
    }
    if (seen.size < names.length) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return seen;
}

/** Convergence times (ms, max over nodes) of a warm-up batch, not counted, then BATCHES batches. */
async function convergence(mesh: Mesh, names: readonly string[], tsa: OpensslTsa, prefix: string): Promise<{ total: number[]; perNode: Map<string, number[]> }> {
  await announceAndWait(mesh, names, tsa, `${prefix}-warm`, 1_760_000_000);
  const total: number[] = [];
  const perNode = new Map<string, number[]>(names.map((n) => [n, []]));
  for (let k = 0; k < BATCHES; k++) {
    const seen = await announceAndWait(mesh, names, tsa, `${prefix}-${k}`, 1_760_000_060 + k * 60);
    total.push(Math.max(...seen.values()));
    for (const [n, ms] of seen) perNode.get(n)!.push(ms);
  }
  return { total, perNode };
}

/** The serve process started with `--config <configDir>` (the mesh harness does not expose its children's pids). */
function servePid(configDir: string): number {
  const pid = findPidByArgument(configDir);
  if (pid === undefined) throw new Error(`no serve process found for ${configDir}`);
  return pid;
}

/** Peak RSS (KiB) of a bare `node` process: the runtime's own floor, as a baseline for serve's. */
function bareNodePeakKiB(): number {
  const out = execFileSync(process.execPath, ["-e", "process.stdout.write(/^VmHWM:\\s+(\\d+)/m.exec(require('fs').readFileSync('/proc/self/status','utf8'))[1])"], { encoding: "utf8" });
  return Number(out);
}

/**
 * Runs the 5-node line, then the 2-node baseline, each with its own TSA-anchored batches.
 * @example const { rows } = await run();
 */
export async function run(): Promise<BenchFigures> {
  const tsa = createOpensslTsa();
  try {
    let line: Awaited<ReturnType<typeof convergence>>;
    /** Per serve, MiB: lifetime peak; resident while idle after start; peak while the batches went through. */
    const rss = new Map<string, { peak: number; idle: number; relaying: number }>();
    const mesh = await startMesh(lineSpecs(LINE), { trustPem: tsa.rootPem });
    try {
      // Idle first: a few seconds after every serve listens, then each peak is reset so the next one is the gossip's.
      await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
      const pids = new Map(LINE.map((n) => [n, servePid(mesh.node(n).configDir)] as const));
      const atStart = new Map(LINE.map((n) => [n, memoryOf(pids.get(n)!)] as const));
      for (const pid of pids.values()) resetPeakRss(pid);
      line = await convergence(mesh, LINE, tsa, "line");
      for (const n of LINE) {
        const relaying = memoryOf(pids.get(n)!).hwmMiB;
        rss.set(n, { peak: Math.max(atStart.get(n)!.hwmMiB, relaying), idle: atStart.get(n)!.rssMiB, relaying });
      }
    } finally {
      await mesh.stop();
    }
    let pair: Awaited<ReturnType<typeof convergence>>;
    const pairMesh = await startMesh(lineSpecs(["a", "b"]), { trustPem: tsa.rootPem });
    try {
      pair = await convergence(pairMesh, ["a", "b"], tsa, "pair");
    } finally {
      await pairMesh.stop();
    }
    const bare = { name: "bare node process", value: bareNodePeakKiB() / 1024 };
    const direct = { name: "direct pull, 2 nodes", value: median(pair.total) };
    const rows: BenchRow[] = [
      { metric: `announce → all 5 hold it (line, 4 hops; median of ${BATCHES} × ${RECEIPTS} receipts)`, value: median(line.total), unit: "ms", baseline: direct },
      { metric: "announce → first neighbour b holds it (same runs)", value: median(line.perNode.get("b")!), unit: "ms", baseline: direct },
      { metric: `announce CLI itself, start to exit (${RECEIPTS} receipts)`, value: median(cliMs), unit: "ms" },
      ...LINE.map((n, i) => ({ metric: `peak RSS of serve ${n} (${role(i)})`, value: rss.get(n)!.peak, unit: "MiB", baseline: bare })),
      // docs/BENCHMARKS.md §What each row measures: a serve while it relays, against itself idle.
      ...LINE.map((n, i) => {
        const r = rss.get(n)!;
        return { metric: `serve ${n} (${role(i)}) while the batches went through: peak RSS`, value: r.relaying, unit: "MiB", baseline: { name: "its RSS idle before", value: r.idle }, target: "≤ 2× idle", met: r.relaying <= 2 * r.idle };
      }),
    ];
    return { name: "gossip convergence (5 serve processes, TSA anchors)", rows };
  } finally {
    tsa.cleanup();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(formatTable([await run()]));
