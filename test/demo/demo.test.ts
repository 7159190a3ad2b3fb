/**
 * `npm run demo` end to end: runs scripts/demo.mjs (which drives the compiled dist/) as a
 * child process and checks that it ran every step, printed what a newcomer is told to look
 * for, exited 0, and left no node, chain or temp directory behind; and that Ctrl-C mid-way
 * stops everything it started.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../support/repo-root.js";

const SCRIPT = join(repoRoot, "scripts", "demo.mjs");
const running = new Map<ChildProcess, Promise<unknown>>();

interface DemoRun {
  child: ChildProcess;
  output: () => string;
  /** Resolves on the first output line matching `pattern`. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function runDemo(): DemoRun {
  const child = spawn(process.execPath, [SCRIPT], { cwd: repoRoot, env: { ...process.env, NO_COLOR: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  const waiters: Array<{ pattern: RegExp; resolve: () => void }> = [];
  const onData = (d: string) => {
    text += d;
    for (const w of [...waiters]) if (w.pattern.test(text)) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  };
  child.stdout!.setEncoding("utf8").on("data", onData);
  child.stderr!.setEncoding("utf8").on("data", onData);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("close", (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    }),
  );
  running.set(child, exited);
  return {
    child,
    output: () => text,
    exited,
    waitFor(pattern, timeoutMs) {
      if (pattern.test(text)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`demo printed nothing matching ${pattern} within ${timeoutMs} ms:\n${text.slice(-3000)}`)), timeoutMs);
        waiters.push({ pattern, resolve: () => (clearTimeout(t), resolve()) });
      });
    },
  };
}

/** True when nothing answers at `url` any more (connection refused). */
async function gone(url: string): Promise<boolean> {
  return fetch(`${url}/health`, { signal: AbortSignal.timeout(3000) }).then(
    () => false,
    () => true,
  );
}

// A demo still running (a failed assertion above) gets Ctrl-C, so it stops what it started.
after(async () => {
  for (const child of running.keys()) child.kill("SIGINT");
  await Promise.all(running.values());
});

describe("demo: npm run demo", () => {
  test("demo: runs every step, shows the mesh converge on the BTC anchor and close the partition gap, exits 0 and cleans up", { timeout: 240_000 }, async () => {
    const run = runDemo();
    const { code } = await run.exited;
    const out = run.output();
    assert.equal(code, 0, out.slice(-4000));
    for (let n = 1; n <= 8; n++) {
      assert.match(out, new RegExp(`Step ${n}/8: `));
      assert.match(out, new RegExp(`✓ step ${n} checked`));
    }
    // Announce on a: BTC wins, EVM and TSA are verified and superseded by it.
    assert.match(out, /btc:regtest\s+[0-9a-f]{64}\s+verified\s+winner/);
    assert.match(out, /eip155:31337\s+0x[0-9a-f]{64}\s+verified\s+superseded by btc:regtest\/[0-9a-f]{64}/);
    assert.match(out, /rfc3161:demo-tsa\s+tsa-b-0001\s+verified\s+superseded by btc:regtest\/[0-9a-f]{64}/);
    assert.match(out, /did:vm:node:b\s+delivered/);
    // b and c agree, and c got the batch through b.
    for (const node of ["b", "c"]) assert.match(out, new RegExp(`\\n\\s+${node}\\s+btc:regtest\\s+\\S+\\s+\\d+\\s+verified\\s+winner`));
    assert.match(out, /c's log → (Announce from|anti-entropy with) did:vm:node:b/);
    assert.match(out, /3 verified, 0 pending, 0 rejected/);
    assert.match(out, /Stored: 1 batches, 9 receipts; anchors 3 verified, 0 pending, 0 rejected/);
    // Partition and recovery.
    assert.match(out, /c\s+stopped\s+b-0001\s+9/);
    assert.match(out, /Announces of 2 batches \(b-0002, b-0003\) wait in b's outbox for c/);
    assert.match(out, /c's log → (anti-entropy: reconciled with did:vm:node:b|outbox: did:vm:node:b re-sent)/);
    assert.match(out, /did:vm:node:b\s+ok\s+21\s+0\s+0\s+0/);
    assert.match(out, /a, b and c each hold 3 batches, 21 receipts/);
    assert.match(out, /Demo finished in [\d.]+ s: all 8 steps checked\./);
    const root = /DEMO=(\S+)/.exec(out)?.[1];
    assert.ok(root !== undefined, "the demo names its directory");
    assert.equal(existsSync(root), false, `${root} removed`);
  });

  test("demo: Ctrl-C (SIGINT) mid-way stops every node and anvil and removes the demo directory", { timeout: 120_000 }, async () => {
    const run = runDemo();
    await run.waitFor(/✓ step 2 checked/, 90_000);
    run.child.kill("SIGINT");
    const { code } = await run.exited;
    const out = run.output();
    assert.equal(code, 130, out.slice(-3000));
    assert.match(out, /SIGINT: stopping everything the demo started/);
    assert.doesNotMatch(out, /DEMO FAILED/);
    const root = /DEMO=(\S+)/.exec(out)![1]!;
    assert.equal(existsSync(root), false, `${root} removed`);
    const urls = [...out.matchAll(/(http:\/\/127\.0\.0\.1:\d+)/g)].map((m) => m[1]!);
    assert.ok(urls.length >= 4, `anvil, Bitcoin stub and three nodes printed: ${urls.join(", ")}`);
    for (const url of new Set(urls)) assert.equal(await gone(url), true, `${url} still answers`);
  });
});
