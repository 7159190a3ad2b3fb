import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { spawnSync } from "node:child_process";
import { runCli } from "../support/cli.js";
import { repoRoot } from "../support/repo-root.js";
import { moduleHook, sourcesOf, type ModuleHook } from "../support/module-hook.js";

// Which modules a CLI run loads, counted by a module hook in the child (docs/BENCHMARKS.md,
// command line start): the program's help and `status` must not load what they do not use.
// Each run is checked twice: from its command bundle (bin/vmsh-federation.js, dist/cli/), where a
// loaded bundle file counts as every source its map names, so a module pulled into a bundle's
// eager part is caught as if it were loaded; and from the tsc output (dist/commands/main.js), the
// fallback when there are no bundles.
let dir: string;
let hook: ModuleHook;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "vmsh-lazy-"));
  hook = await moduleHook();
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
  await hook.close();
});

type From = "bundle" | "tsc";

/** The files one run loaded, and the sources behind them (test/support/module-hook.ts). */
async function loaded(from: From, name: string, args: string[]): Promise<{ urls: string[]; sources: string[] }> {
  const tag = `${name}-${from}`;
  if (from === "bundle") {
    const r = await runCli(args, { env: hook.env(tag) });
    assert.equal(r.code, 0, r.stderr);
  } else {
    const main = pathToFileURL(join(repoRoot, "dist", "commands", "main.js")).href;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", `const { main } = await import(${JSON.stringify(main)}); process.exitCode = await main(${JSON.stringify(args)});`], { env: { ...process.env, ...hook.env(tag) }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    assert.equal(r.status, 0, r.stderr);
  }
  const urls = await hook.urls(tag);
  return { urls, sources: await sourcesOf(urls) };
}

for (const from of ["bundle", "tsc"] as const) {
  describe(`cli: lazy loading, from the ${from === "bundle" ? "command bundles" : "tsc output"}`, () => {
    test("--help loads no command module, no store, no configuration parser and no verifier library", async () => {
      const { urls, sources } = await loaded(from, "help", ["--help"]);
      const ours = sources.filter((s) => /^(commands|lib)\//.test(s));
      assert.deepEqual(ours.filter((s) => /^commands\/(?!main|registry|context|output|exit-codes)/.test(s)), []);
      assert.deepEqual(ours.filter((s) => /^lib\/(store|config\/load|federation|anchors)\//.test(s)), []);
      assert.deepEqual(sources.filter((s) => /^node_modules\/(viem|bitcoinjs-lib|node-forge|undici|js-yaml|lowdb)\//.test(s)), []);
      assert.ok(ours.length <= 12, `--help loaded ${ours.length} of our modules: ${ours.join(" ")}`);
      if (from === "bundle") {
        const files = urls.filter((u) => u.includes("/dist/"));
        assert.ok(files.some((u) => u.endsWith("/dist/cli/help/main.js")), files.join(" "));
        assert.deepEqual(files.filter((u) => !u.includes("/dist/cli/help/") && !u.endsWith("/dist/commands/registry.js")), [], "only the help bundle and the registry bin/vmsh-federation.js picks it with");
      }
    });

    test("status loads its own command only, not the daemon, the node runtime or the anchor verifiers", async () => {
      const cfg = join(dir, `config-${from}`);
      const init = await runCli(["--config", cfg, "init", "--node-id", "did:vm:node:lazy", "--listen", "127.0.0.1:0"]);
      assert.equal(init.code, 0, init.stderr);
      const { urls, sources } = await loaded(from, "status", ["--config", cfg, "status", "--json"]);
      assert.ok(sources.includes("commands/status.ts"));
      assert.deepEqual(sources.filter((s) => /^commands\/(serve|announce|sync|verify-online|verify-proof|init)\.ts$/.test(s)), []);
      assert.deepEqual(sources.filter((s) => /^lib\/(federation\/runtime|federation\/node|federation\/outbox|anchors\/endpoints|explorer\/)/.test(s)), []);
      // No peers: no outbound client. The status bundle holds the client's code (run on first use), not undici.
      if (from === "tsc") assert.deepEqual(sources.filter((s) => s === "lib/federation/peer-client.ts"), [], "no peers: no outbound client");
      assert.deepEqual(sources.filter((s) => /^node_modules\/(viem|bitcoinjs-lib|node-forge|undici)\//.test(s)), []);
      if (from === "bundle") {
        const files = urls.filter((u) => u.includes("/dist/"));
        // One file of the program: the status bundle, flat (scripts/build-cli.mjs), besides the registry bin reads.
        assert.deepEqual(files.map((u) => u.slice(u.lastIndexOf("/dist/") + 1)), ["dist/commands/registry.js", "dist/cli/status/main.js"]);
      }
    });
  });
}

describe("cli: lazy loading of the anchor verifiers", () => {
  test("the anchor verifiers load each rail's library only with that rail's first anchor", async () => {
    const endpoints = pathToFileURL(join(repoRoot, "dist", "lib", "anchors", "endpoints.js")).href;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", `await import(${JSON.stringify(endpoints)})`], { env: { ...process.env, ...hook.env("verifiers") }, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const urls = await hook.urls("verifiers");
    assert.ok(urls.some((u) => u.endsWith("/dist/lib/anchors/verify.js")));
    assert.deepEqual(urls.filter((u) => /node_modules\/(viem|bitcoinjs-lib|node-forge)\//.test(u) || /\/dist\/lib\/anchors\/(evm|btc|tsa)\//.test(u)), []);
  });

  test("in every command bundle, each rail's verifier and library sit in a chunk of their own, loaded by import()", async () => {
    // A bundle's main.js and the chunks it imports statically are what every run of the command
    // loads: none of them may hold a rail's verifier (docs/BENCHMARKS.md "Fifth pass: bundles";
    // `seal` asks a TSA for a stamp, so it holds the TSA request's encoder and its DER library,
    // node-forge, but not the verifier; `announce` holds the code that starts the worker thread,
    // lib/anchors/tsa/off-thread.ts, which loads no library).
    const allowed: Record<string, RegExp> = { seal: /^node-forge$|^node_modules\/node-forge\/|^lib\/anchors\/tsa\/der\.ts$/ };
    const { readdir, readFile } = await import("node:fs/promises");
    const cli = join(repoRoot, "dist", "cli");
    for (const command of (await readdir(cli, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name)) {
      const eager = new Set<string>();
      const visit = async (file: string) => {
        if (eager.has(file)) return;
        eager.add(file);
        const text = await readFile(join(cli, command, file), "utf8");
        for (const m of text.matchAll(/(?:^|[;}\s])import\s*(?:[\w${},\s*]+from\s*)?"\.\/([\w.-]+\.js)"/g)) await visit(m[1]!);
      };
      await visit("main.js");
      const sources = await sourcesOf([...eager].map((f) => pathToFileURL(join(cli, command, f)).href));
      assert.deepEqual(sources.filter((s) => !allowed[command]?.test(s)).filter((s) => /^lib\/anchors\/(evm|btc)\//.test(s) || /^lib\/anchors\/tsa\/(index|verify-anchor|verify-token|der|certificate|chain|signature)\.ts$/.test(s) || /^node_modules\/(viem|bitcoinjs-lib|node-forge|@noble|ox|abitype)\//.test(s)), [], `${command}: eager part of the bundle`);
      for (const f of eager) {
        const text = await readFile(join(cli, command, f), "utf8");
        const rail = /(?:^|[;}\s])import\s*(?:[\w${},\s*]+from\s*)?"(viem|bitcoinjs-lib|node-forge)(\/[^"]*)?"/.exec(text);
        assert.ok(rail === null || allowed[command]?.test(rail[1]!) === true, `${command}/${f} imports a rail's library statically: ${rail?.[0]}`);
      }
    }
  });
});
