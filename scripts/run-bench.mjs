#!/usr/bin/env node
// `npm run bench`: runs every compiled benchmark in dist/bench and prints its figures.
// Arguments narrow the run to benchmarks whose file name contains one of them:
//   npm run bench -- store
import { readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";

const dir = new URL("../dist/bench/", import.meta.url).pathname;
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.js") && (filters.length === 0 || filters.some((x) => f.includes(x))))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matched ${filters.join(" ") || "(all)"} in ${dir}`);
  process.exitCode = 1;
} else {
  console.log(`node ${process.version}, ${new Date().toISOString()}`);
  for (const f of files) {
    console.log(`\n=== ${f}`);
    const r = spawnSync(process.execPath, ["--expose-gc", dir + f], { stdio: "inherit" });
    if (r.status !== 0) process.exitCode = r.status ?? 1;
  }
}
