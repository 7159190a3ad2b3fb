import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../support/repo-root.js";

// The shipped unit (config/vmsh-federation.service) and docs/FEDERATION_OPERATIONS.md "Deployment" must agree.
const UNIT = join(repoRoot, "config", "vmsh-federation.service");
const hasAnalyze = spawnSync("systemd-analyze", ["--version"], { stdio: "ignore" }).status === 0;
let unit: string;
let docs: string;
let root: string;

/** `Key=value` settings of the unit, last one wins. */
const setting = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, "gm"))].at(-1)?.[1];

before(async () => {
  unit = await readFile(UNIT, "utf8");
  docs = await readFile(join(repoRoot, "docs", "FEDERATION_OPERATIONS.md"), "utf8");
  root = await mkdtemp(join(tmpdir(), "vmsh-unit-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("systemd unit", () => {
  test("exit 2 (configuration or environment) is not restarted; readiness is notified", () => {
    assert.equal(setting("Restart"), "on-failure");
    assert.equal(setting("RestartPreventExitStatus"), "2");
    assert.equal(setting("Type"), "notify");
    assert.equal(setting("NotifyAccess"), "all");
  });

  test("carries the hardening options systemd-analyze security asks for", () => {
    const want: Record<string, string> = {
      SystemCallFilter: "@system-service",
      SystemCallArchitectures: "native",
      ProtectClock: "yes",
      ProtectKernelLogs: "yes",
      ProtectHostname: "yes",
      RestrictSUIDSGID: "yes",
      RestrictRealtime: "yes",
      ProtectProc: "invisible",
      ProcSubset: "pid",
      NoNewPrivileges: "yes",
      ProtectSystem: "strict",
    };
    for (const [k, v] of Object.entries(want)) assert.equal(setting(k), v, k);
  });

  test("user, directories and command agree with the operations guide", () => {
    const user = setting("User")!;
    assert.equal(setting("StateDirectory"), user);
    assert.match(setting("ExecStart")!, /^\/usr\/local\/bin\/vmsh-federation --config \/etc\/vmsh serve --log-format json$/);
    assert.ok(docs.includes(`useradd --system --home-dir /var/lib/${user} --shell /usr/sbin/nologin ${user}`), "docs create the unit's user");
    assert.ok(docs.includes(`install -d -o ${user} -g ${user} -m 0750 /etc/vmsh /var/lib/vmsh`), "docs give the directories to that user");
    assert.ok(docs.includes(`sudo -u ${user} vmsh-federation --config /etc/vmsh init`), "docs run init as that user");
    assert.ok(docs.includes("init --node-id did:vm:node:vm-spawn-a --listen 0.0.0.0:8088 --public-url http://vm-spawn-a.example.org:8088 --state-dir /var/lib/vmsh"), "docs set the state directory the unit makes writable");
    assert.ok(docs.includes("npm install -g vmsh-federation-"), "docs install to /usr/local/bin");
  });

  test("systemd-analyze verify accepts the unit", { skip: !hasAnalyze && "systemd-analyze is not installed" }, async () => {
    // verify checks that ExecStart's program exists: point it at node when the CLI is not installed here.
    const exec = "/usr/local/bin/vmsh-federation";
    const text = existsSync(exec) ? unit : unit.replace(`ExecStart=${exec}`, `ExecStart=${process.execPath}`);
    const copy = join(root, "vmsh-federation.service");
    await writeFile(copy, text);
    const r = spawnSync("systemd-analyze", ["verify", copy], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr.trim(), "", r.stderr);
  });
});
