#!/usr/bin/env node
// Builds one bundle per command into dist/cli/ (docs/BENCHMARKS.md "Fifth pass: bundles"; the
// layout is in README "Building"): dist/cli/<command>/main.js holds the program (commands/main.ts)
// and that one command, so starting `status` reads one file instead of ~120 modules;
// dist/cli/help/main.js holds the program with no command (`--help`, `--version`, usage errors).
// What a command loads lazily (each anchor rail's verifier, the roster, the origin log, serve's
// daemon) stays lazy: esbuild splits it into a chunk beside main.js, loaded by import().
// dist/cli/tsa-token-worker.js is the TSA verifier's worker thread (lib/anchors/tsa/off-thread.ts).
// bin/vmsh-federation.js picks the bundle (and falls back to the tsc output in dist/commands/ when
// there is none, or when tsc ran after it). Run by `npm run build` and `prepack` after tsc, whose
// dist/commands/registry.js names the commands. The library (dist/lib/) stays unbundled.
//   node scripts/build-cli.mjs [--deps=bundle|external]
// --deps=external leaves every npm dependency in node_modules (for measuring; the default bundles
// the ones a command needs at start and keeps the heavy lazy ones external, see DEPS below).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { build } from "esbuild";

const root = new URL("..", import.meta.url).pathname;
const out = `${root}dist/cli/`;
const pkg = JSON.parse(readFileSync(`${root}package.json`, "utf8"));
const depsMode = process.argv.find((a) => a.startsWith("--deps="))?.slice(7) ?? "bundle";
if (!["bundle", "external"].includes(depsMode)) throw new Error(`--deps=${depsMode}: bundle or external`);
const { COMMANDS } = await import(`${root}dist/commands/registry.js`);

// Dependencies that stay in node_modules even in the default build: each is loaded only by the
// rail or the client that needs it (lib/anchors/verify.ts, lib/federation/peer-client.ts), and is
// large enough that copying it into every bundle that may load it buys little.
const LAZY_DEPS = ["viem", "bitcoinjs-lib", "node-forge", "undici", "cli-progress"];
const external = depsMode === "external" ? Object.keys(pkg.dependencies) : LAZY_DEPS;
const externalPattern = external.flatMap((d) => [d, `${d}/*`]);

// Modules the registry loads for a command besides the command's own (commands/registry.ts).
const HELPERS = { serve: ["./young-generation.js", "./heap-growth.js"] };

// What a bundle leaves out besides the other commands: the program's help reads no configuration.
const ABSENT = { help: ["lib/config/load.ts"] };

/**
 * Resolves the registry's `import("./<command>.js")` to this bundle's command, and the other
 * commands (and ABSENT) to a module that says it is not here.
 */
function onlyCommand(name) {
  const own = new Set(name === undefined ? [] : [`./${moduleOf(name)}.js`, ...(HELPERS[name] ?? [])]);
  const absent = ABSENT[name ?? "help"] ?? [];
  return {
    name: "vmsh-only-command",
    setup(b) {
      b.onResolve({ filter: /^\.\.?\/.*\.js$/ }, (args) => {
        if (args.kind !== "dynamic-import") return undefined;
        const source = `${args.resolveDir}/${args.path}`.replace(/\.js$/, ".ts");
        const rel = source.startsWith(root) ? source.slice(root.length).split("/").reduce((parts, p) => (p === ".." ? parts.slice(0, -1) : p === "." ? parts : [...parts, p]), []).join("/") : source;
        if (absent.includes(rel)) return { path: rel, namespace: "vmsh-absent" };
        if (!args.importer.endsWith("/commands/registry.ts")) return undefined;
        if (own.has(args.path)) return { path: `${root}commands/${args.path.slice(2, -3)}.ts` };
        return { path: `commands/${args.path.slice(2, -3)}.ts`, namespace: "vmsh-absent" };
      });
      b.onLoad({ filter: /.*/, namespace: "vmsh-absent" }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`internal: the ${name ?? "help"} bundle does not hold ${args.path} (bin/vmsh-federation.js picks the bundle with commands/registry.ts commandIn)`)});`,
        loader: "js",
      }));
    },
  };
}

const STATIC_IMPORT = /(?:^|[;}\s])import\s*(?:[\w${},\s*]+from\s*)?"([^"]+)"/g;
const LAZY_DEP = new RegExp(`^(${LAZY_DEPS.join("|")})(/|$)`);

/** The lazily loaded dependencies that the files `main.js` loads statically import (built outputs by path). */
function eagerLazyDeps(outputs, dir) {
  const found = new Set();
  const seen = new Set();
  const visit = (file) => {
    if (seen.has(file) || !outputs.has(file)) return;
    seen.add(file);
    for (const [, spec] of outputs.get(file).matchAll(STATIC_IMPORT)) {
      if (spec.startsWith("./")) visit(`${dir}/${spec.slice(2)}`);
      else if (LAZY_DEP.test(spec)) found.add(spec.split("/")[0]);
    }
  };
  visit(`${dir}/main.js`);
  return found;
}

/**
 * Builds one command's bundle. Flat (one main.js, what the command loads lazily inlined and run
 * on first use) when that keeps every lazily loaded dependency lazy; split into chunks otherwise:
 * esbuild hoists a dependency that an inlined module imports statically (viem in the EVM
 * verifier, say) to the top of main.js, which would load it on every start.
 */
async function buildCommand(options, dir) {
  const results = {};
  for (const splitting of [false, true]) {
    const r = await build({ ...options, splitting, outdir: dir, write: false });
    results[splitting] = { files: r.outputFiles, text: new Map(r.outputFiles.filter((f) => f.path.endsWith(".js")).map((f) => [f.path, f.text])) };
  }
  const flat = eagerLazyDeps(results[false].text, dir);
  const split = eagerLazyDeps(results[true].text, dir);
  const chosen = [...flat].every((d) => split.has(d)) ? results[false] : results[true];
  mkdirSync(dir, { recursive: true });
  for (const f of chosen.files) writeFileSync(f.path, f.contents);
  return chosen === results[false] ? "flat" : `split into ${chosen.text.size} files`;
}

/** The file a registry row loads: the last `import("./<module>.js")` in its `load` (commands/registry.ts). */
function moduleOf(name) {
  const found = [...COMMANDS[name].load.toString().matchAll(/import\("\.\/([\w-]+)\.js"\)/g)].at(-1);
  if (found === undefined) throw new Error(`commands/registry.ts: cannot tell which module the ${name} row loads`);
  return found[1];
}

const common = {
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  external: externalPattern,
  sourcemap: "linked",
  sourcesContent: true,
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: "linked",
  logLevel: "warning",
  // CommonJS dependencies bundled into an ES module call require() for node: built-ins.
  banner: { js: 'import{createRequire as __vmshRequire}from"node:module";const require=__vmshRequire(import.meta.url);' },
  // The bundles sit at dist/cli/<command>/ (chunks beside main.js): lib/bundle-layout.ts.
  define: { VMSH_BUNDLE_TO_DIST: JSON.stringify("../../") },
};

rmSync(out, { recursive: true, force: true });
const names = [undefined, ...Object.keys(COMMANDS)];
const shapes = await Promise.all([
  ...names.map((name) => {
    // The command's module is imported by main.js itself, except serve's: the daemon is
    // evaluated after the heap settings its registry row applies first (commands/registry.ts).
    const eager = name === undefined || name === "serve" ? "" : `import ${JSON.stringify(`${root}commands/${moduleOf(name)}.ts`)};\n`;
    const options = {
      ...common,
      stdin: { contents: `${eager}export { main } from ${JSON.stringify(`${root}commands/main.ts`)};\n`, resolveDir: `${root}commands`, sourcefile: `cli-${name ?? "help"}.js`, loader: "js" },
      entryNames: "main",
      chunkNames: "[name]-[hash]",
      plugins: [onlyCommand(name)],
    };
    return buildCommand(options, `${out}${name ?? "help"}`).then((shape) => `${name ?? "help"} ${shape}`);
  }),
  build({ ...common, splitting: false, entryPoints: { "tsa-token-worker": `${root}lib/anchors/tsa/token-worker.ts` }, outdir: out }).then(() => "tsa-token-worker flat"),
]);
console.log(`command bundles built into ${out}: ${shapes.join(", ")} (dependencies: ${depsMode === "external" ? "all external" : `bundled but ${LAZY_DEPS.join(", ")}`})`);
