/**
 * The version is told once (package.json, read by lib/version.ts) and truthfully everywhere:
 * CHANGELOG.md has a section for it, no message hard-codes another release, and a state
 * directory of a newer format stops every command with a non-zero exit (docs/STATE.md §Format version).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { repoRoot } from "../support/repo-root.js";
import { runCli } from "../support/cli.js";
import { VERSION } from "../../lib/version.js";

const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as { version: string };

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(repoRoot, dir))) {
    const rel = join(dir, name);
    if (statSync(join(repoRoot, rel)).isDirectory()) out.push(...sources(rel));
    else if (/\.(ts|mjs|html)$/.test(name)) out.push(rel);
  }
  return out;
}

describe("version", () => {
  test("lib/version.ts reads package.json's version", () => {
    assert.equal(VERSION, pkg.version);
  });

  test("CHANGELOG.md: the newest section is this version, and every release has its own", () => {
    const headings = [...readFileSync(join(repoRoot, "CHANGELOG.md"), "utf8").matchAll(/^## \[([^\]]+)\]/gm)].map((m) => m[1]);
    assert.equal(headings[0], pkg.version, "the first section names the package's version (no [Unreleased] above it)");
    for (const v of ["0.2.0", "0.1.0"]) assert.ok(headings.includes(v), `a section for ${v}`);
    assert.equal(new Set(headings).size, headings.length, "one section per version");
  });

  test("no message in lib/, commands/, web/ or scripts/ names a release by number", () => {
    const hits = ["lib", "commands", "web", "scripts"].flatMap(sources).filter((f) => /vmsh-federation v?\d+\.\d+\.\d+/.test(readFileSync(join(repoRoot, f), "utf8")));
    assert.deepEqual(hits, []);
  });

  test("--version prints package.json's version", async () => {
    const r = await runCli(["--version"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), pkg.version);
  });
});

describe("a state directory of a newer format", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "vmsh-future-"));
    const init = await runCli(["--config", join(dir, "config"), "init", "--node-id", "did:vm:node:future", "--listen", "127.0.0.1:0"]);
    assert.equal(init.code, 0, init.stderr);
    // What a later build would leave behind after an upgrade (docs/STATE.md §Format version).
    await mkdir(join(dir, "state"), { recursive: true });
    await writeFile(join(dir, "state", "FORMAT"), `${JSON.stringify({ format: "vmsh-federation-state", version: 99 })}\n`);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const args of [["status"], ["status", "--json"], ["sync", "--namespace", "dao:vaultmesh"], ["verify-online"], ["serve"]]) {
    test(`${args.join(" ")} exits non-zero and says to upgrade`, async () => {
      const before = readFileSync(join(dir, "state", "FORMAT"), "utf8");
      const r = await runCli(["--config", join(dir, "config"), ...args], { timeoutMs: 60_000 });
      assert.notEqual(r.code, 0, r.stdout + r.stderr);
      assert.ok(r.code !== null, "it exits by itself");
      assert.match(r.stdout + r.stderr, /format version 99; this build reads version \d+: upgrade vmsh-federation/);
      assert.equal(readFileSync(join(dir, "state", "FORMAT"), "utf8"), before, "FORMAT is left as it was");
    });
  }
});
