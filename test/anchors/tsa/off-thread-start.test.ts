import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { moduleHook, type ModuleHook } from "../../support/module-hook.js";
import { repoRoot } from "../../support/repo-root.js";

// startTokenWorker (lib/anchors/tsa/off-thread.ts): `announce` starts the TSA worker thread as
// soon as it sees a time-stamp anchor, so the thread's start overlaps its other work
// (docs/BENCHMARKS.md "Fifth pass: bundles"). Started early, the worker must not keep a process alive.
let hook: ModuleHook;
before(async () => {
  hook = await moduleHook();
});
after(() => hook.close());

describe("tsa: starting the token worker ahead of the first token", () => {
  test("startTokenWorker loads the worker's module, holds no job, and the process still exits on its own", async () => {
    const offThread = pathToFileURL(join(repoRoot, "dist", "lib", "anchors", "tsa", "off-thread.js")).href;
    const script = `const m = await import(${JSON.stringify(offThread)}); m.startTokenWorker(); m.startTokenWorker(); setTimeout(() => process.stdout.write("waited\\n"), 300);`;
    // A file, not `-e`: a worker thread inherits the parent's node options, and `--input-type` fails it.
    const file = join(hook.dir, "start.mjs");
    await writeFile(file, script);
    const r = spawnSync(process.execPath, [file], { env: { ...process.env, ...hook.env("start") }, encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "waited\n", "exited on its own after the timer, not killed");
    const workers = (await hook.urls("start")).filter((u) => u.endsWith("/dist/lib/anchors/tsa/token-worker.js"));
    assert.equal(workers.length, 1, "one worker, started once");
  });
});
