#!/usr/bin/env node
// Builds the explorer page (docs/EXPLORER.md §Building): type-checks web/explorer with its
// own DOM tsconfig, bundles web/explorer/main.ts with esbuild into dist/explorer/app.js, and
// copies index.html and app.css beside it. Run by `npm run build`; the output is not committed.
import { copyFileSync, mkdirSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { build } from "esbuild";

const root = new URL("..", import.meta.url).pathname;
const src = `${root}web/explorer/`;
const out = `${root}dist/explorer/`;
const tsc = spawnSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, "-p", `${src}tsconfig.json`], { stdio: "inherit" });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [`${src}main.ts`],
  bundle: true,
  format: "esm",
  target: ["chrome110", "firefox110", "safari16"],
  minify: true,
  sourcemap: false,
  legalComments: "none",
  outfile: `${out}app.js`,
  logLevel: "warning",
});
for (const f of ["index.html", "app.css", "favicon.svg"]) copyFileSync(`${src}${f}`, `${out}${f}`);
console.log(`explorer page built into ${out}`);
