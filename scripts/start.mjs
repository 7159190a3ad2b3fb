#!/usr/bin/env node
// `npm start`: on first run create a node identity in ./vmsh/config (or $VMSH_CONFIG_DIR),
// then start the daemon with it. Arguments run another command instead: `npm start -- status`.
// A fresh checkout has no dist/ (installs no longer build: package.json builds on prepack), so
// the first `npm start` compiles what `serve` serves: the program and the explorer page
// (docs/EXPLORER.md §Building). It says so first: that takes a minute on a small machine.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

const built = (path) => existsSync(new URL(`../dist/${path}`, import.meta.url));
const needProgram = !built("commands/main.js");
const needExplorer = !["explorer/app.js", "explorer/index.html", "explorer/app.css", "explorer/favicon.svg"].every(built);
if (needProgram || needExplorer) {
  console.error(`npm start: first run, compiling ${needProgram ? "vmsh-federation and its explorer page" : "the explorer page"} into dist/ (this takes a minute)…`);
  const run = (args) => {
    const r = spawnSync(process.execPath, args, { stdio: "inherit" });
    if (r.status !== 0) process.exit(r.status ?? 1);
  };
  if (needProgram) run([new URL("../node_modules/typescript/bin/tsc", import.meta.url).pathname, "-p", new URL("../tsconfig.json", import.meta.url).pathname]);
  run([new URL("./build-explorer.mjs", import.meta.url).pathname]);
  console.error("npm start: compiled.");
}
const { main } = await import("../dist/commands/main.js");

const dir = resolve(process.env.VMSH_CONFIG_DIR || "vmsh/config");
const args = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ["serve"];
let code = 0;
if (!existsSync(join(dir, "federation.yaml"))) {
  code = await main(["--config", dir, "init"]);
  if (code === 0) console.log();
}
process.exitCode = code === 0 ? await main(["--config", dir, ...args]) : code;
