import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { runCli } from "../support/cli.js";
import { repoRoot } from "../support/repo-root.js";

let root: string;
let cfg: string;
const cli = (...args: string[]) => runCli(["--config", cfg, ...args]);

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vmsh-cli-small-"));
  cfg = join(root, "config");
  assert.equal((await cli("init", "--node-id", "did:vm:node:x", "--listen", "127.0.0.1:0")).code, 0);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("cli: --json everywhere, status and serve agree, the cursor comes back", () => {
  test("--json --version prints a JSON document", async () => {
    const r = await runCli(["--json", "--version"]);
    assert.equal(r.code, 0);
    const pkg = JSON.parse(await readFile(join(repoRoot, "package.json"), "utf8"));
    assert.deepEqual(JSON.parse(r.stdout), { name: "vmsh-federation", version: pkg.version });
  });

  test("--json with an argument-parser error: exit 2, the error as the JSON document on stdout", async () => {
    for (const args of [["status", "--json", "--bogus"], ["--json", "frobnicate"], ["verify-online", "--json", "--namespace"]]) {
      const r = await cli(...args);
      assert.equal(r.code, 2, args.join(" "));
      const doc = JSON.parse(r.stdout) as { error: { code: string; message: string } };
      assert.equal(doc.error.code, "USAGE");
      assert.ok(r.stderr.includes(doc.error.message), `${doc.error.message} / ${r.stderr}`);
    }
  });

  test("status refuses an unreadable TSA trust bundle the way serve does (exit 2, same message naming file and key)", async () => {
    await writeFile(join(cfg, "anchors.yaml"), "eip155: {}\nbtc: {}\nrfc3161:\n  trustBundle: certs/missing.pem\n");
    try {
      const human = await cli("status");
      assert.equal(human.code, 2, human.stderr);
      const msg = /^error: (.*)$/m.exec(human.stderr)?.[1];
      assert.match(msg ?? "", /^anchors\.yaml: rfc3161\.trustBundle: .*missing\.pem cannot be read: ENOENT/);
      const json = await cli("status", "--json");
      assert.equal(json.code, 2);
      assert.equal(JSON.parse(json.stdout).error.message, msg);
      const served = await cli("serve");
      assert.equal(served.code, 2);
      assert.equal(served.stderr.trim(), `error: ${msg}`);
    } finally {
      await writeFile(join(cfg, "anchors.yaml"), "eip155: {}\nbtc: {}\n");
    }
    assert.equal((await cli("status")).code, 0);
  });

  test("a progress bar's hidden cursor is shown again when Ctrl-C (SIGINT) ends the process", async () => {
    const guard = pathToFileURL(join(repoRoot, "dist", "commands", "cursor-guard.js")).href;
    const script = `import { guardCursor } from ${JSON.stringify(guard)};
process.stderr.write("\\x1b[?25l");
guardCursor(process.stderr);
setInterval(() => {}, 1000);
process.kill(process.pid, "SIGINT");`;
    const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr.setEncoding("utf8").on("data", (d: string) => (err += d));
    const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.on("close", (c, s) => r([c, s])));
    assert.equal(signal, "SIGINT", "the signal still ends the process");
    assert.equal(code, null);
    assert.equal(err, "\x1b[?25l\x1b[?25h");
  });
});
