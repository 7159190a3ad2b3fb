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
// Debian packages some tests drive (docs/RELIABILITY.md §How the tests are built): Chromium for the
// explorer's browser tests, promtool (prometheus) for the alert rules, Go with golang.org/x/mod for
// the independent reader of the origin log, iptables and faketime for the short chaos run. A run
// that includes those tests installs what is missing when it can (root with apt-get), and
// otherwise stops at once naming the packages, rather than failing minutes later or skipping.
const NEEDS = [
  { test: join("explorer", "browser"), has: "/usr/bin/chromium", pkg: "chromium" },
  { test: join("ops", "alert-rules"), has: "/usr/bin/promtool", pkg: "prometheus" },
  { test: join("tlog", "go-verifier"), has: "/usr/bin/go", pkg: "golang-go" },
  { test: join("tlog", "go-verifier"), has: "/usr/share/gocode/src/golang.org/x/mod/sumdb/note", pkg: "golang-golang-x-mod-dev" },
  // Only as root: elsewhere the chaos run cannot make network namespaces and says it is skipped.
  { test: join("chaos", "chaos-short"), has: "/usr/sbin/iptables", pkg: "iptables", rootOnly: true },
  { test: join("chaos", "chaos-short"), has: "/usr/bin/faketime", pkg: "faketime", rootOnly: true },
];
const isRoot = process.getuid?.() === 0;
const missing = [...new Set(NEEDS.filter((n) => (isRoot || n.rootOnly !== true) && files.some((f) => f.includes(`${n.test}.test.js`)) && !existsSync(n.has)).map((n) => n.pkg))];
if (missing.length > 0) {
  if (process.getuid?.() === 0 && existsSync("/usr/bin/apt-get")) {
    console.error(`some tests need Debian packages that are missing: installing ${missing.join(" ")} with apt-get`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    for (const args of [["update", "-qq"], ["install", "-y", "-qq", ...missing]]) {
      const r = spawnSync("apt-get", args, { stdio: "inherit", env });
      if (r.status !== 0) {
        console.error(`apt-get ${args.join(" ")} failed: install ${missing.join(" ")} (apt-get install ${missing.join(" ")}) and run the tests again`);
        process.exit(1);
      }
    }
  } else {
    console.error(`some tests need Debian packages that are missing: run \`sudo apt-get install ${missing.join(" ")}\`, then the tests again`);
    process.exit(1);
  }
}
const concurrency = process.env.TEST_CONCURRENCY ?? "2";
const r = spawnSync(process.execPath, ["--test", `--test-concurrency=${concurrency}`, ...files], { stdio: "inherit" });
process.exit(r.status ?? 1);
