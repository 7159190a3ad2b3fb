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
import { readFileSync, rmSync } from "node:fs";
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

/** Resolves the registry's `import("./<command>.js")`: this bundle's command, or a module that says it is not here. */
function onlyCommand(name) {
  const own = new Set(name === undefined ? [] : [`./${moduleOf(name)}.js`, ...(HELPERS[name] ?? [])]);
  return {
    name: "vmsh-only-command",
    setup(b) {
      b.onResolve({ filter: /^\.\/[\w-]+\.js$/ }, (args) => {
        if (!args.importer.endsWith("/commands/registry.ts") || args.kind !== "dynamic-import") return undefined;
        if (own.has(args.path)) return { path: `${root}commands/${args.path.slice(2, -3)}.ts` };
        return { path: args.path, namespace: "vmsh-other-command" };
      });
      b.onLoad({ filter: /.*/, namespace: "vmsh-other-command" }, (args) => ({
        contents: `throw new Error(${JSON.stringify(`internal: the ${name ?? "help"} bundle does not hold ${args.path} (bin/vmsh-federation.js picks the bundle with commands/registry.ts commandIn)`)});`,
        loader: "js",
      }));
    },
  };
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
  splitting: true,
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
await Promise.all([
  ...names.map((name) => {
    // A command other than serve is in main.js itself; serve's daemon stays a chunk, loaded after
    // the heap settings its registry row applies first (commands/registry.ts).
    const eager = name === undefined || name === "serve" ? "" : `import ${JSON.stringify(`${root}commands/${moduleOf(name)}.ts`)};\n`;
    return build({
      ...common,
      stdin: { contents: `${eager}export { main } from ${JSON.stringify(`${root}commands/main.ts`)};\n`, resolveDir: `${root}commands`, sourcefile: `cli-${name ?? "help"}.js`, loader: "js" },
      outdir: `${out}${name ?? "help"}`,
      entryNames: "main",
      chunkNames: "[name]-[hash]",
      plugins: [onlyCommand(name)],
    });
  }),
  build({ ...common, splitting: false, entryPoints: { "tsa-token-worker": `${root}lib/anchors/tsa/token-worker.ts` }, outdir: out, plugins: [onlyCommand(undefined)] }),
]);

console.log(`command bundles built into ${out} (dependencies: ${depsMode === "external" ? "all external" : `bundled but ${LAZY_DEPS.join(", ")}`})`);
