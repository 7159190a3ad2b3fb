import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Command, Help } from "commander";
import { COMMANDS, commandIn } from "../../commands/registry.js";
import { main } from "../../commands/main.js";

/** A captured run of main() in this process. */
async function capture(argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env: {}, cwd: "/nonexistent" };
  const code = await main(argv, io);
  return { code, stdout, stderr };
}

describe("cli: the lazy command table (commands/registry.ts)", () => {
  test("every row's term and summary are what its module builds, so --help lists each command as it is", async () => {
    const help = new Help();
    for (const [name, row] of Object.entries(COMMANDS)) {
      const cmd: Command = (await row.load())(async () => {});
      assert.equal(cmd.name(), name);
      assert.equal(row.summary, cmd.description(), `${name}: summary`);
      assert.equal(row.term, help.subcommandTerm(cmd), `${name}: term`);
    }
  });

  test("commandIn finds the one command to load past global options, and none for the program's own help", () => {
    assert.equal(commandIn(["status", "--json"]), "status");
    assert.equal(commandIn(["--config", "status", "--json"]), undefined, "status is --config's value here");
    assert.equal(commandIn(["--config", "/etc/vmsh", "--json", "sync", "--namespace", "x"]), "sync");
    assert.equal(commandIn(["help", "verify-online"]), "verify-online");
    assert.equal(commandIn(["--json", "help"]), undefined);
    assert.equal(commandIn(["--help"]), undefined);
    assert.equal(commandIn(["statsu"]), undefined);
    assert.equal(commandIn(["--", "status"]), undefined);
    assert.equal(commandIn(["toString"]), undefined, "only the table's own names");
  });

  test("a command's own help, and `help <command>`, show its options though only that module was loaded", async () => {
    for (const argv of [["announce", "--help"], ["help", "announce"]]) {
      const r = await capture(argv);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Usage: vmsh-federation announce \[options\]/);
      assert.match(r.stdout, /--namespace/);
    }
  });

  test("a misspelt command is still refused with the suggestion from the table's names (exit 2)", async () => {
    const r = await capture(["statsu"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /unknown command 'statsu'/);
    assert.match(r.stderr, /Did you mean status\?/);
  });
});
