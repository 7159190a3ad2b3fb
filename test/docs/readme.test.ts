/**
 * README.md, checked against the program: the set-up commands run (`npm start` the first
 * time and again, `npm start -- status`, Ctrl-C), the command-line summary lists exactly
 * the commands and options the CLI has, and the npm scripts and make targets it names exist
 * and do what it says. Commands come from the README itself; substitutions are commented.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { repoRoot } from "../support/repo-root.js";
import { andChain, sectionBlocks, shellCommands } from "./doc-blocks.js";
import { workspace, type Workspace } from "./doc-shell.js";

const README = "README.md";
let ws: Workspace;

before(async () => {
  ws = await workspace();
});
after(async () => {
  await ws?.cleanup();
});

/** `vmsh-federation` subcommands in the CLI's own --help, without commander's `help`. */
async function cliCommands(): Promise<string[]> {
  const help = await ws.run("node bin/vmsh-federation.js --help");
  assert.equal(help.code, 0, help.stderr);
  const section = help.stdout.split(/^Commands:$/m)[1] ?? "";
  return [...section.matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!).filter((c) => c !== "help");
}

describe("docs: README.md, checked against the program", () => {
  test("readme: set up: npm start makes an identity in $VMSH_CONFIG_DIR the first time, `npm start -- status` runs status, Ctrl-C stops the daemon", { timeout: 120_000 }, async () => {
    const [block] = sectionBlocks(README, "## Set up").filter((b) => b.lang === "sh");
    const steps = shellCommands(block!.body).flatMap(andChain);
    assert.deepEqual(steps, ["npm install", "npm start", "npm ci", "npm test"], "the set-up block this test knows");
    // Substitutions: `npm install` and `npm ci` are not run (this test runs inside the installed
    // checkout); `npm test` is not run (it is what runs this test). `npm start` runs for real, in the
    // checkout, with $VMSH_CONFIG_DIR (which the README offers) pointing into a scratch directory.
    const dir = join(ws.dir, "vmsh", "config");
    const env = { VMSH_CONFIG_DIR: dir };

    // First run, through the README's "npm start -- status": init, then the status command.
    const first = await ws.run("npm start -- status", { cwd: repoRoot, env });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, new RegExp(`Created a node identity in ${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    assert.match(first.stdout, /\[federation\] node did:vm:node:\S+\n\s+key:\s+ed25519:/);
    assert.match(first.stdout, /listen:\s+127\.0\.0\.1:8088/, "the README's 127.0.0.1:8088");
    for (const f of ["federation.yaml", "peers.yaml", "anchors.yaml", "keys/node.key"]) await stat(join(dir, f));

    // Substitution: the README's fixed port 8088 may be taken on a shared host; serve on a free one.
    const fed = join(dir, "federation.yaml");
    await writeFile(fed, (await readFile(fed, "utf8")).replace('http: "127.0.0.1:8088"', 'http: "127.0.0.1:0"'));
    const daemon = ws.start("npm start", { cwd: repoRoot, env });
    await daemon.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/, 60_000);
    await daemon.stop("SIGINT");
    const out = daemon.output();
    assert.doesNotMatch(out, /Created a node identity/, "the second run keeps the identity");
    assert.match(out, /SIGINT: stopping/);
    assert.match(out, /\[federation\] stopped/);
    assert.doesNotMatch(out, /stopped before all background work finished/);
  });

  test("readme: the command-line summary lists every command the CLI has, and nothing else", async () => {
    const [block] = sectionBlocks(README, "## The command line").filter((b) => b.lang === "text");
    const documented = [...block!.body.matchAll(/^ {2}([a-z][a-z-]*)\b/gm)].map((m) => m[1]!);
    assert.deepEqual([...documented].sort(), (await cliCommands()).sort());
  });

  test("readme: every option the command-line summary shows is accepted by its command", async () => {
    const [block] = sectionBlocks(README, "## The command line").filter((b) => b.lang === "text");
    const globals = await ws.run("node bin/vmsh-federation.js --help");
    const usage = /^vmsh-federation (.*)$/m.exec(block!.body)![1]!;
    for (const option of usage.match(/--[a-z-]+/g) ?? []) assert.match(globals.stdout, new RegExp(`${option}\\b`), `global ${option}`);
    for (const [, command, line] of block!.body.matchAll(/^ {2}([a-z][a-z-]*)\b(.*)$/gm)) {
      const help = await ws.run(`node bin/vmsh-federation.js ${command} --help`);
      assert.equal(help.code, 0, `${command} --help: ${help.stderr}`);
      for (const option of line!.match(/--[a-z-]+/g) ?? []) assert.match(help.stdout, new RegExp(`${option}\\b`), `${command} ${option}`);
    }
  });

  test("readme: development: the npm scripts it names exist and its test filter words name test directories", () => {
    const [block] = sectionBlocks(README, "## Development").filter((b) => b.lang === "sh");
    const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { scripts: Record<string, string> };
    for (const command of shellCommands(block!.body)) {
      const m = /^npm (?:run )?([a-z:-]+)(?: -- (.*))?$/.exec(command);
      assert.ok(m !== null, `an npm command this test knows: ${command}`);
      assert.ok(pkg.scripts[m[1]!] !== undefined, `package.json has script ${m[1]}`);
      if (m[1] === "chaos") {
        // The chaos run takes options, each of which its usage text names (chaos/run.ts).
        const usage = readFileSync(join(repoRoot, "chaos", "run.ts"), "utf8");
        for (const option of m[2]?.match(/--[a-z-]+/g) ?? []) assert.ok(usage.includes(`[${option} `), `npm run chaos knows ${option}`);
        continue;
      }
      for (const word of m[2]?.split(/\s+/) ?? []) assert.ok(existsSync(join(repoRoot, "test", word)), `test/${word} exists for "${command}"`);
    }
  });

  test("readme: the make targets it names run the CLI with CONFIG", async () => {
    const text = readFileSync(join(repoRoot, README), "utf8");
    const targets = [...text.matchAll(/`make ([a-z-]+)`/g)].map((m) => m[1]!);
    assert.ok(targets.length >= 3, `make targets named: ${targets.join(", ")}`);
    const commands = await cliCommands();
    for (const target of targets) {
      // -n prints what the target runs without running it (its `build` prerequisite would compile).
      const r = await ws.run(`make -n -C "${repoRoot}" ${target} CONFIG=/etc/vmsh`);
      assert.equal(r.code, 0, `make ${target}: ${r.stderr}`);
      const run = /^node bin\/vmsh-federation\.js --config \/etc\/vmsh ([a-z-]+)/m.exec(r.stdout);
      assert.ok(run !== null && commands.includes(run[1]!), `make ${target} runs a vmsh-federation command with CONFIG:\n${r.stdout}`);
    }
  });
});
