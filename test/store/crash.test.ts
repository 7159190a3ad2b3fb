/**
 * Crash safety (docs/STATE.md §Writes: atomic and durable): a child process puts batches in a loop and is killed
 * with SIGKILL at random moments, 32 times. After every kill the store opens,
 * passes `checkIntegrity`, and holds every batch the child reported committed.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { checkIntegrity, openStore } from "../../lib/store/index.js";
import { finished, spawnWriter } from "./child.js";
import { tempDir } from "./tree.js";

const NS = "acme/audit";
const KILLS = 32;
const { dir, cleanup } = tempDir("vmsh-crash-");
const children: Array<ReturnType<typeof spawnWriter>> = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill("SIGKILL");
  cleanup();
});

/** Runs one writer until its first commit, lets it go on for a random while, then SIGKILLs it. */
async function runAndKill(prefix: string): Promise<string[]> {
  const child = spawnWriter(["crash", dir, prefix]);
  children.push(child);
  const done = finished(child);
  await new Promise<void>((resolve) => {
    const onData = (chunk: Buffer | string) => {
      if (!String(chunk).includes("committed")) return;
      child.stdout.off("data", onData);
      setTimeout(() => {
        child.kill("SIGKILL");
        resolve();
      }, Math.floor(Math.random() * 150));
    };
    child.stdout.on("data", onData);
    child.on("close", () => resolve());
  });
  const { signal, stdout, stderr } = await done;
  assert.equal(signal, "SIGKILL", `writer ended on its own: ${stderr}`);
  // Only complete lines count: the child prints after putBatch resolved.
  return stdout.split("\n").slice(0, -1).map((line) => line.replace(/^committed /, ""));
}

describe("store: crash safety", () => {
  test("SIGKILL at random moments: every reported commit survives and the store stays intact", async (t) => {
    const committed: string[] = [];
    let leftovers = 0;
    for (let run = 0; run < KILLS; run++) {
      committed.push(...(await runAndKill(`r${run}`)));
      const report = await checkIntegrity(dir);
      assert.deepEqual(report.problems, [], `after kill ${run}`);
      if (report.tempFiles.length > 0 || existsSync(join(dir, "LOCK"))) leftovers++;
      const store = await openStore(dir);
      const stored = new Set(store.listBatches(NS).map((b) => b.batchId));
      for (const id of committed) assert.ok(stored.has(id), `batch ${id} was reported committed but is missing after kill ${run}`);
      assert.equal(store.receiptCount(NS), store.listBatches(NS).reduce((n, b) => n + b.receiptCount, 0));
      await store.close();
      assert.deepEqual((await checkIntegrity(dir)).tempFiles, [], "temp files removed at open");
    }
    t.diagnostic(`${KILLS} kills, ${committed.length} committed batches, ${leftovers} kills left a temp file or lock behind`);
    assert.ok(committed.length >= KILLS);
  });
});
