/**
 * Configuration files of hostile size (docs/FEDERATION_OPERATIONS.md §Configuration reference): a
 * file over 1 MiB is refused by its size before it is parsed, a long value is quoted by a short
 * prefix only, and unknown-key warnings stop at 20 plus one line counting the rest. Driven
 * through the real CLI (`status --config DIR`); the state directory is left exactly as it was.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_CONFIG_FILE_BYTES } from "../../lib/config/load.js";
import { MAX_WARNINGS, SHOWN_CHARS } from "../../lib/config/problems.js";
import { openStore } from "../../lib/store/index.js";
import { runCli } from "../support/cli.js";
import { diffTrees, snapshotTree } from "./state-snapshot.js";

let root: string;
let config: string;
let state: string;
let federation: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vmsh-config-size-"));
  config = join(root, "config");
  state = join(root, "state");
  const init = await runCli(["--config", config, "init"]);
  assert.equal(init.code, 0, init.stderr);
  federation = await readFile(join(config, "federation.yaml"), "utf8");
  // A state directory with something in it, to show that a refused configuration touches none of it.
  const store = await openStore(state);
  await store.putDoc("config-size-test", { kept: true });
  await store.close();
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Writes federation.yaml, runs `status`, and returns its result and whether config or state changed. */
async function statusWith(text: string): Promise<{ code: number | null; stdout: string; stderr: string; changed: string[] }> {
  await writeFile(join(config, "federation.yaml"), text);
  const before0 = await snapshotTree(root);
  const r = await runCli(["status", "--config", config]);
  return { ...r, changed: diffTrees(before0, await snapshotTree(root)) };
}

describe("hardening: configuration files of hostile size", () => {
  test("config size: a 2 MiB federation.yaml is refused by its size with exit 2 and a message naming the file; nothing changes", async () => {
    const padded = `${federation}\n#${"x".repeat(2 * 1024 * 1024 - Buffer.byteLength(federation) - 3)}\n`;
    assert.equal(Buffer.byteLength(padded), 2 * 1024 * 1024);
    const r = await statusWith(padded);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `error: federation.yaml: 2097152 bytes is more than the 1 MiB (${MAX_CONFIG_FILE_BYTES} bytes) a configuration file may hold (${join(config, "federation.yaml")})\n`);
    assert.equal(r.stdout, "");
    assert.deepEqual(r.changed, []);
  });

  test("config size: a file of exactly 1 MiB is read (the bound is inclusive)", async () => {
    const padded = `${federation}\n#${"x".repeat(MAX_CONFIG_FILE_BYTES - Buffer.byteLength(federation) - 3)}\n`;
    assert.equal(Buffer.byteLength(padded), MAX_CONFIG_FILE_BYTES);
    const r = await statusWith(padded);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(r.changed, []);
  });

  test("config size: a 64 KB scalar is quoted by its first 64 characters and '…', never whole", async () => {
    const long = `did:vm:node:${"a".repeat(64 * 1024)}`;
    const r = await statusWith(federation.replace('"did:vm:node:vm"', JSON.stringify(long)));
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stderr, `error: federation.yaml: mesh.node_id: expected a DID such as "did:vm:node:vm-spawn-a", got ${JSON.stringify(`${long.slice(0, SHOWN_CHARS)}…`)}\n`);
    assert.deepEqual(r.changed, []);
  });

  test("config size: a 64 KB key is quoted by its first 64 characters in the warning that names it", async () => {
    const key = "k".repeat(64 * 1024);
    const r = await statusWith(`${federation}\n${key}: 1\n`);
    assert.equal(r.code, 0, r.stderr);
    const warning = r.stderr.split("\n").find((l) => l.includes("unknown key"));
    assert.equal(warning, `warning: federation.yaml: ${JSON.stringify(`${key.slice(0, SHOWN_CHARS)}…`)}: unknown key (known here: mesh, namespaces, anti_entropy, explorer, governance)`);
    assert.ok(r.stderr.length < 1_000, `stderr is ${r.stderr.length} characters`);
  });

  test("config size: 1,000 unknown keys give 20 warnings and one line counting the other 980", async () => {
    const junk = Array.from({ length: 1000 }, (_, i) => `junk${i}: 1\n`).join("");
    const r = await statusWith(`${federation}\n${junk}`);
    assert.equal(r.code, 0, r.stderr);
    const warnings = r.stderr.split("\n").filter((l) => l.startsWith("warning: "));
    const unknown = warnings.filter((l) => l.includes("unknown key"));
    assert.equal(unknown.length, MAX_WARNINGS);
    assert.equal(unknown[0], "warning: federation.yaml: junk0: unknown key (known here: mesh, namespaces, anti_entropy, explorer, governance)");
    assert.ok(warnings.includes(`warning: … and ${1000 - MAX_WARNINGS} more warnings`), warnings.join("\n"));
    assert.deepEqual(r.changed, []);
  });
});
