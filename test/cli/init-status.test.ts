import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../lib/config/load.js";
import { parseKeyLine } from "../../lib/identity/did.js";
import { readKeyFile } from "../../lib/identity/key-file.js";
import { runCli } from "../support/cli.js";
import { repoRoot } from "../support/repo-root.js";

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), "vmsh-cli-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("cli: init", () => {
  test("init: writes a key with mode 0600 and a config the loader accepts without warnings", async () => {
    const cfg = join(root, "a", "config");
    const r = await runCli(["--config", cfg, "init", "--node-id", "did:vm:node:vm-spawn-a", "--listen", "127.0.0.1:9911"]);
    assert.equal(r.code, 0, r.stderr);
    // Without --public-url the one thing on stderr is the note that the printed url is the listen address.
    assert.match(r.stderr, /^warning: the url printed above is this node's listen address \(127\.0\.0\.1:9911\)[^\n]*--public-url[^\n]*\n$/);
    assert.match(r.stdout, /node id: {2}did:vm:node:vm-spawn-a/);
    const keyLine = /keys: \{ verify: "(ed25519:[A-Za-z0-9_-]{43})" \}/.exec(r.stdout)![1]!;
    assert.ok(parseKeyLine(keyLine) instanceof Uint8Array);
    assert.equal((await stat(join(cfg, "keys", "node.key"))).mode & 0o777, 0o600);
    const { config, warnings } = await loadConfig(cfg, {});
    assert.deepEqual(warnings, []);
    assert.equal(config.federation.mesh.listen.port, 9911);
    const key = await readKeyFile(config.federation.mesh.keyFile);
    assert.deepEqual(key.publicKeyBytes, parseKeyLine(keyLine));
  });

  test("init: refuses to overwrite an existing identity without --force (exit 2), and replaces it with --force", async () => {
    const cfg = join(root, "b", "config");
    assert.equal((await runCli(["--config", cfg, "init", "--node-id", "did:vm:node:b"])).code, 0);
    const before = await readFile(join(cfg, "keys", "node.key"), "utf8");
    const again = await runCli(["--config", cfg, "init", "--node-id", "did:vm:node:b"]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /refusing to overwrite .*node\.key.*pass --force/);
    assert.equal(await readFile(join(cfg, "keys", "node.key"), "utf8"), before);
    const forced = await runCli(["--config", cfg, "init", "--node-id", "did:vm:node:b", "--force", "--json"]);
    assert.equal(forced.code, 0);
    assert.notEqual(await readFile(join(cfg, "keys", "node.key"), "utf8"), before);
    assert.equal(JSON.parse(forced.stdout).nodeId, "did:vm:node:b");
  });

  test("init: refuses a malformed --node-id or --listen with exit 2 and writes nothing", async () => {
    const cfg = join(root, "c", "config");
    const bad = await runCli(["--config", cfg, "init", "--node-id", "node-c"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--node-id: expected a DID/);
    const badListen = await runCli(["--config", cfg, "init", "--listen", "8088"]);
    assert.equal(badListen.code, 2);
    assert.match(badListen.stderr, /--listen: expected HOST:PORT/);
    await assert.rejects(stat(cfg));
  });

  test("init: --state-dir is written as mesh.state_dir, and one inside the configuration or under /etc is refused (exit 2, nothing written)", async () => {
    const cfg = join(root, "sd", "config");
    const state = join(root, "sd", "var", "lib", "vmsh");
    const r = await runCli(["--config", cfg, "init", "--node-id", "did:vm:node:sd", "--state-dir", state, "--json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).stateDir, state);
    const { config, warnings } = await loadConfig(cfg, {});
    assert.deepEqual(warnings, []);
    assert.equal(config.federation.mesh.stateDir, state);
    for (const [args, why] of [
      [["--state-dir", join(root, "sd2", "config", "state")], /--state-dir: \S+sd2\/config\/state is inside the configuration directory/],
      [["--state-dir", "/etc/vmsh-state"], /--state-dir: \/etc\/vmsh-state is under \/etc, [^\n]*ProtectSystem=strict/],
    ] as const) {
      const bad = await runCli(["--config", join(root, "sd2", "config"), "init", "--node-id", "did:vm:node:sd2", ...args]);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, why);
      await assert.rejects(stat(join(root, "sd2", "config")), "nothing written");
    }
    // Deployment puts the configuration in /etc/vmsh: the default ../state would be /etc/state.
    const etc = await runCli(["--config", "/etc/vmsh-test-never-written", "init", "--node-id", "did:vm:node:sd3"]);
    assert.equal(etc.code, 2, etc.stderr);
    assert.match(etc.stderr, /the default state directory \(\.\.\/state beside --config\) would be \/etc\/state is under \/etc[^\n]*pass --state-dir \/var\/lib\/vmsh/);
    await assert.rejects(stat("/etc/vmsh-test-never-written"));
  });

  test("status: a state_dir key at the top of federation.yaml is warned about, naming mesh.state_dir", async () => {
    // What docs/FEDERATION_OPERATIONS.md said before 0.3.0, done literally with the configuration in a directory named like /etc.
    const cfg = join(root, "lit", "config");
    assert.equal((await runCli(["--config", cfg, "init", "--node-id", "did:vm:node:lit"])).code, 0);
    await writeFile(join(cfg, "federation.yaml"), `${await readFile(join(cfg, "federation.yaml"), "utf8")}state_dir: /var/lib/vmsh\n`);
    const r = await runCli(["--config", cfg, "status"]);
    assert.match(r.stderr, /federation\.yaml: state_dir: unknown key \(known here: [^)]*\); did you mean mesh\.state_dir\?/);
  });

  test("init: --config falls back to $VMSH_CONFIG_DIR", async () => {
    const cfg = join(root, "d", "config");
    const r = await runCli(["init", "--node-id", "did:vm:node:d"], { env: { VMSH_CONFIG_DIR: cfg } });
    assert.equal(r.code, 0, r.stderr);
    await stat(join(cfg, "federation.yaml"));
  });
});

describe("cli: status and global options", () => {
  test("status: prints the identity and config; --json before or after the command prints only JSON", async () => {
    const cfg = join(root, "e", "config");
    await runCli(["--config", cfg, "init", "--node-id", "did:vm:node:e"]);
    const text = await runCli(["--config", cfg, "status"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /\[federation\] node did:vm:node:e/);
    assert.doesNotMatch(text.stdout, /\x1b\[/, "no colour when stdout is not a TTY");
    for (const args of [["--json", "--config", cfg, "status"], ["status", "--json", "--config", cfg]]) {
      const j = await runCli(args);
      assert.equal(j.code, 0, j.stderr);
      const doc = JSON.parse(j.stdout);
      assert.equal(doc.node, "did:vm:node:e");
      assert.deepEqual(doc.namespaces.map((n: { name: string }) => n.name), ["dao:vaultmesh"]);
    }
  });

  test("status: a broken config exits 2 naming file and key; with --json the error is the JSON document", async () => {
    const cfg = join(root, "f", "config");
    await runCli(["--config", cfg, "init", "--node-id", "did:vm:node:f"]);
    const path = join(cfg, "federation.yaml");
    await writeFile(path, (await readFile(path, "utf8")).replace("evm_confirmations: 12", "evm_confirmations: -3"));
    const r = await runCli(["--config", cfg, "status"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /federation\.yaml: namespaces\."dao:vaultmesh"\.verify\.evm_confirmations: expected a non-negative integer/);
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/, "no stack trace");
    const j = await runCli(["--config", cfg, "status", "--json"]);
    assert.equal(j.code, 2);
    assert.equal(JSON.parse(j.stdout).error.code, "CONFIG_INVALID");
  });

  test("status: a missing configuration tells the user to run init", async () => {
    const r = await runCli(["--config", join(root, "nowhere"), "status"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /federation\.yaml: not found in .*vmsh-federation init/);
  });

  test("cli: an unknown command or option exits 2 with a hint", async () => {
    const r = await runCli(["frobnicate"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'frobnicate'/);
    const o = await runCli(["status", "--bogus"]);
    assert.equal(o.code, 2);
    assert.match(o.stderr, /unknown option '--bogus'/);
  });

  test("cli: --help on the root and on every command teaches with an example", async () => {
    const rootHelp = await runCli(["--help"]);
    assert.equal(rootHelp.code, 0);
    const commands = [...rootHelp.stdout.matchAll(/^ {2}([a-z-]+)(?: \[options\])?\s{2,}/gm)].map((m) => m[1]!).filter((c) => c !== "help");
    assert.ok(commands.includes("init") && commands.includes("status"), rootHelp.stdout);
    assert.match(rootHelp.stdout, /Examples?:/);
    for (const c of commands) {
      const h = await runCli([c, "--help"]);
      assert.equal(h.code, 0);
      assert.match(h.stdout, /Examples?:\n {2}\$ vmsh-federation/, `${c} --help has no example`);
    }
  });

  test("cli: --version prints the package version", async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8"));
    const r = await runCli(["--version"]);
    assert.equal(r.stdout.trim(), pkg.version);
  });
});

describe("cli: npm start", () => {
  test("start: the first run creates an identity in $VMSH_CONFIG_DIR, then runs the command given", async () => {
    const { spawnSync } = await import("node:child_process");
    const cfg = join(root, "start", "config");
    const r = spawnSync(process.execPath, [join(repoRoot, "scripts", "start.mjs"), "status", "--json"], { env: { ...process.env, VMSH_CONFIG_DIR: cfg, NO_COLOR: "1" }, encoding: "utf8", timeout: 30_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /Created a node identity in .*start\/config/);
    const doc = JSON.parse(r.stdout.slice(r.stdout.indexOf("\n{") + 1));
    assert.equal(doc.configDir, cfg);
    const again = spawnSync(process.execPath, [join(repoRoot, "scripts", "start.mjs"), "status"], { env: { ...process.env, VMSH_CONFIG_DIR: cfg }, encoding: "utf8", timeout: 30_000 });
    assert.equal(again.status, 0, again.stderr);
    assert.doesNotMatch(again.stdout, /Created a node identity/);
  });
});

describe("cli: status with damaged state", () => {
  test("status: a corrupted state file is named and the command exits 1", async () => {
    const { mkdir } = await import("node:fs/promises");
    const cfg = join(root, "damaged", "config");
    await runCli(["--config", cfg, "init", "--node-id", "did:vm:node:damaged"]);
    const state = join(root, "damaged", "state");
    await mkdir(state, { recursive: true });
    await writeFile(join(state, "FORMAT"), "{ not json");
    const r = await runCli(["--config", cfg, "status"]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /State not read: .*FORMAT/);
    assert.equal(await readFile(join(state, "FORMAT"), "utf8"), "{ not json");
  });
});
