/**
 * Test support: starts test/store/store-writer as a real child process, from
 * the TypeScript sources (through tsx) or from dist/ when the tests run compiled.
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(import.meta.url);
const fromSource = here.endsWith(".ts");

/** Spawns the store writer with `args`; stdout/stderr are piped. */
export function spawnWriter(args: string[]): ChildProcessWithoutNullStreams {
  const script = join(dirname(here), fromSource ? "store-writer.ts" : "store-writer.js");
  return spawn(process.execPath, [...(fromSource ? ["--import", "tsx"] : []), script, ...args], { stdio: "pipe" });
}

/** Resolves with the exit code and everything the child printed. */
export function finished(child: ChildProcessWithoutNullStreams): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  return new Promise((resolve) => child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr })));
}
