// `npm test` on a machine that cannot make network namespaces (docs/RELIABILITY.md §Chaos): the
// short chaos test is skipped, the run still passes, and the output says why. Each case runs the
// compiled test file of the short run in a child `node --test`, as npm test would: once without
// root (as the user nobody, when this process is root), once without the `ip` command on PATH.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../support/repo-root.js";

const SHORT = join(repoRoot, "dist", "test", "chaos", "chaos-short.test.js");
const isRoot = process.getuid?.() === 0;

/** Runs the short chaos test file under `node --test`; its exit code and output. */
function runShort(prefix: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = [...prefix, process.execPath, "--test", "--test-reporter=tap", SHORT];
    const child = spawn(cmd!, args, { cwd: tmpdir(), env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (output += d));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, output }));
  });
}

function assertSkipped(r: { code: number | null; output: string }, reason: RegExp): void {
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, new RegExp(`# chaos: the short chaos run is skipped: ${reason.source}`), r.output);
  assert.match(r.output, new RegExp(`ok 1 - chaos: .* # SKIP skipped: ${reason.source}`), r.output);
  assert.match(r.output, /^# skipped 1$/m, r.output);
  assert.match(r.output, /^# fail 0$/m, r.output);
}

const setpriv = spawnSync("sh", ["-c", "command -v setpriv"], { encoding: "utf8" }).stdout.trim();

test("chaos: without root the short run is skipped, npm test passes, and the output says root is needed", { skip: isRoot && setpriv === "" ? "setpriv (util-linux) is missing: cannot drop root here" : false, timeout: 60_000 }, async () => {
  // As root, the same test file run by the user nobody; otherwise, as this user.
  const drop = isRoot ? [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"] : [];
  const r = await runShort(drop, { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: tmpdir() });
  assertSkipped(r, /network namespaces need root \(run as root or with sudo\)/);
});

test("chaos: without the ip command the short run is skipped, npm test passes, and the output names the missing package", { timeout: 60_000 }, async () => {
  // A PATH that has sh and node and nothing else.
  const bin = await mkdtemp(join(tmpdir(), "vmsh-noip-"));
  try {
    await symlink("/bin/sh", join(bin, "sh"));
    await symlink(process.execPath, join(bin, "node"));
    const r = await runShort([], { PATH: bin, HOME: tmpdir() });
    assertSkipped(r, isRoot ? /the `ip` command \(Debian package iproute2\) is missing/ : /network namespaces need root \(run as root or with sudo\)/);
  } finally {
    await rm(bin, { recursive: true, force: true });
  }
});
