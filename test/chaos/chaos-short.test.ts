// The short chaos run (docs/RELIABILITY.md §Chaos): three real `serve` processes, each in its own
// network namespace, under seeded faults for 30 s, then the checker. Needs root and `ip`: on a
// machine without them the test is skipped and says why; with them, a missing iptables or
// faketime package is installed (or the run fails naming it), never skipped quietly.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cannotRun } from "../../chaos/preflight.js";
import { repoRoot } from "../support/repo-root.js";

const why = cannotRun();
if (why !== undefined) console.log(`# chaos: the short chaos run is skipped: ${why}`);

test("chaos: 3 nodes in network namespaces under loss, slow links, partitions, kills and skew converge after every heal, and no node reports a false fact or loses an item", { skip: why === undefined ? false : `skipped: ${why}`, timeout: 300_000 }, async () => {
  const out = await mkdtemp(join(tmpdir(), "vmsh-chaos-"));
  try {
    // Busy machines stretch convergence: the test allows 10 intervals (30 s); the full run
    // (`npm run chaos`) holds the nodes to the documented 2 and records the figures.
    const args = [join(repoRoot, "dist", "chaos", "run.js"), "--nodes", "3", "--seconds", "30", "--cycle", "10", "--seed", "20261207", "--interval", "3", "--preload", "2000", "--bound-intervals", "10", "--out", out];
    const child = spawn(process.execPath, args, { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    assert.equal(code, 0, output);
    const summary = JSON.parse(await readFile(join(out, "summary.json"), "utf8")) as {
      faults: Record<string, number>;
      heals: Array<{ converged: boolean }>;
      violations: unknown[];
      divergences: unknown[];
      receipts: number;
      quorumAgrees: boolean;
    };
    assert.deepEqual(summary.violations, []);
    assert.deepEqual(summary.divergences, []);
    assert.ok(summary.heals.length >= 2 && summary.heals.every((h) => h.converged), output);
    assert.ok(Object.values(summary.faults).filter((n) => n > 0).length >= 2, `faults injected: ${JSON.stringify(summary.faults)}`);
    assert.ok(summary.receipts >= 2000);
    assert.equal(summary.quorumAgrees, true);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});
