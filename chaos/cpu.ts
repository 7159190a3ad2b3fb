/**
 * How much CPU a node process got, and how long it waited for one: the kernel's scheduler
 * statistics of its main thread (`/proc/<pid>/schedstat`: time on a CPU, time runnable but
 * waiting in a run queue). A heal that converges late on a machine shared with other work is
 * told apart from a slow protocol by the second number (docs/RELIABILITY.md §Chaos).
 */
import { readFileSync } from "node:fs";

/** Cumulative milliseconds of one process's main thread: on a CPU, and runnable but waiting for one. */
export interface CpuSample {
  runMs: number;
  waitMs: number;
}

/** The main thread's scheduler statistics, or undefined when the process is gone or /proc is not there. */
export function cpuSample(pid: number | undefined): CpuSample | undefined {
  if (pid === undefined) return undefined;
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, "utf8").trim().split(/\s+/).map(Number);
    if (!Number.isFinite(run) || !Number.isFinite(wait)) return undefined;
    return { runMs: run! / 1e6, waitMs: wait! / 1e6 };
  } catch {
    return undefined;
  }
}

/**
 * Between two samples of each node, over `wallMs`: the largest and the mean share of the time a
 * node spent waiting for a CPU, and the mean share it ran. Nodes restarted in between (no
 * sample at both ends, or a counter that went down) are left out.
 * @example starvation(before, after, 12_000) // { maxWait: 0.61, meanWait: 0.44, meanRun: 0.12, nodes: 7 }
 */
export function starvation(before: ReadonlyMap<string, CpuSample>, after: ReadonlyMap<string, CpuSample>, wallMs: number): { maxWait: number; meanWait: number; meanRun: number; nodes: number } | undefined {
  const waits: number[] = [];
  const runs: number[] = [];
  for (const [node, b] of before) {
    const a = after.get(node);
    if (a === undefined || a.waitMs < b.waitMs || a.runMs < b.runMs || !(wallMs > 0)) continue;
    waits.push((a.waitMs - b.waitMs) / wallMs);
    runs.push((a.runMs - b.runMs) / wallMs);
  }
  if (waits.length === 0) return undefined;
  const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / xs.length;
  const round = (x: number): number => Math.round(x * 100) / 100;
  return { maxWait: round(Math.max(...waits)), meanWait: round(mean(waits)), meanRun: round(mean(runs)), nodes: waits.length };
}
