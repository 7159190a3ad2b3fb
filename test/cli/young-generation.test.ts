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
import { YOUNG_GENERATION_CAP_BYTES } from "../../commands/young-generation.js";

const here = fileURLToPath(import.meta.url);
const fromSource = here.endsWith(".ts");
const moduleUrl = new URL(`../../commands/young-generation.${fromSource ? "ts" : "js"}`, import.meta.url).href;

/** Runs the fill in a fresh node; returns the young generation's size before, while held and at the end. */
function fill(mode: "none" | "hold" | "release" | "serve" | "loop", nodeArgs: string[] = []): { first: number; held: number; after: number; most: number } {
  const script = `
    import v8 from "node:v8";
    const { holdYoungGeneration, releaseYoungGeneration } = await import(${JSON.stringify(moduleUrl)});
    const mode = ${JSON.stringify(mode)};
    const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === "new_space").space_size;
    const first = newSpace();
    if (mode !== "none" && mode !== "loop") holdYoungGeneration();
    const keep = [];
    const fill = () => { for (let i = 0; i < 300000; i++) keep.push({ i, s: "x" + i }); };
    fill();
    const held = newSpace();
    let most = 0;
    if (mode === "release") releaseYoungGeneration();
    if (mode !== "serve" && mode !== "loop") fill();
    else {
      // As a daemon answering Requests: objects that live across turns of the event loop, which
      // turns between slices (the cap is set again after each collection).
      if (mode === "serve") releaseYoungGeneration();
      const live = [];
      for (let turn = 0; turn < 400; turn++) {
        for (let i = 0; i < 20000; i++) live.push({ i, s: "x" + i });
        if (live.length > 200000) live.splice(0, 100000);
        await new Promise((resolve) => setImmediate(resolve));
        most = Math.max(most, newSpace());
      }
    }
    console.log(JSON.stringify({ first, held, after: newSpace(), most }));`;
  const r = spawnSync(process.execPath, [...(fromSource ? ["--import", "tsx"] : []), ...nodeArgs, "--input-type=module", "-e", script], { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as { first: number; held: number; after: number; most: number };
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

  test("released in a daemon whose objects live across turns of the event loop, it grows to its cap and no further", () => {
    const { held, most } = fill("serve");
    assert.ok(most >= 4 * held, `${held} → ${most} bytes at most: it grew`);
    assert.ok(most <= YOUNG_GENERATION_CAP_BYTES, `${most} bytes at most, over the cap of ${YOUNG_GENERATION_CAP_BYTES}`);
    const { most: unbounded } = fill("loop");
    assert.ok(unbounded > YOUNG_GENERATION_CAP_BYTES, `without the cap the same load grows it to ${unbounded} bytes`);
  });

  test("a growth factor the operator set is left as it is", () => {
    const { first, after } = fill("hold", ["--semi-space-growth-factor=4"]);
    assert.ok(after >= 8 * first, `grew from ${first} to ${after} bytes`);
  });
});
