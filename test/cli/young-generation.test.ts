/**
 * The daemon's young generation held small through start-up (commands/young-generation.ts,
 * docs/BENCHMARKS.md "Idle serve"): in a child process that fills the heap with long-lived
 * objects the way start-up does, V8 grows the young generation many times over unless it is
 * held; once released it grows again, and a size the operator chose is left alone. Sizes are
 * counted from V8's heap statistics, not timed.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";

const here = fileURLToPath(import.meta.url);
const fromSource = here.endsWith(".ts");
const moduleUrl = new URL(`../../commands/young-generation.${fromSource ? "ts" : "js"}`, import.meta.url).href;

/** Runs the fill in a fresh node; returns the young generation's size before, while held and at the end. */
function fill(mode: "none" | "hold" | "release", nodeArgs: string[] = []): { first: number; held: number; after: number } {
  const script = `
    import v8 from "node:v8";
    const { holdYoungGeneration, releaseYoungGeneration } = await import(${JSON.stringify(moduleUrl)});
    const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size;
    const first = newSpace();
    if (${JSON.stringify(mode)} !== "none") holdYoungGeneration();
    const keep = [];
    const fill = () => { for (let i = 0; i < 300000; i++) keep.push({ i, s: "x" + i }); };
    fill();
    const held = newSpace();
    if (${JSON.stringify(mode)} === "release") releaseYoungGeneration();
    fill();
    console.log(JSON.stringify({ first, held, after: newSpace() }));`;
  const r = spawnSync(process.execPath, [...(fromSource ? ["--import", "tsx"] : []), ...nodeArgs, "--input-type=module", "-e", script], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { first: number; held: number; after: number };
}

describe("young generation during serve start-up", () => {
  test("not held, long-lived allocations grow it many times over", () => {
    const { first, after } = fill("none");
    assert.ok(after >= 8 * first, `grew from ${first} to ${after} bytes`);
  });

  test("held, it stays within twice its first size", () => {
    const { first, held, after } = fill("hold");
    assert.ok(held <= 2 * first && after <= 2 * first, `${first} → ${held} → ${after} bytes`);
  });

  test("released, it grows again", () => {
    const { first, held, after } = fill("release");
    assert.ok(held <= 2 * first, `${first} → ${held} bytes while held`);
    assert.ok(after >= 4 * held, `${held} → ${after} bytes after release`);
  });

  test("a growth factor the operator set is left as it is", () => {
    const { first, after } = fill("hold", ["--semi-space-growth-factor=4"]);
    assert.ok(after >= 8 * first, `grew from ${first} to ${after} bytes`);
  });
});
