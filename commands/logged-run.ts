/**
 * For `serve --log-format json`: an error that ends the run is written as one JSON log line
 * (level "error", its code) instead of a plain `error:` line, so a journald pipeline sees only
 * JSON, and the exit code is the one main() would give (docs/FEDERATION_OPERATIONS.md §Monitoring).
 */
import { VmshError } from "../lib/errors.js";
import { exitCodeFor } from "./exit-codes.js";
import type { Logger } from "../lib/federation/log.js";

/**
 * Runs `fn`; a thrown error is logged on `log` and turned into its exit code (2 configuration
 * or environment, else the error's own; 1 for an unexpected error).
 * @example return runLogged(() => runServe(ctx, log), log)
 */
export async function runLogged(fn: () => Promise<number>, log: Logger): Promise<number> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof VmshError) {
      log.error(error.message, { code: error.code });
      return exitCodeFor(error.code);
    }
    log.error(`internal error: ${error instanceof Error ? error.message : String(error)}`, { code: "INTERNAL" });
    return 1;
  }
}
