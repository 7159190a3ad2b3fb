#!/usr/bin/env node
// `npm start`: on first run create a node identity in ./vmsh/config (or $VMSH_CONFIG_DIR),
// then start the daemon with it. Arguments run another command instead: `npm start -- status`.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { main } from "../dist/commands/main.js";

const dir = resolve(process.env.VMSH_CONFIG_DIR || "vmsh/config");
const args = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ["serve"];
let code = 0;
if (!existsSync(join(dir, "federation.yaml"))) {
  code = await main(["--config", dir, "init"]);
  if (code === 0) console.log();
}
process.exitCode = code === 0 ? await main(["--config", dir, ...args]) : code;
