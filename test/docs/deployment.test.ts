/**
 * docs/FEDERATION_OPERATIONS.md §Deployment, run as written with its paths under a scratch
 * prefix: /etc/vmsh and /var/lib/vmsh become <prefix>/etc/vmsh and <prefix>/var/lib/vmsh, the
 * installed `vmsh-federation` is this checkout's program, and the steps only root may take
 * (creating the user, chown, systemctl) are replaced by what they do for the daemon: the unit's
 * ExecStart line is run. It pins the 0.2.0 blocker: done literally, the state lands in
 * /var/lib/vmsh, never in /etc/state.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import yaml from "js-yaml";
import { validateConfig } from "../../lib/config/validate.js";
import { repoRoot } from "../support/repo-root.js";
import { sectionBlocks, shellCommands, andChain } from "./doc-blocks.js";
import { workspace, type Background, type Workspace } from "./doc-shell.js";

const DOC = "docs/FEDERATION_OPERATIONS.md";
const blocks = sectionBlocks(DOC, "## Deployment").filter((b) => b.lang === "sh").map((b) => shellCommands(b.body));
let ws: Workspace;
let prefix: string;
let env: Record<string, string>;
let daemon: Background | undefined;

/** The document's absolute paths, under the scratch prefix. */
const mapPaths = (command: string) => command.replaceAll("/etc/vmsh", `${prefix}/etc/vmsh`).replaceAll("/var/lib/vmsh", `${prefix}/var/lib/vmsh`);

before(async () => {
  ws = await workspace();
  prefix = join(ws.dir, "root");
  // `vmsh-federation` on PATH, as `npm install -g` puts it in /usr/local/bin.
  const bin = join(ws.dir, "usr-local-bin");
  await mkdir(bin, { recursive: true });
  await writeFile(join(bin, "vmsh-federation"), `#!/bin/sh\nexec "${process.execPath}" "${join(repoRoot, "bin", "vmsh-federation.js")}" "$@"\n`);
  await chmod(join(bin, "vmsh-federation"), 0o755);
  env = { PATH: `${bin}:${process.env.PATH ?? "/usr/bin:/bin"}` };
});
after(async () => {
  await daemon?.stop("SIGTERM");
  await ws?.cleanup();
});

describe("docs: FEDERATION_OPERATIONS.md deployment, run as written", () => {
  test("deployment: the section has the shell blocks this test runs", () => {
    assert.deepEqual(
      blocks.map((cmds) => cmds.flatMap(andChain).map((c) => c.split(/\s+/).filter((w) => !["sudo", "-u", "vmsh"].includes(w))[0])),
      [["useradd", "install"], ["vmsh-federation"], ["cp", "systemctl", "systemctl"], ["vmsh-federation"]],
    );
  });

  test("deployment: directories, then init as written: the state directory is /var/lib/vmsh, which a literal /etc/vmsh configuration accepts", async () => {
    const [useradd, install] = blocks[0]!;
    assert.match(useradd!, /^useradd --system --home-dir \/var\/lib\/vmsh /);
    // Substitution: no user is created and nothing is chowned (root only); the directories are made with the mode written.
    const r = await ws.run(mapPaths(install!).replace("-o vmsh -g vmsh ", ""), { env });
    assert.equal(r.code, 0, r.stderr);
    // Substitution: `sudo -u vmsh` is dropped (the test is its own service user).
    const [init] = blocks[1]!;
    const i = await ws.run(mapPaths(init!).replace(/^sudo -u vmsh /, ""), { env });
    assert.equal(i.code, 0, `${init}\n${i.stderr}`);
    assert.doesNotMatch(i.stderr, /unknown key|state_dir|\/etc\/state/);
    const text = await readFile(join(prefix, "etc", "vmsh", "federation.yaml"), "utf8");
    const doc = yaml.load(text) as { mesh: { state_dir: string } };
    assert.equal(doc.mesh.state_dir, `${prefix}/var/lib/vmsh`);
    // The same file at the document's own paths: accepted, with the state in /var/lib/vmsh.
    const literal = yaml.load(text.replaceAll(prefix, "")) as unknown;
    const v = validateConfig({ federation: literal, peers: undefined, anchors: undefined }, { dir: "/etc/vmsh", env: {} });
    assert.deepEqual(v.errors, []);
    assert.equal(v.config!.federation.mesh.stateDir, "/var/lib/vmsh");
  });

  test("deployment: the unit's ExecStart serves from that configuration, writes its state in /var/lib/vmsh, and the check step exits 0", async () => {
    const [cp, reload] = blocks[2]!;
    assert.equal(cp, "cp /usr/local/lib/node_modules/vmsh-federation/config/vmsh-federation.service /etc/systemd/system/");
    assert.equal(reload, "systemctl daemon-reload && systemctl enable --now vmsh-federation");
    const unit = await readFile(join(repoRoot, "config", "vmsh-federation.service"), "utf8");
    const exec = /^ExecStart=(.*)$/m.exec(unit)![1]!;
    // Substitution: systemd starts ExecStart; the test starts it, on a free loopback port instead of 0.0.0.0:8088.
    const fed = join(prefix, "etc", "vmsh", "federation.yaml");
    await writeFile(fed, (await readFile(fed, "utf8")).replace('http: "0.0.0.0:8088"', 'http: "127.0.0.1:0"'));
    daemon = ws.start(mapPaths(exec.replace("/usr/local/bin/vmsh-federation", "vmsh-federation")), { env });
    await daemon.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/, 60_000);
    assert.ok(existsSync(join(prefix, "var", "lib", "vmsh", "FORMAT")), "the state is in /var/lib/vmsh");
    assert.ok(!existsSync(join(prefix, "etc", "state")), "and not in /etc/state");
    const [check] = blocks[3]!;
    const s = await ws.run(mapPaths(check!), { env });
    assert.equal(s.code, 0, s.stdout + s.stderr);
    assert.match(s.stdout, new RegExp(`state:\\s+${prefix.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}/var/lib/vmsh`));
  });
});
