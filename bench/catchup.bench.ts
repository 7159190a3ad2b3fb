/**
 * Benchmark of catch-up at scale (docs/ANTI_ENTROPY.md §Catching up): a node with nothing
 * fetches 10^5 receipts (500 batches × 200, TSA-anchored) from one real `serve` with its own
 * state dir. Measured: wall time, bytes on the wire (counted by a TCP proxy between the two, and
 * per receipt), peak RSS of the fetching process and of the answering serve, for one
 * `vmsh-federation sync` speaking Request version 3 (leaves, compressed bodies,
 * docs/FEDERATION_PROTOCOL.md §Leaves); baseline, the same fresh node's `sync` pinned to
 * version 2 (receipts with paths, as 0.2.0), in the same run. CATCHUP_NAIVE=1 adds the older
 * baseline, every batch asked for by id (bench/catchup-naive.ts, version 2).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/catchup.bench.js
 *   CATCHUP_BATCHES=50 (quick); CATCHUP_BATCHES=1000 CATCHUP_PER_BATCH=1000 (10^6 receipts);
 *   CATCHUP_BASELINE=0 skips the version 2 baseline (at 10^6 it takes minutes and a GB of wire);
 *   CATCHUP_PROFILE_DIR=/tmp/prof writes a CPU profile of the sync process;
 *   CATCHUP_SERVE_PROFILE_DIR=/tmp/prof writes one of the answering serve (at its exit);
 *   CATCHUP_SERVE_LEAVES=1 has the serve keep its versions as leaves (docs/STATE.md §Leaves form);
 *   CATCHUP_SYNC_AT_START=1 starts the sync as soon as the serve says "listening", so the serve's
 *   own start-up work (docs/STATE.md §Start-up pass) is counted in the sync's figures.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { BIN } from "../test/support/cli.js";
import { startCountingProxy } from "../test/support/counting-proxy.js";
import { receiptCount, startMesh, MESH_NAMESPACE as NS, type MeshNode } from "../test/support/mesh.js";
import { createOpensslTsa } from "../test/support/openssl-tsa.js";
import { repoRoot } from "../test/support/repo-root.js";
import { seedStore } from "../test/support/seed-store.js";
import { encodeLeaves } from "../lib/messages/leaves.js";
import { openStore } from "../lib/store/index.js";
import { readFileSync, writeFileSync } from "node:fs";
import { findPidByArgument, memoryOf, resetPeakRss } from "./process-memory.js";

/** CPU seconds (user + system, all threads) `pid` has used so far, from /proc/<pid>/stat. */
function cpuSecondsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  // utime and stime are fields 14 and 15 of stat, 12 and 13 after the command name.
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
import { formatTable, type BenchFigures } from "./table.js";


/**
 * Waits until `pid` used under 0.1 s of CPU in each of 3 seconds running (at most 600 s); resolves
 * the seconds waited.
 */
async function settled(pid: number): Promise<number> {
  const started = performance.now();
  let quiet = 0;
  let last = cpuSecondsOf(pid);
  while (quiet < 3 && performance.now() - started < 600_000) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = cpuSecondsOf(pid);
    quiet = now - last < 0.1 ? quiet + 1 : 0;
    last = now;
  }
  return (performance.now() - started) / 1000;
}

/**
 * Polls `url`/health one request at a time until `stop()` is called; resolves the p99 and max
 * latency (ms) and the count. A request that fails counts as its latency to failure.
 */
function pollHealth(url: string): { stop(): Promise<{ p99: number; max: number; count: number }> } {
  const latencies: number[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const t0 = performance.now();
      try {
        const res = await fetch(new URL("/health", url));
        await res.arrayBuffer();
      } catch {
        // counted by its latency below
      }
      latencies.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      const sorted = [...latencies].sort((x, y) => x - y);
      const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
      return { p99: at(0.99), max: sorted.at(-1) ?? Number.NaN, count: sorted.length };
    },
  };
}

const BATCHES = Number(process.env.CATCHUP_BATCHES ?? 500);
const PER_BATCH = Number(process.env.CATCHUP_PER_BATCH ?? 200);
const BASELINE = process.env.CATCHUP_BASELINE !== "0";
const NAIVE_TOO = process.env.CATCHUP_NAIVE === "1";
const TOTAL = BATCHES * PER_BATCH;
const PRELOAD = new URL("./peak-rss.js", import.meta.url).href;
const NAIVE = fileURLToPath(new URL("./catchup-naive.js", import.meta.url));

interface Run {
  ms: number;
  peakMiB: number;
  cpuMs: number;
  stdout: string;
}

/** Runs `args` under node with the peak-RSS preload; resolves wall time, peak RSS, CPU time and stdout. */
async function measured(args: string[], scratch: string, env: Record<string, string> = {}): Promise<Run> {
  const rssFile = join(scratch, `rss-${Math.random().toString(36).slice(2)}`);
  const started = performance.now();
  // CATCHUP_PROFILE_DIR=<dir> writes a V8 CPU profile of each measured process there.
  const profile = process.env.CATCHUP_PROFILE_DIR === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", process.env.CATCHUP_PROFILE_DIR];
  const child = spawn(process.execPath, [...profile, "--import", PRELOAD, ...args], { cwd: repoRoot, env: { ...process.env, ...env, VMSH_BENCH_PEAK_RSS_FILE: rssFile }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  const ms = performance.now() - started;
  if (code !== 0) throw new Error(`${args.slice(0, 3).join(" ")} exited ${code}: ${stderr.slice(-2000)} ${stdout.slice(0, 2000)}`);
  return { ms, ...(JSON.parse(await readFile(rssFile, "utf8")) as { peakMiB: number; cpuMs: number }), stdout };
}

async function assertHoldsAll(node: MeshNode, what: string): Promise<void> {
  const n = await receiptCount(node);
  if (n !== TOTAL) throw new Error(`${what}: the fresh node holds ${n} of ${TOTAL} receipts`);
}

/**
 * Replaces the seeded store by one holding each complete version as its leaves and checkpoint
 * (with its anchors), as a node that caught up keeps them. A new store is written and swapped in:
 * `putBatch` given the leaves of a version already held as receipts keeps the receipts (nothing
 * is added), so rewriting in place would leave the files as they were.
 */
async function keepAsLeaves(stateDir: string): Promise<void> {
  const leavesDir = `${stateDir}.leaves`;
  const from = await openStore(stateDir);
  const to = await openStore(leavesDir);
  let kept = 0;
  try {
    for (const v of from.listBatches(NS)) {
      const batch = await from.getBatch(NS, v.batchId, v.batchRoot, v.origin);
      const cp = batch?.checkpoint;
      if (cp === undefined || batch!.receipts.length !== cp.size) continue;
      const hashes = new Array<string>(cp.size);
      for (const r of batch!.receipts) hashes[r.proof.index] = r.eventHash;
      await to.putBatch({ namespace: NS, batchId: v.batchId, batchRoot: v.batchRoot, createdAt: v.createdAt, receipts: [], leaves: encodeLeaves(hashes), anchors: [...batch!.anchors], checkpoint: cp });
      kept++;
    }
  } finally {
    await from.close();
    await to.close();
  }
  if (kept !== BATCHES) throw new Error(`keepAsLeaves: ${kept} of ${BATCHES} versions rewritten as leaves`);
  await rm(stateDir, { recursive: true, force: true });
  await rename(leavesDir, stateDir);
}

/**
 * Seeds a, then catches b up twice from nothing: one `sync`, then the naive per-batch requests.
 * @example const { rows } = await run();
 */
export async function run(): Promise<BenchFigures> {
  const tsa = createOpensslTsa();
  const scratch = await mkdtemp(join(tmpdir(), "vmsh-catchup-bench-"));
  // Anti-entropy every hour: a's timer would otherwise try b (whose serve stays down) every 2 s, work that is not the catch-up's.
  const mesh = await startMesh([{ name: "a", routes: ["b"] }, { name: "b", routes: ["a"] }], { trustPem: tsa.rootPem, antiEntropyIntervalS: 3600 });
  try {
    const a = mesh.node("a");
    const b = mesh.node("b");
    // b's serve stays down: its anti-entropy timer would fetch too. Only the measured client does.
    await Promise.all([a.stop(), b.stop()]);
    await seedStore(a.stateDir, tsa, { namespace: NS, origin: { did: a.did, keyFile: join(a.configDir, "keys", "node.key") }, batches: BATCHES, receiptsPerBatch: PER_BATCH });
    // CATCHUP_SERVE_LEAVES=1: a keeps its versions as leaves (docs/STATE.md §Leaves form), as a node that caught up so does.
    if (process.env.CATCHUP_SERVE_LEAVES === "1") await keepAsLeaves(a.stateDir);
    // CATCHUP_SERVE_PROFILE_DIR=<dir>: a V8 CPU profile of the answering serve, written when it stops.
    const serveProfile = process.env.CATCHUP_SERVE_PROFILE_DIR === undefined ? [] : ["--cpu-prof", "--cpu-prof-dir", process.env.CATCHUP_SERVE_PROFILE_DIR];
    // Opening 10^6 freshly written receipts can take longer than the harness's 20 s on a loaded machine.
    const startedAt = performance.now();
    await a.start({ nodeArgs: serveProfile, listenTimeoutMs: 300_000 });
    const listenedAt = performance.now();

    // b reaches a through a TCP proxy that counts every byte each way, headers included.
    const proxy = await startCountingProxy(new URL(a.url));
    const peersFile = join(b.configDir, "peers.yaml");
    await writeFile(peersFile, (await readFile(peersFile, "utf8")).split(a.url).join(proxy.url));
    type Report = { ok: boolean; error?: string; bytes: number; roundTrips: number; imported: number };
    const servePid = findPidByArgument(a.configDir)!;
    const cpuAtListen = cpuSecondsOf(servePid);
    const syncOnce = async (env: Record<string, string>) => {
      await rm(b.stateDir, { recursive: true, force: true });
      proxy.reset();
      const serveCpu = cpuSecondsOf(servePid);
      const idleMiB = memoryOf(servePid).rssMiB;
      resetPeakRss(servePid);
      // The serve's /health latency while it answers (proxy bypassed: a's own port).
      const health = pollHealth(a.url);
      const run = await measured([BIN, "--config", b.configDir, "sync", "--namespace", NS, "--json"], scratch, env);
      const serveCpuS = cpuSecondsOf(servePid) - serveCpu;
      const servePeakMiB = memoryOf(servePid).hwmMiB;
      const healthMs = await health.stop();
      const report = (JSON.parse(run.stdout) as { peers: Report[] }).peers[0]!;
      if (!report.ok) throw new Error(`sync failed: ${report.error}`);
      await assertHoldsAll(b, "sync");
      return { run, report, wire: proxy.up + proxy.down, serveCpuS, idleMiB, servePeakMiB, healthMs };
    };
    // The serve's startup work (loading the index, backfilling its origin log, preparing reconcile
    // items: tens of CPU seconds at 10^6) is not the catch-up's: wait until it is idle, unless
    // CATCHUP_SYNC_AT_START=1 asks for the sync at "listening" (then the settling is timed after it).
    const atStart = process.env.CATCHUP_SYNC_AT_START === "1";
    let settleS = atStart ? 0 : await settled(servePid);
    const sync = await syncOnce({});
    if (atStart) {
      await settled(servePid);
      // Seconds from "listening" until the serve's CPU settled, the 3 quiet seconds left out.
      settleS = Math.max(0, (performance.now() - listenedAt) / 1000 - 3);
    }
    const old = BASELINE ? await syncOnce({ VMSH_FEDERATION_REQUEST_V: "2" }) : undefined;
    await proxy.close();

    const n = TOTAL.toLocaleString("en");
    const v2 = { name: "same sync, Request v2 (paths, 0.2.0 wire)" };
    const base = (value: number | undefined) => (old === undefined || value === undefined ? {} : { baseline: { ...v2, value } });
    const rows: BenchFigures["rows"] = [
      { metric: `one sync, ${n} receipts: wall time (${sync.report.roundTrips} round trips)`, value: sync.run.ms / 1000, unit: "s", ...base(old && old.run.ms / 1000), target: "≤ 60 s at 10^6" },
      { metric: "one sync: CPU time of the sync process (user + system)", value: sync.run.cpuMs / 1000, unit: "s", ...base(old && old.run.cpuMs / 1000) },
      { metric: "one sync: bytes on the wire, both ways (TCP proxy)", value: sync.wire, unit: "B", ...base(old?.wire) },
      { metric: "one sync: bytes on the wire per receipt", value: sync.wire / TOTAL, unit: "B", ...base(old && old.wire / TOTAL), target: "≤ 64 B" },
      { metric: "one sync: CPU time of the answering serve meanwhile", value: sync.serveCpuS, unit: "s", ...base(old?.serveCpuS) },
      { metric: "one sync: peak RSS of the sync process", value: sync.run.peakMiB, unit: "MiB", ...base(old?.run.peakMiB) },
      { metric: "one sync: peak RSS of the answering serve meanwhile", value: sync.servePeakMiB, unit: "MiB", ...base(old?.servePeakMiB) },
      { metric: `the answering serve's RSS before the sync (${atStart ? "at \"listening\"" : "idle"}: its CPU settled ${settleS.toFixed(0)} s after it listened)`, value: sync.idleMiB, unit: "MiB" },
      { metric: `the serve's start: wall time from spawn to "listening"`, value: (listenedAt - startedAt) / 1000, unit: "s" },
      { metric: `the serve's start: CPU time until "listening"`, value: cpuAtListen, unit: "s" },
      { metric: `the serve's start-up: seconds from "listening" until its CPU settled${atStart ? " (the sync running meanwhile)" : ""}`, value: settleS, unit: "s" },
      { metric: "one sync: the serve's peak RSS / its idle RSS", value: sync.servePeakMiB / sync.idleMiB, unit: "×", target: "≤ 2×" },
      { metric: `one sync: /health p99 of the answering serve meanwhile (${sync.healthMs.count} requests, max ${sync.healthMs.max.toFixed(0)} ms)`, value: sync.healthMs.p99, unit: "ms", target: "< 100 ms at 10^5" },
    ];
    if (NAIVE_TOO) {
      await rm(b.stateDir, { recursive: true, force: true });
      const idsFile = join(scratch, "batch-ids");
      await writeFile(idsFile, Array.from({ length: BATCHES }, (_, k) => `seed-${String(k).padStart(6, "0")}`).join("\n"));
      const naive = await measured([NAIVE, b.configDir, NS, idsFile], scratch, { VMSH_FEDERATION_REQUEST_V: "2" });
      const naiveTotals = JSON.parse(naive.stdout) as { bytes: number; requests: number; imported: number };
      await assertHoldsAll(b, "naive");
      rows.push({ metric: `every batch by id, Request v2 (${naiveTotals.requests} requests): wall time`, value: naive.ms / 1000, unit: "s" });
    }
    return { name: `catch-up of a fresh node (${n} receipts, ${BATCHES} batches × ${PER_BATCH}, 2 serve state dirs${atStart ? ", sync at \"listening\"" : ""})`, rows };
  } finally {
    await mesh.stop();
    tsa.cleanup();
    await rm(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(formatTable([await run()]));
