/**
 * Load against one real `serve` (docs/RELIABILITY.md): a flooding peer at 10× its configured
 * rate on /federation/announce and /federation/request with distinct, validly signed messages,
 * while a legitimate peer keeps sending at a modest pace; then 1,000 slow connections. Reports
 * 2xx vs 429 (with Retry-After), latency as ratios to /health latency measured unloaded in the
 * same run, whether the legitimate peer was served, and the daemon's resident memory.
 * Bounded: about 60 s, loopback only.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/load.bench.js
 */
import { checkpointBy } from "../test/support/checkpoint.js";
import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import autocannon, { type AutocannonResult } from "autocannon";
import { BURST_S } from "../lib/http/rate-limit.js";
import { signMessage } from "../lib/messages/authenticate.js";
import type { Announce, Request } from "../lib/messages/schema.js";
import { startMesh, MESH_NAMESPACE as NS, type Guest, type MeshNode } from "../test/support/mesh.js";
import { createOpensslTsa } from "../test/support/openssl-tsa.js";
import { holdSlowClients } from "../test/hardening/slowloris.js";
import { findPidByArgument, memoryOf } from "./process-memory.js";
import { formatTable, type BenchFigures } from "./table.js";

/** The mesh harness configures 600 messages a minute per peer and kind: 10 a second. */
const CONFIGURED_PER_S = 10;
const FLOOD_PER_S = 10 * CONFIGURED_PER_S;
const FLOOD_S = 15;
const SLOW_CONNECTIONS = 1000;
const ROOT = `sha256:${"5a".repeat(32)}`;

export interface FloodFigures {
  sent: number;
  accepted: number;
  limited: number;
  limitedWithRetryAfter: number;
  other: number;
  p50Ms: number;
  p99Ms: number;
  /** The legitimate peer's messages accepted / sent during the flood. */
  legitServed: number;
  legitSent: number;
  healthP50Ms: number;
  healthP99Ms: number;
}

export interface LoadBenchResult {
  baseline: { healthP50Ms: number; healthP99Ms: number };
  announce: FloodFigures;
  request: FloodFigures;
  slowloris: { held: number; healthAnswered: number; healthProbes: number; healthP50Ms: number; healthP99Ms: number };
  memory: { startRssMiB: number; peakRssMiB: number };
}

const now = () => Math.floor(Date.now() / 1000);
const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const round = (x: number, d = 2): number => Math.round(x * 10 ** d) / 10 ** d;

/** The node the load is sent to: every message names it in `aud`. */
const TARGET = "did:vm:node:a";

function announceFrom(g: Guest, i: number): string {
  const batchId = `load-${g.name}-${i}`;
  const checkpoint = checkpointBy(g, { namespace: NS, batchId, batchRoot: ROOT });
  const m: Omit<Announce, "sig"> = { type: "announce", v: 2, namespace: NS, aud: TARGET, batchId, batchRoot: ROOT, checkpoint, anchors: [{ batchId, batchRoot: ROOT, chain: "rfc3161:vmsh-test", tx: "t1", block: 0, ts: 1, sig: "AAAA" }], ts: now(), signer: g.did };
  return JSON.stringify(signMessage<Announce>(m, g.key.privateKey));
}

function requestFrom(g: Guest, i: number): string {
  const want = [`sha256:${createHash("sha256").update(`${g.name}/${i}`).digest("hex")}`];
  return JSON.stringify(signMessage<Request>({ type: "request", v: 2, namespace: NS, aud: TARGET, want, ts: now(), signer: g.did }, g.key.privateKey));
}

/** Latencies of sequential GET /health calls, one every `gapMs`, until `stop()` is true or `max` calls. */
async function probeHealth(url: string, gapMs: number, max: number, stop: () => boolean): Promise<{ ms: number[]; ok: number }> {
  const ms: number[] = [];
  let ok = 0;
  for (let i = 0; i < max && !stop(); i++) {
    const t0 = performance.now();
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(5000) });
      await res.arrayBuffer();
      if (res.status === 200) ok++;
    } catch {
      // counted as not answered
    }
    ms.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, gapMs));
  }
  return { ms, ok };
}

async function flood(node: MeshNode, kind: "announce" | "request", flooder: Guest, legit: Guest): Promise<FloodFigures> {
  const make = kind === "announce" ? announceFrom : requestFrom;
  const pool = Array.from({ length: FLOOD_PER_S * FLOOD_S + 200 }, (_, i) => make(flooder, i));
  let next = 0;
  let withRetryAfter = 0;
  let done = false;
  const legit0 = { sent: 0, served: 0 };
  const legitLoop = (async () => {
    // Half the configured rate: always within its allowance.
    for (let i = 0; !done && i < FLOOD_S * 5; i++) {
      legit0.sent++;
      const res = await fetch(`${node.url}/federation/${kind}`, { method: "POST", headers: { "content-type": "application/json" }, body: make(legit, 10_000 + i) }).catch(() => undefined);
      await res?.arrayBuffer();
      if (res !== undefined && res.status < 300) legit0.served++;
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  const health = probeHealth(node.url, 250, FLOOD_S * 4, () => done);
  const result: AutocannonResult = await autocannon({
    url: node.url,
    connections: 10,
    duration: FLOOD_S,
    overallRate: FLOOD_PER_S,
    timeout: 10,
    requests: [
      {
        method: "POST",
        path: `/federation/${kind}`,
        headers: { "content-type": "application/json" },
        setupRequest: (req) => ({ ...req, body: pool[next++ % pool.length]! }),
        onResponse: (status, _body, _ctx, headers) => {
          if (status === 429 && /^\d+$/.test(headers["retry-after"] ?? "")) withRetryAfter++;
        },
      },
    ],
  });
  done = true;
  await legitLoop;
  const h = await health;
  const codes = result.statusCodeStats;
  const count = (code: string): number => Number(codes[code]?.count ?? 0);
  const accepted = count(kind === "announce" ? "202" : "200");
  const limited = count("429");
  return {
    sent: result.requests.total,
    accepted,
    limited,
    limitedWithRetryAfter: withRetryAfter,
    other: result.requests.total - accepted - limited,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    legitServed: legit0.served,
    legitSent: legit0.sent,
    healthP50Ms: percentile(h.ms, 50),
    healthP99Ms: percentile(h.ms, 99),
  };
}

/**
 * Runs the whole benchmark and returns its raw figures.
 * @example const r = await measure(); console.log(r.announce.limited)
 */
export async function measure(): Promise<LoadBenchResult> {
  const tsa = createOpensslTsa();
  const guests = [
    { name: "flood-a", roles: ["announce", "request"] },
    { name: "flood-r", roles: ["announce", "request"] },
    { name: "legit", roles: ["announce", "request"] },
  ];
  const mesh = await startMesh([{ name: "a", routes: [] }], { trustPem: tsa.rootPem, guests });
  try {
    const node = mesh.node("a");
    const pid = findPidByArgument(node.configDir);
    if (pid === undefined) throw new Error("cannot find the serve process");
    const startRssMiB = memoryOf(pid).rssMiB;
    await probeHealth(node.url, 0, 50, () => false); // warm-up
    // Measured with the same client as the probes under load (autocannon reports whole milliseconds).
    const base = await probeHealth(node.url, 0, 500, () => false);
    const baseline = { healthP50Ms: percentile(base.ms, 50), healthP99Ms: percentile(base.ms, 99) };
    const g = (name: string) => mesh.guests.get(name)!;
    const announce = await flood(node, "announce", g("flood-a"), g("legit"));
    const request = await flood(node, "request", g("flood-r"), g("legit"));
    const slow = await holdSlowClients(node.url, SLOW_CONNECTIONS, 1000);
    let slowloris: LoadBenchResult["slowloris"];
    try {
      const probes = await probeHealth(node.url, 100, 40, () => false);
      slowloris = { held: slow.open(), healthAnswered: probes.ok, healthProbes: probes.ms.length, healthP50Ms: percentile(probes.ms, 50), healthP99Ms: percentile(probes.ms, 99) };
    } finally {
      slow.close();
    }
    return { baseline, announce, request, slowloris, memory: { startRssMiB, peakRssMiB: memoryOf(pid).hwmMiB } };
  } finally {
    await mesh.stop();
    tsa.cleanup();
  }
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r, j) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ") + (j === 0 ? `\n${widths.map((w) => "-".repeat(w)).join("  ")}` : "")).join("\n");
}

/**
 * The figures as the plain-text tables docs/RELIABILITY.md quotes.
 * @example console.log(format(await measure()))
 */
export function format(r: LoadBenchResult): string {
  const b = r.baseline;
  const flood = (name: string, f: FloodFigures): string[] => [
    name,
    String(f.sent),
    String(f.accepted),
    `${f.limited} (${f.limitedWithRetryAfter})`,
    String(f.other),
    `${round(f.p50Ms)} / ${round(f.p99Ms)}`,
    `${round(f.p50Ms / b.healthP50Ms, 1)} / ${round(f.p99Ms / b.healthP99Ms, 1)}`,
    `${f.legitServed}/${f.legitSent}`,
    `${round(f.healthP50Ms / b.healthP50Ms, 1)} / ${round(f.healthP99Ms / b.healthP99Ms, 1)}`,
  ];
  const s = r.slowloris;
  return [
    `baseline: GET /health unloaded, 500 sequential calls: p50 ${round(b.healthP50Ms)} ms, p99 ${round(b.healthP99Ms)} ms`,
    "",
    `flood: one peer at ${FLOOD_PER_S}/s (10x its ${CONFIGURED_PER_S}/s limit) for ${FLOOD_S} s, 10 connections, distinct signed messages`,
    table([
      ["endpoint", "sent", "2xx", "429 (Retry-After)", "other", "p50/p99 ms", "p50/p99 vs baseline", "legit peer served", "/health p50/p99 vs baseline"],
      flood("/federation/announce", r.announce),
      flood("/federation/request", r.request),
    ]),
    "",
    `slowloris: ${s.held} of ${SLOW_CONNECTIONS} slow connections held; /health answered ${s.healthAnswered}/${s.healthProbes}, p50 ${round(s.healthP50Ms)} ms (${round(s.healthP50Ms / b.healthP50Ms, 1)}x baseline), p99 ${round(s.healthP99Ms)} ms (${round(s.healthP99Ms / b.healthP99Ms, 1)}x)`,
    `daemon memory: RSS ${round(r.memory.startRssMiB, 1)} MiB at start, peak (VmHWM) ${round(r.memory.peakRssMiB, 1)} MiB (${round(r.memory.peakRssMiB / r.memory.startRssMiB, 2)}x)`,
  ].join("\n");
}

/**
 * The figures as rows of the one `npm run bench` table (bench/table.ts), each beside its baseline.
 * @example console.log(formatTable([figures(await measure())]))
 */
export function figures(r: LoadBenchResult): BenchFigures {
  const b = r.baseline;
  const unloaded = (p: 50 | 99) => ({ name: `/health p${p} unloaded`, value: p === 50 ? b.healthP50Ms : b.healthP99Ms });
  // A bucket holds BURST_S seconds' worth (docs/FEDERATION_PROTOCOL.md §Limits), not a minute's.
  const allowance = { name: `allowance: ${CONFIGURED_PER_S * BURST_S} burst + ${CONFIGURED_PER_S}/s`, value: CONFIGURED_PER_S * BURST_S + CONFIGURED_PER_S * FLOOD_S };
  const flood = (kind: string, f: FloodFigures) => [
    { metric: `${kind} flood ${FLOOD_PER_S}/s for ${FLOOD_S} s: accepted`, value: f.accepted, unit: "msg", baseline: allowance },
    { metric: `${kind} flood: 429 with Retry-After`, value: f.limitedWithRetryAfter, unit: "msg", baseline: { name: "sent", value: f.sent } },
    { metric: `${kind} flood: p99 latency`, value: f.p99Ms, unit: "ms", baseline: unloaded(99) },
    { metric: `${kind} flood: /health p99 meanwhile`, value: f.healthP99Ms, unit: "ms", baseline: unloaded(99) },
    { metric: `${kind} flood: legitimate peer served`, value: f.legitServed, unit: "msg", baseline: { name: "sent", value: f.legitSent }, target: "all", met: f.legitServed === f.legitSent },
  ];
  const s = r.slowloris;
  return {
    name: "load (one serve, loopback; docs/RELIABILITY.md)",
    rows: [
      ...flood("announce", r.announce),
      ...flood("request", r.request),
      { metric: `${s.held} slow connections: /health answered`, value: s.healthAnswered, unit: "calls", baseline: { name: "probes", value: s.healthProbes }, target: "all", met: s.healthAnswered === s.healthProbes },
      { metric: `${s.held} slow connections: /health p99`, value: s.healthP99Ms, unit: "ms", baseline: unloaded(99) },
      { metric: "serve peak RSS (VmHWM) after all of it", value: r.memory.peakRssMiB, unit: "MiB", baseline: { name: "RSS at start", value: r.memory.startRssMiB } },
    ],
  };
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
  console.log(format(r));
  console.log(`\n${formatTable([figures(r)])}`);
  console.log(`\n(${round((performance.now() - t0) / 1000, 1)} s)`);
}
