#!/usr/bin/env node
// `npm run test:load`: the hardening suite (dist/test/hardening: hostile input, config and
// state fuzzing, oversize bodies, slow clients) and then the load benchmark with its figures
// (dist/bench/load.bench.js). Run after `tsc -p tsconfig.json`. Loopback only; about 3 minutes.
import { readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

const tests = fileURLToPath(new URL("../dist/test/hardening/", import.meta.url));
const bench = fileURLToPath(new URL("../dist/bench/load.bench.js", import.meta.url));
const files = readdirSync(tests).filter((f) => f.endsWith(".test.js")).sort().map((f) => tests + f);
if (files.length === 0) {
  console.error(`no compiled hardening tests in ${tests}; run tsc -p tsconfig.json first`);
  process.exit(1);
}
// One file at a time: each starts its own serve, and the machine may have only two cores.
const t = spawnSync(process.execPath, ["--test", "--test-concurrency=1", ...files], { stdio: "inherit" });
if (t.status !== 0) process.exit(t.status ?? 1);
const b = spawnSync(process.execPath, [bench], { stdio: "inherit" });
process.exit(b.status ?? 1);
