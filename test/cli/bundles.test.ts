import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, runCli } from "../support/cli.js";
import { moduleHook, type ModuleHook } from "../support/module-hook.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { repoRoot } from "../support/repo-root.js";
import { sealTsaBatch } from "../support/sealer.js";
import { startServe } from "../support/serve-process.js";
import { COMMANDS } from "../../commands/registry.js";

// The command bundles (scripts/build-cli.mjs, README "Building"): bin/vmsh-federation.js runs
// each command from dist/cli/<command>/, the files a bundle finds beside itself are found
// (package.json, the explorer page, the TSA worker), and without bundles the tsc output runs.
let dir: string;
let hook: ModuleHook;
let tsa: OpensslTsa;
const pkg = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8")) as { version: string };
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "vmsh-bundles-"));
  hook = await moduleHook();
  tsa = createOpensslTsa();
});
after(async () => {
  tsa.cleanup();
  await rm(dir, { recursive: true, force: true });
  await hook.close();
});

const ours = (urls: string[]) => urls.filter((u) => u.includes("/dist/")).map((u) => u.slice(u.lastIndexOf("/dist/") + 1));

describe("cli: one bundle per command", () => {
  test("every command's --help runs from that command's bundle, not from the tsc output", async () => {
    for (const name of Object.keys(COMMANDS)) {
      const r = await runCli([name, "--help"], { env: hook.env(`help-${name}`) });
      assert.equal(r.code, 0, `${name}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: vmsh-federation ${name} `, "m"));
      const files = ours(await hook.urls(`help-${name}`));
      assert.ok(files.includes(`dist/cli/${name}/main.js`), `${name}: ${files.join(" ")}`);
      assert.deepEqual(files.filter((f) => !f.startsWith(`dist/cli/${name}/`) && f !== "dist/commands/registry.js"), [], name);
    }
  });

  test("the version a bundle reports is package.json's", async () => {
    const r = await runCli(["--version"], { env: hook.env("version") });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), pkg.version);
    assert.ok(ours(await hook.urls("version")).includes("dist/cli/help/main.js"));
  });

  test("announce from its bundle verifies a TSA token on the worker thread, started from dist/cli/tsa-token-worker.js", async () => {
    const cfg = join(dir, "announce");
    assert.equal((await runCli(["--config", cfg, "init", "--node-id", "did:vm:node:bundle", "--listen", "127.0.0.1:0"])).code, 0);
    await writeFile(join(cfg, "tsa-root.pem"), tsa.rootPem);
    await writeFile(join(cfg, "anchors.yaml"), "rfc3161:\n  trustBundle: tsa-root.pem\n");
    const b = await sealTsaBatch(join(dir, "sealer"), "b-1", 4, tsa);
    const r = await runCli(["--config", cfg, "announce", "--namespace", "dao:vaultmesh", "--batch", b.batchFile, "--receipts", b.receiptsDir], { env: hook.env("announce"), timeoutMs: 60_000 });
    // Stored with its anchor verified; no peer to announce to is exit 1 (announce --help).
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /, active\n/);
    assert.match(r.stdout, /Not announced: no peers are routed/);
    const urls = await hook.urls("announce");
    const files = ours(urls);
    assert.ok(files.includes("dist/cli/announce/main.js"), files.join(" "));
    // The hook runs in both threads: node-forge's ASN.1 codec is loaded once, by the worker that
    // checks the token (the main thread only hands it over), and the rest of node-forge by neither
    // (docs/BENCHMARKS.md "Fifth pass: bundles").
    const forge = urls.filter((u) => u.includes("/node_modules/node-forge/"));
    assert.deepEqual(forge.map((u) => u.slice(u.lastIndexOf("/node-forge/") + 1)).sort(), ["node-forge/lib/asn1.js", "node-forge/lib/util.js"]);
    assert.ok(files.includes("dist/cli/tsa-token-worker.js"), files.join(" "));
    assert.deepEqual(files.filter((f) => f.startsWith("dist/lib/")), [], "the worker is the bundled one, not dist/lib/anchors/tsa/token-worker.js");
  });

  test("serve from its bundle serves the explorer page from dist/explorer/", async () => {
    const cfg = join(dir, "serve");
    assert.equal((await runCli(["--config", cfg, "init", "--node-id", "did:vm:node:bundle-serve", "--listen", "127.0.0.1:0"])).code, 0);
    const s = await startServe(["--config", cfg, "serve"], { env: hook.env("serve") });
    try {
      const page = await fetch(`${s.url}/explorer/`);
      assert.equal(page.status, 200);
      assert.equal(await page.text(), await readFile(join(repoRoot, "dist", "explorer", "index.html"), "utf8"));
      const health = (await (await fetch(`${s.url}/health`)).json()) as { version: string };
      assert.equal(health.version, pkg.version);
    } finally {
      assert.equal(await s.stop(), 0, s.stderr());
    }
    const files = ours(await hook.urls("serve"));
    assert.ok(files.includes("dist/cli/serve/main.js"), files.join(" "));
    assert.deepEqual(files.filter((f) => !f.startsWith("dist/cli/serve/") && f !== "dist/commands/registry.js"), []);
  });
});

describe("cli: without bundles", () => {
  // A copy of bin/ beside links to dist/'s tsc output (what `tsc` alone leaves), with or without a dist/cli/.
  async function checkout(name: string): Promise<string> {
    const root = join(dir, name);
    await mkdir(join(root, "bin"), { recursive: true });
    await mkdir(join(root, "dist"));
    await copyFile(BIN, join(root, "bin", "vmsh-federation.js"));
    await copyFile(join(repoRoot, "package.json"), join(root, "package.json"));
    return root;
  }
  async function linkTsc(root: string): Promise<void> {
    for (const d of ["commands", "lib", "explorer"]) await symlink(join(repoRoot, "dist", d), join(root, "dist", d));
  }
  const run = (root: string, args: string[], tag: string) => spawnSync(process.execPath, [join(root, "bin", "vmsh-federation.js"), ...args], { env: { ...process.env, ...hook.env(tag) }, encoding: "utf8" });

  test("tsc only (no dist/cli/): every command runs from dist/commands/", async () => {
    const root = await checkout("tsc-only");
    await linkTsc(root);
    const v = run(root, ["--version"], "tsc-version");
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout.trim(), pkg.version);
    const h = run(root, ["status", "--help"], "tsc-status");
    assert.equal(h.status, 0, h.stderr);
    assert.match(h.stdout, /^Usage: vmsh-federation status/m);
    const files = ours(await hook.urls("tsc-status"));
    assert.ok(files.includes("dist/commands/main.js") && files.includes("dist/commands/status.js"), files.join(" "));
    assert.deepEqual(files.filter((f) => f.startsWith("dist/cli/")), []);
  });

  test("a bundle older than the tsc output (tsc ran again after an edit) is not run; a newer one is", async () => {
    const root = await checkout("stale");
    await linkTsc(root);
    const fake = join(root, "dist", "cli", "help", "main.js");
    await mkdir(join(root, "dist", "cli", "help"), { recursive: true });
    await writeFile(fake, `export async function main() { process.stdout.write("the fake bundle\\n"); return 0; }\n`);
    await utimes(fake, new Date("2000-01-01T00:00:00Z"), new Date("2000-01-01T00:00:00Z"));
    const stale = run(root, ["--version"], "stale-old");
    assert.equal(stale.status, 0, stale.stderr);
    assert.equal(stale.stdout.trim(), pkg.version);
    const later = new Date(Date.now() + 3_600_000);
    await utimes(fake, later, later);
    const fresh = run(root, ["--version"], "stale-new");
    assert.equal(fresh.status, 0, fresh.stderr);
    assert.equal(fresh.stdout, "the fake bundle\n");
  });

  test("a dependency missing under the tsc output is reported as itself, not as a missing dist/", async () => {
    const root = await checkout("missing-dependency");
    await mkdir(join(root, "dist", "commands"), { recursive: true });
    await writeFile(join(root, "dist", "commands", "registry.js"), `export function commandIn() { return "status"; }\n`);
    await writeFile(join(root, "dist", "commands", "main.js"), `import "vmsh-no-such-package";\nexport async function main() { return 0; }\n`);
    const r = run(root, ["status"], "missing-dependency");
    assert.notEqual(r.status, 0);
    assert.doesNotMatch(r.stderr, /dist\/ is missing/);
    assert.match(r.stderr, /vmsh-no-such-package/);
  });

  test("no dist/ at all: exit 2 and how to build it", async () => {
    const root = await checkout("unbuilt");
    const r = run(root, ["status"], "unbuilt");
    assert.equal(r.status, 2);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^error: dist\/ is missing: run `npm run build` in this checkout/);
  });
});
