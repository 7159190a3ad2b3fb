/**
 * Runs the real `bin/vmsh-federation.js` (the compiled program) as a child process.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { repoRoot } from "./repo-root.js";

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export const BIN = join(repoRoot, "bin", "vmsh-federation.js");

/** Runs the CLI with `args`, an environment without NO_COLOR/VMSH_* unless given, and a time limit. */
export function runCli(args: readonly string[], options: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("VMSH_") && k !== "NO_COLOR") env[k] = v;
  Object.assign(env, options.env);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: options.cwd ?? repoRoot, env, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 30_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
