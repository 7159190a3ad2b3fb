// The chaos run's CPU-starvation figures (docs/RELIABILITY.md §Chaos, chaos/cpu.ts): what a
// late heal's record says of the node processes' waits for a CPU.
import { test } from "node:test";
import assert from "node:assert/strict";
import { cpuSample, starvation } from "../../chaos/cpu.js";

test("chaos cpu: shares of the wall time waited for and run, over the nodes sampled at both ends", () => {
  const before = new Map([["n0", { runMs: 1_000, waitMs: 2_000 }], ["n1", { runMs: 500, waitMs: 500 }], ["n2", { runMs: 10, waitMs: 10 }]]);
  // n2 was restarted in between: its counters went down, so it is left out.
  const after = new Map([["n0", { runMs: 2_000, waitMs: 8_000 }], ["n1", { runMs: 1_000, waitMs: 2_500 }], ["n2", { runMs: 5, waitMs: 5 }]]);
  assert.deepEqual(starvation(before, after, 10_000), { maxWait: 0.6, meanWait: 0.4, meanRun: 0.08, nodes: 2 });
  assert.equal(starvation(before, new Map(), 10_000), undefined);
});

test("chaos cpu: a live process has scheduler statistics, a gone one has none", { skip: process.platform !== "linux" ? "/proc is Linux's" : false }, () => {
  const s = cpuSample(process.pid);
  assert.ok(s !== undefined && s.runMs > 0 && s.waitMs >= 0, JSON.stringify(s));
  assert.equal(cpuSample(2 ** 22 + 1), undefined);
  assert.equal(cpuSample(undefined), undefined);
});
