/**
 * The program: global options, the subcommands, and the one place that maps errors to
 * exit codes (0 success, 1 verification or peer failure, 2 usage or configuration;
 * the table is commands/exit-codes.ts, README "The command line").
 */
import { Command, CommanderError } from "commander";
import { VmshError } from "../lib/errors.js";
import { VERSION } from "../lib/version.js";
import { exitCodeFor, messageFor } from "./exit-codes.js";
import { resolveConfigDir } from "../lib/config/load.js";
import { makeContext, type CommandContext, type GlobalOptions } from "./context.js";
import { initCommand } from "./init.js";
import { makePrinter, type Io } from "./output.js";
import { statusCommand } from "./status.js";
import { announceCommand } from "./announce.js";
import { verifyOnlineCommand } from "./verify-online.js";
import { serveCommand } from "./serve.js";
import { syncCommand } from "./sync.js";
import { verifyProofCommand } from "./verify-proof.js";
import { rosterCommand } from "./roster.js";

export const defaultIo: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };

/**
 * Runs the CLI with `argv` (without node and script) and resolves to the exit code.
 * @example process.exitCode = await main(["status", "--json"])
 */
export async function main(argv: readonly string[], io: Io = defaultIo): Promise<number> {
  if (argv.includes("--json") && (argv.includes("--version") || argv.includes("-V"))) {
    io.stdout.write(`${JSON.stringify({ name: "vmsh-federation", version: VERSION }, null, 2)}\n`);
    return 0;
  }
  let exitCode = 0;
  let globals: GlobalOptions = {};
  const program = new Command("vmsh-federation")
    .description("Federate VaultMesh Remembrancer nodes: gossip sealed batches and anchors, re-verify every foreign anchor locally.")
    .version(VERSION, "-V, --version")
    .option("--config <dir>", "configuration directory (default: $VMSH_CONFIG_DIR, else ./vmsh/config)")
    .option("--json", "print one JSON document to stdout and nothing else there")
    .option("--no-color", "no colour, even on a terminal (NO_COLOR is honoured too)")
    .showHelpAfterError("(run with --help for usage)")
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) })
    .exitOverride()
    .addHelpText(
      "after",
      `
Global options work before or after the command. Exit codes: 0 success, 1 a verification
or a peer failed, 2 usage or configuration error.

Examples:
  $ vmsh-federation init --node-id did:vm:node:vm-spawn-a
  $ vmsh-federation status --json
  $ vmsh-federation --config /etc/vmsh status\n`,
    );

  const run = async (fn: (ctx: CommandContext) => Promise<number>): Promise<void> => {
    exitCode = await fn(makeContext(io, globals));
  };
  for (const make of [initCommand, statusCommand, announceCommand, syncCommand, verifyOnlineCommand, verifyProofCommand, serveCommand, rosterCommand]) {
    const cmd = make(run);
    cmd.copyInheritedSettings(program);
    cmd.hook("preAction", (_this, actionCommand) => {
      globals = actionCommand.optsWithGlobals<GlobalOptions>();
    });
    program.addCommand(cmd);
  }

  try {
    await program.parseAsync([...argv], { from: "user" });
    return exitCode;
  } catch (error) {
    return reportError(error, io, globals, argv);
  }
}

function reportError(error: unknown, io: Io, globals: GlobalOptions, argv: readonly string[]): number {
  if (error instanceof CommanderError) {
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version" || error.code === "commander.help") return 0;
    // commander already printed the message to stderr; a --json run also gets it as the JSON document.
    if (argv.includes("--json")) io.stdout.write(`${JSON.stringify({ error: { code: "USAGE", message: error.message.replace(/^error: /, "") } }, null, 2)}\n`);
    return 2;
  }
  const json = globals.json === true || argv.includes("--json");
  const out = makePrinter(io, { json, color: globals.color !== false });
  if (error instanceof VmshError) {
    const message = messageFor(error, resolveConfigDir(globals.config, io.env, io.cwd));
    if (json) out.document({ error: { code: error.code, message } });
    out.error(message);
    return exitCodeFor(error.code);
  }
  // Not one of ours: a bug. Say so plainly; the stack goes to stderr only with VMSH_DEBUG.
  const message = error instanceof Error ? error.message : String(error);
  if (json) out.document({ error: { code: "INTERNAL", message } });
  out.error(`internal error: ${message}`);
  if (io.env.VMSH_DEBUG && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  return 1;
}
