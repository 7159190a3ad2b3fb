#!/usr/bin/env node
// `npm start`: on first run create a node identity in ./vmsh/config (or $VMSH_CONFIG_DIR),
// then start the daemon with it. Arguments run another command instead: `npm start -- status`.
// A fresh checkout has no dist/ (installs no longer build: package.json builds on prepack), so
// the first `npm start` compiles once.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

if (!existsSync(new URL("../dist/commands/main.js", import.meta.url))) {
  const tsc = new URL("../node_modules/typescript/bin/tsc", import.meta.url).pathname;
  const built = spawnSync(process.execPath, [tsc, "-p", new URL("../tsconfig.json", import.meta.url).pathname], { stdio: "inherit" });
  if (built.status !== 0) process.exit(built.status ?? 1);
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
