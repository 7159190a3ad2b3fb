/**
 * Memory of another process on Linux, read from /proc: used by the load benchmark to report the
 * daemon's resident set (the mesh harness starts it but does not expose its pid).
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";

/**
 * The pid of the process whose command line holds `needle` (e.g. a unique config directory), or undefined.
 * @example const pid = findPidByArgument(node.configDir)
 */
export function findPidByArgument(needle: string): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (args.includes(needle)) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  return undefined;
}

/**
 * Current (VmRSS) and peak (VmHWM) resident set of `pid`, in MiB.
 * @example memoryOf(pid) // { rssMiB: 61.2, hwmMiB: 74.9 }
 */
export function memoryOf(pid: number): { rssMiB: number; hwmMiB: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? Number.NaN);
  return { rssMiB: kib("VmRSS") / 1024, hwmMiB: kib("VmHWM") / 1024 };
}

/**
 * Resets the peak resident set (VmHWM) of `pid` to its current RSS (Linux clear_refs 5), so a later
 * VmHWM is the peak since now.
 * @example resetPeakRss(pid); await work(); memoryOf(pid).hwmMiB // the work's peak
 */
export function resetPeakRss(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, "5");
}
