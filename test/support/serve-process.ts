/**
 * One real `serve` process for a test: started with its own configuration, its stderr kept,
 * the URL read from the "listening on" line, stopped with SIGTERM (SIGKILL after 10 s).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { BIN } from "./cli.js";
import { repoRoot } from "./repo-root.js";

export interface ServeProcess {
  child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** Base URL from the "listening on" line. */
  url: string;
  /** Resolves with the exit code once the process ended (SIGTERM first). */
  stop(): Promise<number | null>;
  exited: Promise<number | null>;
}

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of running) c.kill("SIGKILL");
});

/** The environment of a test child: this process's, without VMSH_* and NO_COLOR, plus `extra`. */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("VMSH_") && k !== "NO_COLOR") env[k] = v;
  return { ...env, ...extra };
}

/**
 * Starts `node <bin> <args>` (default: the repository's bin) and waits for "listening on".
 * Rejects with the process's stderr when it exits first.
 * @example const s = await startServe(["--config", dir, "serve"]); after(() => s.stop());
 */
export async function startServe(args: readonly string[], options: { bin?: string; env?: Record<string, string>; cwd?: string; timeoutMs?: number; command?: readonly string[]; uid?: number; gid?: number } = {}): Promise<ServeProcess> {
  const command = options.command ?? [process.execPath, options.bin ?? BIN];
  const child = spawn(command[0]!, [...command.slice(1), ...args], { cwd: options.cwd ?? repoRoot, env: childEnv(options.env), stdio: ["ignore", "pipe", "pipe"], ...(options.uid !== undefined ? { uid: options.uid, gid: options.gid ?? options.uid } : {}) });
  running.add(child);
  let err = "";
  child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => {
    running.delete(child);
    resolve(code);
  }));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start within ${options.timeoutMs ?? 30_000} ms:\n${err}`)), options.timeoutMs ?? 30_000);
    const check = () => {
      const m = /listening on (https?:\/\/[^\s"]+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        child.stderr!.off("data", check);
        resolve(m[1]!);
      }
    };
    child.stderr!.on("data", check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening:\n${err}`));
    });
  });
  return {
    child,
    url,
    stderr: () => err,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
        const code = await exited;
        clearTimeout(t);
        return code;
      }
      return child.exitCode;
    },
  };
}
