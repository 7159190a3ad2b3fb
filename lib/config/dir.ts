/**
 * Where the configuration lives, without loading the parser: the command line resolves it
 * before it knows which command runs (README.md §The command line).
 */
import { resolve } from "node:path";

/**
 * The configuration directory: `--config`, else `$VMSH_CONFIG_DIR`, else `./vmsh/config` (README.md §The command line).
 * @example resolveConfigDir(undefined, process.env, process.cwd()) // "/srv/node/vmsh/config"
 */
export function resolveConfigDir(option: string | undefined, env: Readonly<Record<string, string | undefined>>, cwd: string): string {
  return resolve(cwd, option ?? (env.VMSH_CONFIG_DIR || "vmsh/config"));
}
