/**
 * Preloaded (`node --import`) into a process a benchmark starts: on exit it writes the process's
 * peak resident set (VmHWM, MiB) and its CPU time (user + system, ms) as JSON to the file named by
 * VMSH_BENCH_PEAK_RSS_FILE, so the figures cover the whole run rather than the last poll before
 * the process ended.
 */
import { writeFileSync } from "node:fs";
import { memoryOf } from "./process-memory.js";

const file = process.env.VMSH_BENCH_PEAK_RSS_FILE;
if (file !== undefined && file !== "") process.on("exit", () => {
    const cpu = process.cpuUsage();
    writeFileSync(file, JSON.stringify({ peakMiB: memoryOf(process.pid).hwmMiB, cpuMs: (cpu.user + cpu.system) / 1000 }));
  });
