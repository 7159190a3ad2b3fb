#!/usr/bin/env node
// Runs the tests (scripts/run-tests.mjs, same path filters) while busy-loop child processes keep
// every core saturated: the check that no test result depends on how fast the machine is.
//   npm run test:busy -- federation/refusals      BUSY_LOOPS=4 overrides the number of loops
// The loops are killed when the run ends, however it ends: normal exit, a failed run, an error
// here, or SIGINT/SIGTERM/SIGHUP. Each loop also exits by itself once this process is gone (it
// polls its parent), so not even a SIGKILL of this script leaves one spinning.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";

const LOOP = `
const parent = ${process.pid};
for (;;) {
  for (let i = 0; i < 5e7; i++);
  try { process.kill(parent, 0); } catch { process.exit(0); }
  if (process.ppid !== parent) process.exit(0);
}`;

function loopCount() {
  const text = process.env.BUSY_LOOPS;
  if (text === undefined || text === "") return availableParallelism();
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 64) {
    console.error(`run-tests-busy: BUSY_LOOPS=${JSON.stringify(text)} must be an integer from 1 to 64`);
    process.exit(2);
  }
  return n;
}

/** CPU seconds a process has used so far (Linux /proc), or undefined elsewhere. */
function cpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in USER_HZ (100 on Linux)
  } catch {
    return undefined;
  }
}

const loops = Array.from({ length: loopCount() }, () => {
  const child = spawn(process.execPath, ["-e", LOOP], { stdio: "ignore" });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return { child, exited };
});
const startedMs = Date.now();
console.error(`run-tests-busy: ${loops.length} busy loop(s) running (pids ${loops.map((l) => l.child.pid).join(", ")})`);

let stopping;
let tests;
function stopLoops() {
  stopping ??= (async () => {
    const used = loops.map((l) => cpuSeconds(l.child.pid)).filter((s) => s !== undefined);
    for (const l of loops) if (l.child.exitCode === null && l.child.signalCode === null) l.child.kill("SIGKILL");
    await Promise.all(loops.map((l) => l.exited));
    const wallS = (Date.now() - startedMs) / 1000;
    const cpu = used.length === loops.length ? `, ${used.reduce((a, b) => a + b, 0).toFixed(1)} CPU-s between them` : "";
    console.error(`run-tests-busy: stopped ${loops.length} busy loop(s) after ${wallS.toFixed(1)} s${cpu}`);
  })();
  return stopping;
}

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(sig, () => {
    tests?.kill(sig);
    void stopLoops().then(() => process.exit(128 + (sig === "SIGINT" ? 2 : sig === "SIGTERM" ? 15 : 1)));
  });
}

let code = 1;
try {
  tests = spawn(process.execPath, [new URL("./run-tests.mjs", import.meta.url).pathname, ...process.argv.slice(2)], { stdio: "inherit" });
  code = await new Promise((resolve, reject) => {
    tests.once("error", reject);
    tests.once("exit", (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
} catch (e) {
  console.error(`run-tests-busy: could not run the tests: ${e.message}`);
} finally {
  await stopLoops();
}
process.exit(code);
