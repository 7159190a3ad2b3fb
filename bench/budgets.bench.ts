/**
 * Work budgets against one real `serve` holding 10^5 receipts (docs/FEDERATION_PROTOCOL.md §Limits,
 * docs/BENCHMARKS.md): four floods at the senders' allowance with the default limits, each for
 * FLOOD_S seconds, while GET /health is probed every 100 ms and the daemon's resident set sampled:
 * - want flood: four admitted senders, each one Request a second naming 5,000 held ids (version 2,
 *   then four others with version 3, answered as leaves);
 * - reconcile flood: one admitted sender, one round a second of 95,000 fingerprint ranges, and
 *   another asking `more` with m = 37,000 cells once a second;
 * - pre-auth flood: strangers (unknown signers) sending 3 MiB reconcile bodies on 8 connections.
 * Reports /health p50/p99 against the same probes unloaded, and against the same probes of an idle
 * control `serve` on the same machine during the same phase (what the machine's load alone costs:
 * this machine is shared), and peak RSS against RSS idle (ratios in one run).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/budgets.bench.js
 */
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Agent, fetch as probeFetch } from "undici";
import { signMessage } from "../lib/messages/authenticate.js";
import type { Request } from "../lib/messages/schema.js";
import { PayloadWriter, type RangeBody } from "../lib/reconcile/payload.js";
import { signReconcile } from "../lib/reconcile/message.js";
import { startMesh, MESH_NAMESPACE as NS, type Guest, type MeshNode } from "../test/support/mesh.js";
import { createOpensslTsa } from "../test/support/openssl-tsa.js";
import { seedStore } from "../test/support/seed-store.js";
import { findPidByArgument, memoryOf } from "./process-memory.js";
import { formatTable, type BenchFigures, type BenchRow } from "./table.js";

const BATCHES = 100;
const PER_BATCH = 1000;
const FLOOD_S = 30;
const WANT = 5000;
const RANGES = 95_000;
const P99_TARGET_MS = 100;

interface Phase {
  name: string;
  sent: number;
  answered: number;
  refused: number;
  healthP50Ms: number;
  healthP99Ms: number;
  healthAnswered: number;
  healthProbes: number;
  /** Why the probes that were not answered 200 failed (status or error code). */
  healthFailures: string[];
  /** The idle control node's /health at the same time. */
  controlP50Ms: number;
  controlP99Ms: number;
  peakRssMiB: number;
}

export interface BudgetsBenchResult {
  baseline: { healthP50Ms: number; healthP99Ms: number; idleRssMiB: number };
  phases: Phase[];
}

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const used = new Set<string>();
function freshTs(signer: string): number {
  let ts = Math.floor(Date.now() / 1000);
  while (used.has(`${signer} ${ts}`)) ts--;
  used.add(`${signer} ${ts}`);
  return ts;
}

/** A signed message's JSON with `type`, `v` and `signer` first, as a 0.3.0 sender writes it. */
function wire(m: { type: string; v: number; signer: string }): string {
  const { type, v, signer, ...rest } = m;
  return JSON.stringify({ type, v, signer, ...rest });
}

/**
 * The probes are a monitoring client of their own (as Prometheus would be): their own connection
 * pool, so a connection the server closes on a flooder is never the one a probe is sent on.
 */
const probeAgent = new Agent({ connections: 2 });

async function probeHealth(url: string, gapMs: number, stop: () => boolean, max = Number.POSITIVE_INFINITY): Promise<{ ms: number[]; ok: number; failures: string[] }> {
  const ms: number[] = [];
  const failures: string[] = [];
  let ok = 0;
  for (let i = 0; i < max && !stop(); i++) {
    const t0 = performance.now();
    try {
      const res = await probeFetch(`${url}/health`, { dispatcher: probeAgent, signal: AbortSignal.timeout(10_000) });
      await res.arrayBuffer();
      if (res.status === 200) ok++;
      else failures.push(`HTTP ${res.status}`);
    } catch (error) {
      // counted as not answered, and why
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      failures.push(cause?.code ?? cause?.message ?? String(error));
    }
    ms.push(performance.now() - t0);
    if (gapMs > 0) await sleep(gapMs);
  }
  return { ms, ok, failures };
}

/** Runs `senders` for FLOOD_S seconds while probing /health and sampling the daemon's RSS. */
async function phase(name: string, node: MeshNode, control: MeshNode, pid: number, senders: Array<(stop: () => boolean, count: (status: number) => void) => Promise<void>>): Promise<Phase> {
  const counts = { sent: 0, answered: 0, refused: 0 };
  const count = (status: number) => {
    counts.sent++;
    if (status >= 200 && status < 300) counts.answered++;
    else counts.refused++;
  };
  let done = false;
  let peakRssMiB = memoryOf(pid).rssMiB;
  const sampler = setInterval(() => (peakRssMiB = Math.max(peakRssMiB, memoryOf(pid).rssMiB)), 250);
  const health = probeHealth(node.url, 100, () => done);
  const controlHealth = probeHealth(control.url, 100, () => done);
  const timer = setTimeout(() => (done = true), FLOOD_S * 1000);
  await Promise.all(senders.map((s) => s(() => done, count)));
  clearTimeout(timer);
  done = true;
  const h = await health;
  const c = await controlHealth;
  clearInterval(sampler);
  peakRssMiB = Math.max(peakRssMiB, memoryOf(pid).rssMiB);
  // Let the daemon settle before the next phase.
  await sleep(3000);
  return { name, ...counts, healthP50Ms: percentile(h.ms, 50), healthP99Ms: percentile(h.ms, 99), healthAnswered: h.ok, healthProbes: h.ms.length, healthFailures: h.failures, controlP50Ms: percentile(c.ms, 50), controlP99Ms: percentile(c.ms, 99), peakRssMiB };
}

/** One POST a second (the allowance of 60 a minute), whatever the answer. */
function everySecond(url: string, make: () => string) {
  return async (stop: () => boolean, count: (status: number) => void) => {
    while (!stop()) {
      const t0 = Date.now();
      try {
        const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: make(), signal: AbortSignal.timeout(30_000) });
        await res.arrayBuffer();
        count(res.status);
      } catch {
        count(0);
      }
      await sleep(Math.max(0, 1000 - (Date.now() - t0)));
    }
  };
}

/**
 * Runs the whole benchmark and returns its raw figures.
 * @example const r = await measure(); console.log(r.phases[0].healthP99Ms)
 */
export async function measure(): Promise<BudgetsBenchResult> {
  const tsa = createOpensslTsa();
  const names = ["w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "r1", "r2"];
  // The default limits (docs/FEDERATION_OPERATIONS.md): 60 Requests a minute per peer, default budgets.
  const mesh = await startMesh([{ name: "a", routes: [] }, { name: "c", routes: [] }], { trustPem: tsa.rootPem, guests: names.map((name) => ({ name, roles: ["request"] })), limits: { requestPerMin: 60, announcePerMin: 60, postsPerAddressPerMin: 1200 }, antiEntropyIntervalS: 3600 });
  try {
    const node = mesh.node("a");
    const control = mesh.node("c");
    await node.stop();
    const ids = await seedStore(node.stateDir, tsa, { namespace: NS, origin: { did: node.did, keyFile: join(node.configDir, "keys", "node.key") }, batches: BATCHES, receiptsPerBatch: PER_BATCH });
    await node.start();
    const pid = findPidByArgument(node.configDir);
    if (pid === undefined) throw new Error("cannot find the serve process");
    const g = (name: string): Guest => mesh.guests.get(name)!;
    // Warm up: one answer of each kind, so the store's caches are what they are under load (the
    // first `want` builds the namespace's item table from every batch file). The idle figure is
    // read after it: one not answered would leave that one-off cost to the first flood.
    const warm = await fetch(`${node.url}/federation/request`, { method: "POST", headers: { "content-type": "application/json" }, body: wire(signMessage<Request>({ type: "request", v: 2, namespace: NS, aud: node.did, want: ids.slice(0, WANT), ts: freshTs(g("w1").did), signer: g("w1").did }, g("w1").key.privateKey)) });
    await warm.arrayBuffer();
    if (warm.status !== 200) throw new Error(`the warm-up Request was answered ${warm.status}, not 200`);
    await sleep(5000);
    await probeHealth(node.url, 0, () => false, 50);
    const base = await probeHealth(node.url, 20, () => false, 300);
    const idleRssMiB = memoryOf(pid).rssMiB;
    const url = (path: string) => `${node.url}${path}`;
    const phases: Phase[] = [];

    // Each sender asks for a different 5,000 of the held ids.
    const want = (name: string, k: number, v: 2 | 3) => () => wire(signMessage<Request>({ type: "request", v, namespace: NS, aud: node.did, want: ids.slice(k * WANT, (k + 1) * WANT), ts: freshTs(g(name).did), signer: g(name).did }, g(name).key.privateKey));
    phases.push(await phase("want flood: 4 senders, one 5,000-id Request a second each", node, control, pid, ["w1", "w2", "w3", "w4"].map((n, k) => everySecond(url("/federation/request"), want(n, k, 2)))));
    // The same flood as version 3 Requests, answered with whole versions as leaves (docs/FEDERATION_PROTOCOL.md §Leaves):
    // smaller answers, so more of them fit the byte budget; other senders, so the first phase's debt does not count.
    phases.push(await phase("want flood, Request v3 (leaves): 4 senders, one 5,000-id Request a second each", node, control, pid, ["w5", "w6", "w7", "w8"].map((n, k) => everySecond(url("/federation/request"), want(n, k + 4, 3)))));

    const rangesPayload = (() => {
      const w = new PayloadWriter(0);
      for (let i = 0; i < RANGES; i++) w.range(i === RANGES - 1 ? null : { ts: 1_760_000_000 + Math.floor((i * BATCHES) / RANGES), id: Uint8Array.of(i >> 16, (i >> 8) & 0xff, i & 0xff) }, { mode: "fingerprint", count: 1, fingerprint: new Uint8Array(16) } as RangeBody);
      return w.bytes();
    })();
    const morePayload = (() => {
      const w = new PayloadWriter(0, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8));
      w.range(null, { mode: "more", count: 37_000 });
      return w.bytes();
    })();
    const reconcile = (name: string, payload: Uint8Array) => () => wire(signReconcile({ aud: node.did, round: 1, parts: [{ namespace: NS, payload }], ts: freshTs(g(name).did), signer: g(name).did }, g(name).key.privateKey) as unknown as { type: string; v: number; signer: string });
    phases.push(await phase(`reconcile flood: ${RANGES.toLocaleString("en")} ranges a second, and \`more\` m = 37,000 a second`, node, control, pid, [everySecond(url("/federation/reconcile"), reconcile("r1", rangesPayload)), everySecond(url("/federation/reconcile"), reconcile("r2", morePayload))]));

    const strangerBody = (() => {
      const head = `{"type":"reconcile","v":2,"signer":"did:vm:node:stranger","namespaces":[{"namespace":"${NS}","payload":"`;
      return `${head}${"A".repeat(3 * 1024 * 1024 - head.length - 8)}"}]}`;
    })();
    const stranger = async (stop: () => boolean, count: (status: number) => void) => {
      while (!stop()) {
        try {
          const res = await fetch(url("/federation/reconcile"), { method: "POST", headers: { "content-type": "application/json" }, body: strangerBody, signal: AbortSignal.timeout(30_000) });
          await res.arrayBuffer();
          count(res.status);
          if (res.status === 429) await sleep(200);
        } catch {
          count(0);
        }
      }
    };
    phases.push(await phase("pre-auth flood: unknown signers, 3 MiB bodies on 8 connections", node, control, pid, Array.from({ length: 8 }, () => stranger)));

    return { baseline: { healthP50Ms: percentile(base.ms, 50), healthP99Ms: percentile(base.ms, 99), idleRssMiB }, phases };
  } finally {
    await mesh.stop();
    await probeAgent.close();
    tsa.cleanup();
  }
}

/**
 * The figures as rows of the one `npm run bench` table (bench/table.ts), each beside its baseline.
 * @example console.log(formatTable([figures(await measure())]))
 */
export function figures(r: BudgetsBenchResult): BenchFigures {
  const b = r.baseline;
  const rows: BenchRow[] = [];
  for (const p of r.phases) {
    rows.push({ metric: `${p.name}: answered / sent (rest 429)`, value: p.answered, unit: "msg", baseline: { name: "sent", value: p.sent } });
    rows.push({ metric: `${p.name}: /health p50`, value: p.healthP50Ms, unit: "ms", baseline: { name: "/health p50 unloaded", value: b.healthP50Ms } });
    rows.push({ metric: `${p.name}: /health p99`, value: p.healthP99Ms, unit: "ms", baseline: { name: "/health p99 unloaded", value: b.healthP99Ms }, target: `< ${P99_TARGET_MS} ms`, met: p.healthP99Ms < P99_TARGET_MS });
    rows.push({ metric: `${p.name}: /health p99 vs an idle serve meanwhile`, value: p.healthP99Ms, unit: "ms", baseline: { name: "idle control serve p99, same phase", value: p.controlP99Ms } });
    rows.push({ metric: `${p.name}: /health answered`, value: p.healthAnswered, unit: "calls", baseline: { name: "probes", value: p.healthProbes }, target: "all", met: p.healthAnswered === p.healthProbes });
    rows.push({ metric: `${p.name}: peak RSS`, value: p.peakRssMiB, unit: "MiB", baseline: { name: "RSS idle", value: b.idleRssMiB }, target: "≤ 2", met: p.peakRssMiB <= 2 * b.idleRssMiB });
  }
  return { name: `work budgets (one serve with ${(BATCHES * PER_BATCH).toLocaleString("en")} receipts, default limits; docs/FEDERATION_PROTOCOL.md §Limits)`, rows };
}

/**
 * Runs the benchmark for `npm run bench` (scripts/run-bench.mjs): its rows of the one table.
 * @example const group = await run()
 */
export async function run(): Promise<BenchFigures> {
  return figures(await measure());
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const t0 = performance.now();
  const r = await measure();
  console.log(JSON.stringify(r, null, 2));
  console.log(`\n${formatTable([figures(r)])}`);
  console.log(`\n(${Math.round((performance.now() - t0) / 1000)} s)`);
}
