/**
 * `npm start` in a checkout that was never built (README "Set up"): it says it is compiling,
 * builds the program and the explorer page, and the daemon then serves `/explorer/` (not 503).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { cp, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../support/repo-root.js";

let root: string;
let checkout: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vmsh-fresh-"));
  checkout = join(root, "checkout");
  // A clone: the sources and node_modules, no dist/.
  for (const entry of ["package.json", "tsconfig.json", "bin", "lib", "commands", "web", "scripts", "test", "bench", "chaos", "config"]) await cp(join(repoRoot, entry), join(checkout, entry), { recursive: true });
  await symlink(join(repoRoot, "node_modules"), join(checkout, "node_modules"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

test("npm start in a fresh checkout says it is compiling, builds the explorer too, and serve serves it", { timeout: 600_000 }, async () => {
  const cfg = join(root, "vmsh", "config");
  const env = { ...process.env, VMSH_CONFIG_DIR: cfg, NO_COLOR: "1" };
  const first = spawnSync(process.execPath, [join(checkout, "scripts", "start.mjs"), "status"], { cwd: checkout, env, encoding: "utf8", timeout: 540_000 });
  assert.equal(first.status, 0, first.stderr);
  assert.match(first.stderr, /^npm start: first run, compiling vmsh-federation and its explorer page into dist\/ \(this takes a minute\)/m);
  assert.match(first.stdout, /Created a node identity/);
  const fed = join(cfg, "federation.yaml");
  await writeFile(fed, (await readFile(fed, "utf8")).replace('http: "127.0.0.1:8088"', 'http: "127.0.0.1:0"'));
  const daemon = spawn(process.execPath, [join(checkout, "scripts", "start.mjs")], { cwd: checkout, env, stdio: ["ignore", "pipe", "pipe"] });
  try {
    let out = "";
    const url = await new Promise<string>((resolve, reject) => {
      const onData = (d: Buffer) => {
        out += d.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
        if (m !== null) resolve(m[1]!);
      };
      daemon.stdout.on("data", onData);
      daemon.stderr.on("data", onData);
      daemon.once("exit", (code) => reject(new Error(`start exited ${code}: ${out}`)));
    });
    assert.doesNotMatch(out, /compiling/, "the second run compiles nothing");
    const page = await fetch(`${url}/explorer/`, { redirect: "manual" });
    const html = await page.text();
    assert.equal(page.status, 200, html);
    assert.match(html, /<title>/);
    assert.equal((await fetch(`${url}/explorer/app.js`)).status, 200);
  } finally {
    daemon.kill("SIGINT");
    await new Promise((r) => daemon.once("close", r));
  }
});
