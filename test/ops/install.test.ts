import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../support/repo-root.js";
import { childEnv, startServe } from "../support/serve-process.js";
import { moduleHook } from "../support/module-hook.js";
import { COMMANDS } from "../../commands/registry.js";

// Walks docs/FEDERATION_OPERATIONS.md "Deployment" as far as it goes without systemd: pack the
// release tarball, install it into an empty prefix from the npm cache (no compiler, no network),
// initialise as the service user, start serve, ask status; and the refusals for running as
// someone else. Runs after `npm run build` like every test; the tarball is packed from that dist/.
const SERVICE_UID = 4242; // a uid with no files on this machine: the test's "vmsh" user
const asRoot = process.getuid?.() === 0;
const svc = asRoot ? { uid: SERVICE_UID, gid: SERVICE_UID } : {};

interface Ran {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: readonly string[], options: { cwd?: string; uid?: number; gid?: number; env?: Record<string, string> } = {}): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], { cwd: options.cwd ?? repoRoot, env: childEnv(options.env), stdio: ["ignore", "pipe", "pipe"], ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid ?? options.uid } : {}) });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), 180_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** path → "uid mode" of everything under `dir`, to show a refused command changed nothing. */
async function tree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      const st = await stat(p);
      out.set(p, `${st.uid} ${(st.mode & 0o7777).toString(8)} ${e.isFile() ? await readFile(p, "utf8") : ""}`);
      if (e.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out;
}

let root: string;
let tarball: string;
let cliPath: string;
let etc: string;
let state: string;
const HOME = () => join(root, "home");

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vmsh-install-"));
  await chmod(root, 0o755); // the service user must reach the prefix and its directories
  await mkdir(HOME(), { mode: 0o777 });
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("install: the packed tarball, installed and run as the service user", () => {
  let installed = false;

  test("package.json builds on prepack, not prepare, so installing never needs a compiler", async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8"));
    assert.equal(pkg.scripts.prepare, undefined);
    assert.match(pkg.scripts.prepack, /tsc -p tsconfig\.json/);
    assert.ok(pkg.files.includes("LICENSE") && pkg.files.includes("npm-shrinkwrap.json"));
  });

  test("npm pack: LICENSE, a shrinkwrap, the compiled program; no TypeScript sources, no tests", async () => {
    const wrote = await run(process.execPath, [join(repoRoot, "scripts", "shrinkwrap.mjs")]);
    assert.equal(wrote.code, 0, wrote.stderr);
    let packed: Ran;
    try {
      packed = await run("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", root]);
    } finally {
      await run(process.execPath, [join(repoRoot, "scripts", "shrinkwrap.mjs"), "--remove"]);
    }
    assert.equal(packed.code, 0, packed.stderr);
    const [info] = JSON.parse(packed.stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    tarball = join(root, info!.filename);
    const paths = info!.files.map((f) => f.path);
    for (const p of ["LICENSE", "npm-shrinkwrap.json", "bin/vmsh-federation.js", "dist/commands/main.js", "config/vmsh-federation.service", "docs/FEDERATION_OPERATIONS.md"]) assert.ok(paths.includes(p), `${p} missing from the tarball`);
    // The command bundles (scripts/build-cli.mjs): one per command, the program's help, the TSA worker.
    for (const name of [...Object.keys(COMMANDS), "help"]) assert.ok(paths.includes(`dist/cli/${name}/main.js`), `dist/cli/${name}/main.js missing from the tarball`);
    assert.ok(paths.includes("dist/cli/tsa-token-worker.js"));
    assert.deepEqual(paths.filter((p) => p.endsWith(".ts") && !p.endsWith(".d.ts")), []);
    assert.deepEqual(paths.filter((p) => p.startsWith("dist/test/") || p.startsWith("dist/bench/")), []);
    assert.equal(await stat(join(repoRoot, "npm-shrinkwrap.json")).catch(() => undefined), undefined, "postpack step removed the shrinkwrap");
  });

  test("npm install -g from the tarball into an empty prefix, offline", async (t) => {
    const prefix = join(root, "prefix");
    const r = await run("npm", ["install", "-g", "--prefix", prefix, "--offline", "--no-audit", "--no-fund", tarball]);
    if (r.code !== 0 && /ENOTCACHED/.test(r.stderr)) {
      t.skip("the npm cache lacks the dependencies; install the tarball once with network to fill it");
      return;
    }
    assert.equal(r.code, 0, r.stderr);
    cliPath = join(prefix, "bin", "vmsh-federation");
    const pkgDir = join(prefix, "lib", "node_modules", "vmsh-federation");
    assert.equal(await stat(join(pkgDir, "node_modules", "typescript")).catch(() => undefined), undefined, "no compiler installed");
    // Source maps carry their sources, so none points at a file the package does not ship.
    const maps = (await readdir(join(pkgDir, "dist"), { recursive: true })).filter((f) => f.endsWith(".js.map"));
    assert.ok(maps.length > 50);
    for (const m of maps) {
      const map = JSON.parse(await readFile(join(pkgDir, "dist", m), "utf8")) as { sources: string[]; sourcesContent?: Array<string | null> };
      assert.equal(map.sourcesContent?.length, map.sources.length, m);
      assert.ok(map.sourcesContent!.every((c) => typeof c === "string" && c.length > 0), m);
    }
    installed = true;
  });

  test("init as the service user, serve, health and status from the installed CLI", async (t) => {
    if (!installed) return t.skip("not installed");
    etc = join(root, "etc", "vmsh");
    state = join(root, "var", "lib", "vmsh");
    for (const d of [join(root, "etc"), join(root, "var"), join(root, "var", "lib")]) await mkdir(d, { mode: 0o755 });
    for (const d of [etc, state]) {
      await mkdir(d, { recursive: true, mode: 0o750 });
      if (asRoot) await chown(d, SERVICE_UID, SERVICE_UID);
    }
    const init = await run(cliPath, ["--config", etc, "init", "--node-id", "did:vm:node:host-a", "--listen", "127.0.0.1:0", "--public-url", "http://host-a.example.test:8088"], { ...svc, env: { HOME: HOME() } });
    assert.equal(init.code, 0, init.stderr);
    const key = await stat(join(etc, "keys", "node.key"));
    assert.equal(key.mode & 0o777, 0o600);
    if (asRoot) assert.equal(key.uid, SERVICE_UID, "the key belongs to the service user");
    const fed = join(etc, "federation.yaml");
    await writeFile(fed, (await readFile(fed, "utf8")).replace(/state_dir: \S+/, `state_dir: ${state}`));
    const s = await startServe(["--config", etc, "serve", "--log-format", "json"], { command: [cliPath], ...svc, env: { HOME: HOME() } });
    try {
      const health = (await (await fetch(`${s.url}/health`)).json()) as { status: string; node: string; version: string };
      const pkg = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8"));
      assert.deepEqual([health.status, health.node, health.version], ["ok", "did:vm:node:host-a", pkg.version]);
      const hook = await moduleHook();
      try {
        await chmod(hook.dir, 0o777); // the service user appends the list of what it loaded there
        const status = await run(cliPath, ["--config", etc, "status", "--json"], { ...svc, env: { HOME: HOME(), ...hook.env("status") } });
        assert.equal(status.code, 0, status.stderr);
        assert.equal(JSON.parse(status.stdout).node, "did:vm:node:host-a");
        // It ran from the package's status bundle, not from the tsc output the package also ships.
        const loaded = (await hook.urls("status")).filter((u) => u.includes("/lib/node_modules/vmsh-federation/dist/"));
        assert.ok(loaded.some((u) => u.endsWith("/dist/cli/status/main.js")), loaded.join(" "));
        assert.deepEqual(loaded.filter((u) => !u.includes("/dist/cli/status/") && !u.endsWith("/dist/commands/registry.js")), []);
      } finally {
        await hook.close();
      }
      // The Makefile's operator target runs the installed CLI, from a directory with no dist/ and without building.
      const made = await run("make", ["-f", join(repoRoot, "Makefile"), "federation-status", `CONFIG=${etc}`], { ...svc, cwd: root, env: { HOME: HOME(), PATH: `${join(root, "prefix", "bin")}:${process.env.PATH ?? "/usr/bin:/bin"}` } });
      assert.equal(made.code, 0, made.stderr);
      assert.match(made.stdout, new RegExp(`^${cliPath} --config ${etc} status$`, "m"));
      assert.match(made.stdout, /\[federation\] node did:vm:node:host-a/);
      assert.doesNotMatch(made.stdout + made.stderr, /npm run build|tsc/);
    } finally {
      assert.equal(await s.stop(), 0, s.stderr());
    }
  });

  test("run as root against the service user's directories: refused (exit 2) naming sudo -u, nothing changed", { skip: !asRoot && "needs root to own files as another user" }, async (t) => {
    if (!installed) return t.skip("not installed");
    const beforeState = await tree(state);
    const beforeEtc = await tree(etc);
    const v = await run(cliPath, ["--config", etc, "verify-online"]);
    assert.equal(v.code, 2, v.stderr);
    assert.match(v.stderr, new RegExp(`state directory ${state} belongs to uid ${SERVICE_UID}, but this command runs as root.*sudo -u '#${SERVICE_UID}' vmsh-federation --config ${etc}`));
    const served = await run(cliPath, ["--config", etc, "serve", "--log-format", "json"]);
    assert.equal(served.code, 2);
    assert.equal(JSON.parse(served.stderr.trim().split("\n").at(-1)!).code, "DIR_OWNER");
    const init = await run(cliPath, ["--config", etc, "init", "--force", "--node-id", "did:vm:node:host-a"]);
    assert.equal(init.code, 2);
    assert.match(init.stderr, /configuration directory .* belongs to uid 4242/);
    assert.deepEqual(await tree(state), beforeState);
    assert.deepEqual(await tree(etc), beforeEtc);
  });

  test("npm ci --omit=dev in the unpacked release tree works offline, without a compiler", async (t) => {
    if (!installed) return t.skip("not installed");
    const tree = join(root, "release");
    await mkdir(tree);
    assert.equal((await run("tar", ["xzf", tarball, "-C", tree])).code, 0);
    const pkgDir = join(tree, "package");
    const ci = await run("npm", ["ci", "--omit=dev", "--offline", "--no-audit", "--no-fund"], { cwd: pkgDir });
    assert.equal(ci.code, 0, ci.stderr);
    const v = await run(process.execPath, ["bin/vmsh-federation.js", "--version"], { cwd: pkgDir });
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout.trim(), JSON.parse(await readFile(join(pkgDir, "package.json"), "utf8")).version);
  });
});
