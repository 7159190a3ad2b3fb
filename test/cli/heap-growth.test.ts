/**
 * The daemon's old generation grows by at most 1.5× what the last full collection kept
 * (commands/heap-growth.ts, docs/FEDERATION_OPERATIONS.md §Memory): in a child process holding a
 * live set and churning objects that live long enough to be promoted and then die (what answers
 * leave behind), the old generation stays within about twice the live set once bounded, where V8
 * alone lets it grow several times over; a growth the operator chose is left alone. Sizes are
 * read from V8's heap statistics, not timed.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";

const here = fileURLToPath(import.meta.url);
const fromSource = here.endsWith(".ts");
const moduleUrl = new URL(`../../commands/heap-growth.${fromSource ? "ts" : "js"}`, import.meta.url).href;

/** Runs the churn in a fresh node; returns the old generation's peak and the live heap at the end (after a full collection), in MiB. */
function churn(bound: boolean, nodeArgs: string[] = []): { peakMiB: number; usedMiB: number } {
  const script = `
    import v8 from "node:v8";
    if (${JSON.stringify(bound)}) (await import(${JSON.stringify(moduleUrl)})).boundHeapGrowth();
    const old = () => v8.getHeapSpaceStatistics().filter((s) => s.space_name === "old_space" || s.space_name === "large_object_space").reduce((n, s) => n + s.space_size, 0);
    const live = [];
    for (let i = 0; i < 400000; i++) live.push({ i, s: "live" + i, a: [i, i + 1] });
    const ring = new Array(64);
    let peak = 0;
    for (let round = 0; round < 3000; round++) {
      const batch = [];
      for (let j = 0; j < 1000; j++) batch.push({ round, j, s: "x".repeat(20) + j, p: [j, round] });
      ring[round % 64] = batch;
      if (round % 10 === 0) peak = Math.max(peak, old());
    }
    globalThis.gc();
    console.log(JSON.stringify({ peakMiB: peak / 1048576, usedMiB: v8.getHeapStatistics().used_heap_size / 1048576, kept: live.length + ring.length }));`;
  const r = spawnSync(process.execPath, [...(fromSource ? ["--import", "tsx"] : []), "--expose-gc", ...nodeArgs, "--input-type=module", "-e", script], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { peakMiB: number; usedMiB: number };
}

describe("old generation growth of serve", () => {
  test("bounded, the old generation stays within twice the live heap (plus 16 MiB) while garbage is churned", () => {
    const { peakMiB, usedMiB } = churn(true);
    assert.ok(peakMiB <= 2 * usedMiB + 16, `old generation peaked at ${peakMiB.toFixed(1)} MiB for ${usedMiB.toFixed(1)} MiB used`);
  });

  test("a growth the operator set is left as it is", () => {
    const { peakMiB, usedMiB } = churn(true, ["--heap-growing-percent=300"]);
    assert.ok(peakMiB > 2 * usedMiB + 16, `old generation peaked at ${peakMiB.toFixed(1)} MiB for ${usedMiB.toFixed(1)} MiB used`);
  });
});
