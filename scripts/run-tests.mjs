#!/usr/bin/env node
// Runs every compiled test file under dist/test with Node's built-in runner.
// Arguments narrow the run to files whose path contains any of them:
//   npm test -- anchors/tsa merkle
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { spawnSync } from "node:child_process";

const root = new URL("../dist/test/", import.meta.url).pathname;
function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith(".test.js") ? [p] : [];
  });
}
const filters = process.argv.slice(2);
const files = walk(root)
  .filter((f) => filters.length === 0 || filters.some((x) => relative(root, f).includes(x)))
  .sort();
if (files.length === 0) {
  console.error(`no test files matched ${filters.join(" ") || "(all)"} under ${root}`);
  process.exit(1);
}
// The explorer's browser tests drive Debian's Chromium (docs/EXPLORER.md §Tests). A run that
// includes them installs the package when it can (root with apt-get), and otherwise stops at once
// naming it, rather than failing minutes later or skipping those tests.
if (files.some((f) => f.includes(`${join("explorer", "browser")}.test.js`)) && !existsSync("/usr/bin/chromium")) {
  if (process.getuid?.() === 0 && existsSync("/usr/bin/apt-get")) {
    console.error("the explorer's browser tests need Debian's chromium package: installing it with apt-get");
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    for (const args of [["update", "-qq"], ["install", "-y", "-qq", "chromium"]]) {
      const r = spawnSync("apt-get", args, { stdio: "inherit", env });
      if (r.status !== 0) {
        console.error(`apt-get ${args.join(" ")} failed: install the chromium package (apt-get install chromium) and run the tests again`);
        process.exit(1);
      }
    }
  } else {
    console.error("the explorer's browser tests need Debian's chromium package at /usr/bin/chromium: run `sudo apt-get install chromium`, then the tests again");
    process.exit(1);
  }
}
const concurrency = process.env.TEST_CONCURRENCY ?? "2";
const r = spawnSync(process.execPath, ["--test", `--test-concurrency=${concurrency}`, ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);
