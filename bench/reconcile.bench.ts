/**
 * Benchmark of anti-entropy (docs/ANTI_ENTROPY.md §Measured): round trips,
 * payload bytes and CPU per side for in-sync sets and for d missing receipts, clustered
 * in time (a partition window) and scattered at random, next to the naive exchange
 * (the initiator lists every id, the responder answers with the ids it has beyond them)
 * measured on the same sets. Also the time to build an index of 10^6 keys.
 *
 *   npx tsc -p tsconfig.json && node --expose-gc dist/bench/reconcile.bench.js [--quick] [--max-message-bytes N]
 *     [--payload-version 1|2] [--n 1000000] [--layout "in sync"|clustered|scattered]
 *
 * `--payload-version 1` runs both sides as 0.1.0 did (no cells): today's figures, for comparison.
 */
import { createHash } from "node:crypto";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { RECONCILE_LIMITS, seededRandom, type ReconcileLimits } from "../lib/reconcile/limits.js";
import { ReconcileIndex } from "../lib/reconcile/reconcile-index.js";
import { initiate, respond, type ReconcilePart } from "../lib/reconcile/session.js";
import type { ReceiptKey } from "../lib/store/types.js";

const NS = "dao:vaultmesh";
const BASE_TS = 1_732_000_000;
/** Receipts per sealing second: receipts of one batch share a ts (docs/FEDERATION_PROTOCOL.md §Receipt). */
const PER_SECOND = 100;

export interface ReconcileBenchRow {
  n: number;
  layout: "in sync" | "clustered" | "scattered";
  d: number;
  roundTrips: number;
  bytes: number;
  naiveBytes: number;
  initiatorCpuMs: number;
  responderCpuMs: number;
  exact: boolean;
}

export interface ReconcileBenchResult {
  buildMs: Record<number, number>;
  /** Heap growth for an index of 10^6 keys beyond the key objects, bytes per item. */
  indexBytesPerItem: number;
  rows: ReconcileBenchRow[];
}

function makeKeys(n: number): ReceiptKey[] {
  const keys: ReceiptKey[] = new Array(n);
  for (let i = 0; i < n; i++) keys[i] = { ts: BASE_TS + Math.floor(i / PER_SECOND), id: `sha256:${createHash("sha256").update(`r${i}`).digest("hex")}` };
  return keys.sort((a, b) => a.ts - b.ts || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Positions the responder lacks: a window in the middle, or d random positions. */
function missing(n: number, d: number, layout: ReconcileBenchRow["layout"], seed: number): Set<number> {
  const out = new Set<number>();
  if (layout === "clustered") for (let i = 0; i < d; i++) out.add(Math.floor(n / 3) + i);
  else if (layout === "scattered") {
    const random = seededRandom(seed);
    while (out.size < d) out.add(Math.floor(random() * n));
  }
  return out;
}

function cpuMs(f: () => void): number {
  const t = process.cpuUsage();
  f();
  const u = process.cpuUsage(t);
  return (u.user + u.system) / 1000;
}

const partBytes = (parts: readonly ReconcilePart[]) => parts.reduce((s, p) => s + p.payload.length, 0);

function measure(keys: ReceiptKey[], full: ReconcileIndex, d: number, layout: ReconcileBenchRow["layout"], limits: Partial<ReconcileLimits>): ReconcileBenchRow {
  const gone = missing(keys.length, d, layout, d + keys.length);
  const responderIndex = gone.size === 0 ? full : ReconcileIndex.fromSorted(keys.filter((_, i) => !gone.has(i)));
  let initiatorCpuMs = 0;
  let responderCpuMs = 0;
  let bytes = 0;
  let roundTrips = 0;
  let opened!: ReturnType<typeof initiate>;
  initiatorCpuMs += cpuMs(() => (opened = initiate(new Map([[NS, full]]), { ...limits, random: seededRandom(1) })));
  const { session } = opened;
  let next: ReconcilePart[] | undefined = opened.message;
  const responderNeed = new Set<string>();
  while (next !== undefined) {
    roundTrips++;
    bytes += partBytes(next);
    const message: ReconcilePart[] = next;
    let r!: ReturnType<typeof respond>;
    responderCpuMs += cpuMs(() => (r = respond(() => responderIndex, message, { ...limits, random: seededRandom(1000 + roundTrips) })));
    if (!r.ok) throw new Error(r.reason);
    for (const delta of r.deltas) for (const k of delta.need) responderNeed.add(k.id);
    bytes += partBytes(r.reply);
    let s!: ReturnType<typeof session.receive>;
    initiatorCpuMs += cpuMs(() => (s = session.receive(r.ok ? r.reply : [])));
    if (s.error !== undefined) throw new Error(s.error);
    next = s.next;
  }
  const have = session.deltas()[0]!.have;
  const exact = have.length === gone.size && responderNeed.size === gone.size && have.every((k) => responderNeed.has(k.id));
  return { n: keys.length, layout, d, roundTrips, bytes, naiveBytes: 32 * keys.length, initiatorCpuMs, responderCpuMs, exact };
}

/**
 * Runs every case and returns the figures; `quick` stops at n = 10^5; `maxMessageBytes` overrides the default limit on both sides.
 * @example const { rows } = run({ quick: true });
 */
export function run(options: { quick?: boolean; maxMessageBytes?: number; payloadVersion?: number; only?: { n?: number; layout?: string } } = {}): ReconcileBenchResult {
  const limits: Partial<ReconcileLimits> = {
    ...(options.maxMessageBytes === undefined ? {} : { maxMessageBytes: options.maxMessageBytes }),
    ...(options.payloadVersion === undefined ? {} : { payloadVersion: options.payloadVersion }),
  };
  const sizes = (options.quick === true ? [100_000] : [100_000, 1_000_000]).filter((n) => options.only?.n === undefined || n === options.only.n);
  const buildMs: Record<number, number> = {};
  const rows: ReconcileBenchRow[] = [];
  let indexBytesPerItem = 0;
  for (const n of sizes) {
    const keys = makeKeys(n);
    globalThis.gc?.();
    const heap0 = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
    const t0 = performance.now();
    const full = ReconcileIndex.fromSorted(keys);
    buildMs[n] = performance.now() - t0;
    globalThis.gc?.();
    if (n === sizes[sizes.length - 1]) indexBytesPerItem = (process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers - heap0) / n;
    const ds = n >= 1_000_000 ? [1, 100, 10_000, 100_000] : [1, 100, 10_000];
    const want = (layout: string) => options.only?.layout === undefined || options.only.layout === layout;
    if (want("in sync")) rows.push(measure(keys, full, 0, "in sync", limits));
    for (const layout of ["clustered", "scattered"] as const) if (want(layout)) for (const d of ds) rows.push(measure(keys, full, d, layout, limits));
  }
  return { buildMs, indexBytesPerItem, rows };
}

function print(r: ReconcileBenchResult, maxMessageBytes: number): void {
  console.log(`maxMessageBytes ${maxMessageBytes.toLocaleString("en")} (binary, per message, both sides)`);
  for (const [n, ms] of Object.entries(r.buildMs)) console.log(`index build from ${Number(n).toLocaleString("en")} sorted keys: ${ms.toFixed(0)} ms`);
  console.log(`index memory beyond the key objects: ${r.indexBytesPerItem.toFixed(1)} B/item (needs --expose-gc to be exact)`);
  const head = ["n", "layout", "d", "RTs", "bytes", "B/diff", "naive bytes", "ratio", "CPU init ms", "CPU resp ms", "exact"];
  const lines = r.rows.map((x) => [
    x.n.toLocaleString("en"),
    x.layout,
    x.d.toLocaleString("en"),
    String(x.roundTrips),
    x.bytes.toLocaleString("en"),
    x.d === 0 ? "-" : (x.bytes / x.d).toFixed(0),
    x.naiveBytes.toLocaleString("en"),
    (x.bytes / x.naiveBytes).toFixed(4),
    x.initiatorCpuMs.toFixed(1),
    x.responderCpuMs.toFixed(1),
    x.exact ? "yes" : "NO",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  for (const l of [head, ...lines]) console.log(l.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  "));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string) => {
    const at = process.argv.indexOf(name);
    return at < 0 ? undefined : process.argv[at + 1];
  };
  const maxMessageBytes = Number(arg("--max-message-bytes") ?? RECONCILE_LIMITS.maxMessageBytes);
  const payloadVersion = arg("--payload-version") === undefined ? undefined : Number(arg("--payload-version"));
  const n = arg("--n") === undefined ? undefined : Number(arg("--n"));
  const layout = arg("--layout");
  const only = { ...(n === undefined ? {} : { n }), ...(layout === undefined ? {} : { layout }) };
  print(run({ quick: process.argv.includes("--quick"), maxMessageBytes, ...(payloadVersion === undefined ? {} : { payloadVersion }), only }), maxMessageBytes);
}
