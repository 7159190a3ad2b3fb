/**
 * The command line's policy for errors: which exit code each error code means (0 success,
 * 1 a verification or a peer failed, 2 usage, configuration or environment; README "The
 * command line"), and what a person at the terminal should do next. lib/ only says what went
 * wrong; this table decides what the user is told and with which code.
 */
import type { ErrorCode, VmshError } from "../lib/errors.js";

/** Codes that mean "fix the invocation, the configuration or the machine", exit 2. The rest exit 1. */
const EXIT_2: ReadonlySet<ErrorCode> = new Set<ErrorCode>(["CONFIG_INVALID", "USAGE", "KEY_EXISTS", "INIT_EXISTS", "SEALER_FILE_UNREADABLE", "SEALER_FILE_INVALID", "LISTEN_FAILED", "STATE_UNUSABLE", "DIR_UNUSABLE", "DIR_OWNER"]);

/** The exit code for an error of ours. */
export function exitCodeFor(code: ErrorCode): 1 | 2 {
  return EXIT_2.has(code) ? 2 : 1;
}

/**
 * The message shown for `error`, with the next step a person at the terminal can take.
 * @example message(new VmshError("KEY_EXISTS", "keys/node.key already exists"), "/etc/vmsh")
 */
export function messageFor(error: VmshError, configDir: string): string {
  switch (error.code) {
    case "KEY_EXISTS":
      return `${error.message}; pass --force to replace the node's key (peers must then be given the new key line)`;
    case "INIT_EXISTS":
      return `${error.message}; pass --force to make a new identity (peers must then be given the new key line)`;
    case "CONFIG_INVALID":
      // lib marks a missing file or key with details "missing" (lib/config/load.ts, lib/identity/key-file.ts).
      return error.details === "missing" ? `${error.message} (create it with \`vmsh-federation init --config ${configDir}\`)` : error.message;
    default:
      return error.message;
  }
}
