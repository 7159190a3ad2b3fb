// A reader that goes away before the CLI has printed (`vmsh-federation … | head`): the command
// ends with its own exit code and no stack trace (bin/vmsh-federation.js). The pipe's read end is
// closed before the child starts, so every write the child makes to stdout meets EPIPE.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { BIN } from "../support/cli.js";
import { repoRoot } from "../support/repo-root.js";

function runWithClosedStdout(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: repoRoot, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr });
    });
  });
}

test("closed pipe: --help to a reader that went away exits 0 with nothing on stderr", async () => {
  for (const args of [["--help"], ["init", "--help"], ["--version"]]) {
    const r = await runWithClosedStdout(args);
    assert.equal(r.stderr, "", `${args.join(" ")}: ${r.stderr}`);
    assert.equal(r.code, 0, args.join(" "));
  }
});

test("closed pipe: a failing command keeps its exit code and its message, without a stack trace", async () => {
  const r = await runWithClosedStdout(["verify-proof", "/nonexistent/vmsh-proof.json", "--json"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /nonexistent\/vmsh-proof\.json/);
  assert.doesNotMatch(r.stderr, /EPIPE|at .*\(node:|Unhandled 'error' event/);
});
