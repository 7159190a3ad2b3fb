import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { spawnSync } from "node:child_process";
import { runCli } from "../support/cli.js";
import { repoRoot } from "../support/repo-root.js";

// Which modules a CLI run loads, counted by a module hook in the child (docs/BENCHMARKS.md,
// command line start): the program's help and `status` must not load what they do not use.
let dir: string;
let hook: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "vmsh-lazy-"));
  await writeFile(join(dir, "hooks.mjs"), `import { appendFileSync } from "node:fs";\nexport async function load(url, context, next) { if (url.startsWith("file:")) appendFileSync(process.env.VMSH_TEST_LOADED, url + "\\n"); return next(url, context); }\n`);
  await writeFile(join(dir, "register.mjs"), `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(join(dir, "hooks.mjs")).href)});\n`);
  hook = pathToFileURL(join(dir, "register.mjs")).href;
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function loaded(name: string, args: string[]): Promise<string[]> {
  const list = join(dir, `${name}.txt`);
  const r = await runCli(args, { env: { NODE_OPTIONS: `--import ${hook}`, VMSH_TEST_LOADED: list } });
  assert.equal(r.code, 0, r.stderr);
  return (await readFile(list, "utf8")).trim().split("\n");
}

describe("cli: lazy loading", () => {
  test("--help loads no command module, no store, no configuration parser and no verifier library", async () => {
    const urls = await loaded("help", ["--help"]);
    const ours = urls.filter((u) => u.includes("/dist/"));
    assert.deepEqual(ours.filter((u) => /\/dist\/commands\/(?!main|registry|context|output|exit-codes)/.test(u)), []);
    assert.deepEqual(ours.filter((u) => /\/dist\/lib\/(store|config\/load|federation|anchors)\//.test(u)), []);
    assert.deepEqual(urls.filter((u) => /node_modules\/(viem|bitcoinjs-lib|node-forge|undici|js-yaml|lowdb)\//.test(u)), []);
    assert.ok(ours.length <= 12, `--help loaded ${ours.length} of our modules: ${ours.join(" ")}`);
  });

  test("status loads its own command only, not the daemon, the node runtime or the anchor verifiers", async () => {
    const cfg = join(dir, "config");
    const init = await runCli(["--config", cfg, "init", "--node-id", "did:vm:node:lazy", "--listen", "127.0.0.1:0"]);
    assert.equal(init.code, 0, init.stderr);
    const urls = await loaded("status", ["--config", cfg, "status", "--json"]);
    assert.ok(urls.some((u) => u.endsWith("/dist/commands/status.js")));
    assert.deepEqual(urls.filter((u) => /\/dist\/commands\/(serve|announce|sync|verify-online|verify-proof|init)\.js$/.test(u)), []);
    assert.deepEqual(urls.filter((u) => /\/dist\/lib\/(federation\/runtime|federation\/node|federation\/outbox|anchors\/endpoints|explorer\/)/.test(u)), []);
    assert.deepEqual(urls.filter((u) => u.endsWith("/dist/lib/federation/peer-client.js")), [], "no peers: no outbound client");
    assert.deepEqual(urls.filter((u) => /node_modules\/(viem|bitcoinjs-lib|node-forge|undici)\//.test(u)), []);
  });

  test("the anchor verifiers load each rail's library only with that rail's first anchor", async () => {
    const list = join(dir, "verifiers.txt");
    const endpoints = pathToFileURL(join(repoRoot, "dist", "lib", "anchors", "endpoints.js")).href;
    const r = spawnSync(process.execPath, ["--import", hook, "--input-type=module", "-e", `await import(${JSON.stringify(endpoints)})`], { env: { ...process.env, VMSH_TEST_LOADED: list }, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    const urls = (await readFile(list, "utf8")).trim().split("\n");
    assert.ok(urls.some((u) => u.endsWith("/dist/lib/anchors/verify.js")));
    assert.deepEqual(urls.filter((u) => /node_modules\/(viem|bitcoinjs-lib|node-forge)\//.test(u) || /\/dist\/lib\/anchors\/(evm|btc|tsa)\//.test(u)), []);
  });
});
