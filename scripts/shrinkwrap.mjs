#!/usr/bin/env node
// Packing step (package.json prepack/postpack): ships the lock file as npm-shrinkwrap.json, so
// `npm install -g vmsh-federation-<v>.tgz` gets the tested dependency tree and `npm ci --omit=dev`
// works in an unpacked release tree (docs/FEDERATION_OPERATIONS.md §Deployment).
//   node scripts/shrinkwrap.mjs           write npm-shrinkwrap.json from package-lock.json
//   node scripts/shrinkwrap.mjs --remove  delete it again (postpack)
import { copyFileSync, existsSync, rmSync } from "node:fs";

const root = new URL("../", import.meta.url);
const target = new URL("npm-shrinkwrap.json", root);
if (process.argv.includes("--remove")) rmSync(target, { force: true });
else {
  const lock = new URL("package-lock.json", root);
  if (!existsSync(lock)) {
    console.error("package-lock.json is missing: run npm install first");
    process.exit(2);
  }
  copyFileSync(lock, target);
}
