/**
 * Benchmark of the state store (docs/STATE.md §Measured): the time to append one
 * 1,000-receipt batch to stores already holding 0, 10,000 and 100,000 receipts,
 * against one single-file lowdb JSONFile database holding the same data (the
 * layout measured at ~1 s per write, docs/STATE.md §Measured), plus the peak RSS of a process that
 * opens the 100,000-receipt store next to one that opens an empty store.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/store.bench.js
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { Low } from "lowdb";
import { JSONFile } from "lowdb/node";
import { openStore } from "../lib/store/index.js";
import type { Receipt } from "../lib/receipt.js";
import { sampleBatch } from "../test/store/sample.js";

const BATCH = 1_000;
const SIZES = [0, 10_000, 100_000] as const;
const APPENDS = 9;

/** Figures of one run, in milliseconds and mebibytes. */
export interface StoreBenchResult {
  appendMs: Record<number, number>;
  appendRatio: number;
  singleFileAppendMs: Record<number, number>;
  singleFileRatio: number;
  /** Peak RSS while opening, and heap still in use after a GC once open (the index itself). */
  openRssMiB: { empty: number; full: number; receipts: number };
  openHeapMiB: { empty: number; full: number };
  /** Bytes of the big store's files on disk: what the index does not keep in memory. */
  fullStoreDiskMiB: number;
  openMs: { empty: number; full: number };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number, digits = 1): number => Math.round(x * 10 ** digits) / 10 ** digits;
const batchAt = (batchId: string, i: number) => sampleBatch({ batchId, size: BATCH, createdAt: 1_732_000_000 + i * 60 });

/**
 * Median time of `APPENDS` appends of a fresh 1,000-receipt batch to stores holding each of
 * `SIZES` receipts. The appends go round-robin over the stores, so that noise from other
 * processes on the machine falls on every size alike.
 */
async function storeAppends(root: string): Promise<Record<number, number>> {
  const stores = [];
  for (const size of SIZES) {
    const store = await openStore(join(root, `store-${size}`));
    for (let i = 0; i < size / BATCH; i++) await store.putBatch(batchAt(`fill-${i}`, i));
    stores.push({ size, store, times: [] as number[] });
  }
  for (let k = 0; k < APPENDS; k++) {
    for (const s of stores) {
      const batch = batchAt(`append-${k}`, s.size / BATCH + k);
      const t0 = performance.now();
      await s.store.putBatch(batch);
      s.times.push(performance.now() - t0);
    }
  }
  const out: Record<number, number> = {};
  for (const s of stores) {
    out[s.size] = median(s.times);
    await s.store.close();
  }
  return out;
}

async function warmUp(dir: string): Promise<void> {
  const store = await openStore(dir);
  for (let i = 0; i < 3; i++) await store.putBatch(batchAt(`warm-${i}`, i));
  await store.close();
}

/** The same measure for one lowdb JSONFile holding every receipt. */
async function singleFileAppend(dir: string, size: number): Promise<number> {
  const db = new Low<{ receipts: Receipt[] }>(new JSONFile(join(dir, "db.json")), { receipts: [] });
  for (let i = 0; i < size / BATCH; i++) db.data.receipts.push(...batchAt(`fill-${i}`, i).receipts);
  await db.write();
  const times: number[] = [];
  for (let k = 0; k < 3; k++) {
    const batch = batchAt(`append-${k}`, size / BATCH + k);
    const t0 = performance.now();
    db.data.receipts.push(...batch.receipts);
    await db.write();
    times.push(performance.now() - t0);
  }
  return median(times);
}

interface ChildFigures {
  maxRssMiB: number;
  heapMiB: number;
  openMs: number;
  receipts: number;
}

/** Opens the store in a fresh child process; returns its peak RSS and the open time. */
function openInChild(dir: string): ChildFigures {
  const r = spawnSync(process.execPath, ["--expose-gc", fileURLToPath(import.meta.url), "--open-child", dir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`open child failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as ChildFigures;
}

/**
 * Peak RSS of this process in KiB. Linux keeps `ru_maxrss` across fork + exec, so a child
 * would report its parent's peak; VmHWM belongs to this address space alone.
 */
function peakRssKiB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m) return Number(m[1]);
  } catch {
    // not Linux: fall through
  }
  return process.resourceUsage().maxRSS;
}

async function openChild(dir: string): Promise<void> {
  const t0 = performance.now();
  const store = await openStore(dir, { readOnly: true });
  const openMs = performance.now() - t0;
  const receipts = store.counts().receipts;
  (globalThis as { gc?: () => void }).gc?.();
  const heapMiB = process.memoryUsage().heapUsed / 2 ** 20;
  process.stdout.write(JSON.stringify({ maxRssMiB: peakRssKiB() / 1024, heapMiB, openMs, receipts }));
  await store.close();
}

function diskBytes(dir: string): number {
  let total = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) total += statSync(join(e.parentPath, e.name)).size;
  return total;
}

/**
 * Runs the benchmark in temporary directories and returns the figures.
 * @example const { appendRatio } = await run();
 */
export async function run(): Promise<StoreBenchResult> {
  const root = mkdtempSync(join(tmpdir(), "vmsh-store-bench-"));
  try {
    // Warm the JIT and the disk paths first, so the first figure is not a cold one.
    await warmUp(join(root, "warm-up"));
    const appendMs = Object.fromEntries(Object.entries(await storeAppends(root)).map(([k, v]) => [k, round(v)]));
    const singleFileAppendMs: Record<number, number> = {};
    for (const size of SIZES) singleFileAppendMs[size] = round(await singleFileAppend(mkdtempSync(join(root, `single-${size}-`)), size));
    await (await openStore(join(root, "store-empty"))).close();
    const empty = openInChild(join(root, "store-empty"));
    const full = openInChild(join(root, `store-${SIZES[2]}`));
    return {
      appendMs,
      appendRatio: round(appendMs[SIZES[2]]! / appendMs[0]!, 2),
      singleFileAppendMs,
      singleFileRatio: round(singleFileAppendMs[SIZES[2]]! / singleFileAppendMs[0]!, 2),
      openRssMiB: { empty: round(empty.maxRssMiB), full: round(full.maxRssMiB), receipts: full.receipts },
      openHeapMiB: { empty: round(empty.heapMiB), full: round(full.heapMiB) },
      fullStoreDiskMiB: round(diskBytes(join(root, `store-${SIZES[2]}`)) / 2 ** 20),
      openMs: { empty: round(empty.openMs), full: round(full.openMs) },
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function print(r: StoreBenchResult): void {
  const lines = [
    `store: append one ${BATCH}-receipt batch (median of ${APPENDS}; single file: median of 3)`,
    ...SIZES.map((s) => `  holding ${String(s).padStart(7)} receipts: ${r.appendMs[s]} ms   single lowdb file: ${r.singleFileAppendMs[s]} ms`),
    `  ratio 100k/empty: store ${r.appendRatio}   single file ${r.singleFileRatio}`,
    `open in a fresh process: empty store peak RSS ${r.openRssMiB.empty} MiB, heap after GC ${r.openHeapMiB.empty} MiB, ${r.openMs.empty} ms`,
    `                         ${r.openRssMiB.receipts} receipts: peak RSS ${r.openRssMiB.full} MiB, heap after GC ${r.openHeapMiB.full} MiB, ${r.openMs.full} ms (files on disk: ${r.fullStoreDiskMiB} MiB)`,
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === "--open-child") await openChild(process.argv[3]!);
  else print(await run());
}
