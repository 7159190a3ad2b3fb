#!/usr/bin/env node
// Starts the program. `npm run build` puts one bundle per command in dist/cli/<command>/main.js
// (scripts/build-cli.mjs; dist/cli/help/ for the program's own help): this loads the one the
// command line names, so a command reads one file where the compiled modules are ~120
// (docs/BENCHMARKS.md "Fifth pass: bundles"). Without bundles (only tsc ran), or with bundles
// older than the tsc output (tsc ran again after an edit), it runs dist/commands/main.js instead.
// A reader that goes away (`vmsh-federation … | head`) is not an error of ours: what is left to
// print is dropped and the command still ends with its own exit code, never a stack trace.
import { statSync } from "node:fs";

for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error) => {
    if (error?.code !== "EPIPE") throw error;
  });
}
const argv = process.argv.slice(2);
const dist = new URL("../dist/", import.meta.url);
const mtime = (path) => statSync(new URL(path, dist), { throwIfNoEntry: false })?.mtimeMs;
let main;
try {
  const { commandIn } = await import("../dist/commands/registry.js");
  const bundle = `cli/${commandIn(argv) ?? "help"}/main.js`;
  const built = mtime(bundle);
  const compiled = mtime("commands/main.js");
  // One second of slack: `npm run build` runs tsc and then the bundler.
  const path = built !== undefined && !(compiled !== undefined && compiled > built + 1000) ? bundle : "commands/main.js";
  ({ main } = await import(new URL(path, dist).href));
} catch (error) {
  // Only our own entry files missing mean an unbuilt checkout; a dependency missing below them is its own error.
  if (error?.code !== "ERR_MODULE_NOT_FOUND" || !/^Cannot find module '[^']*\/dist\/commands\/(registry|main)\.js'/.test(String(error.message))) throw error;
  // A checkout that was never built (packages from npm ship dist/): say how to get it.
  process.stderr.write("error: dist/ is missing: run `npm run build` in this checkout, or install the released package (docs/FEDERATION_OPERATIONS.md)\n");
  process.exitCode = 2;
}
if (main) process.exitCode = await main(argv);
