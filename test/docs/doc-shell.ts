/**
 * Runs a documented command the way a reader would: through `sh -c`, in a scratch
 * directory where `bin/` points at this checkout's `bin/`, so `node bin/vmsh-federation.js …`
 * works exactly as written. Long-running commands (`serve`, `npm start`) start in their own
 * process group, so stopping one is a Ctrl-C to the whole group, as a terminal sends it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { repoRoot } from "../support/repo-root.js";

export interface ShellResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Workspace {
  dir: string;
  /** Stops every background command still running, then removes the directory. */
  cleanup(): Promise<void>;
  run(command: string, options?: { env?: Record<string, string>; cwd?: string; timeoutMs?: number }): Promise<ShellResult>;
  start(command: string, options?: { env?: Record<string, string>; cwd?: string }): Background;
}

export interface Background {
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Resolves with the first output match of `pattern`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Sends `signal` to the process group and resolves the shell's exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  exited: Promise<number | null>;
}

/** The environment a reader's shell would have: this Node first on PATH, no VMSH_* or NO_COLOR from the test's own. */
function shellEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith("VMSH_") && k !== "NO_COLOR") env[k] = v;
  env.PATH = `${dirname(process.execPath)}${delimiter}${env.PATH ?? ""}`;
  // npm must not ask the registry whether it is out of date: tests talk to loopback only.
  env.npm_config_update_notifier = "false";
  return { ...env, ...extra };
}

/**
 * A scratch directory with `bin` linked to the checkout's `bin/` (Node resolves the link,
 * so the program's `../dist` imports land in this checkout).
 * @example const ws = await workspace(); after(() => ws.cleanup()); await ws.run("node bin/vmsh-federation.js --help")
 */
export async function workspace(): Promise<Workspace> {
  const dir = await mkdtemp(join(tmpdir(), "vmsh-docs-"));
  await symlink(join(repoRoot, "bin"), join(dir, "bin"));
  const background = new Set<Background>();
  return {
    dir,
    async cleanup() {
      await Promise.all([...background].map((b) => b.stop("SIGKILL")));
      await rm(dir, { recursive: true, force: true });
    },
    run(command, options = {}) {
      return new Promise((resolve, reject) => {
        const child = spawn("sh", ["-c", command], { cwd: options.cwd ?? dir, env: shellEnv(options.env), stdio: ["ignore", "pipe", "pipe"] });
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
        child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
        const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 60_000);
        child.on("error", reject);
        child.on("close", (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
      });
    },
    start(command, options = {}) {
      const b = startInGroup(command, options.cwd ?? dir, shellEnv(options.env));
      background.add(b);
      b.exited.then(() => background.delete(b), () => undefined);
      return b;
    },
  };
}

function startInGroup(command: string, cwd: string, env: Record<string, string>): Background {
  const child: ChildProcess = spawn("sh", ["-c", command], { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let text = "";
  const waiters: Array<{ pattern: RegExp; resolve: (m: RegExpExecArray) => void }> = [];
  const onData = (d: string) => {
    text += d;
    for (const w of [...waiters]) {
      const m = w.pattern.exec(text);
      if (m !== null) (waiters.splice(waiters.indexOf(w), 1), w.resolve(m));
    }
  };
  child.stdout!.setEncoding("utf8").on("data", onData);
  child.stderr!.setEncoding("utf8").on("data", onData);
  let done = false;
  const exited = new Promise<number | null>((resolve) => child.once("close", (code, signal) => ((done = true), resolve(code ?? (signal ? 128 : null)))));
  return {
    output: () => text,
    exited,
    waitFor(pattern, timeoutMs = 30_000) {
      const m = pattern.exec(text);
      if (m !== null) return Promise.resolve(m);
      return new Promise((resolve, reject) => {
        const w = { pattern, resolve: (x: RegExpExecArray) => (clearTimeout(t), resolve(x)) };
        const t = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`\`${command}\` printed nothing matching ${pattern} within ${timeoutMs} ms:\n${text.slice(-2000)}`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    async stop(signal = "SIGINT") {
      if (!done && child.pid !== undefined) {
        try {
          process.kill(-child.pid, signal);
        } catch {
          // The group is already gone.
        }
      }
      return exited;
    },
  };
}
