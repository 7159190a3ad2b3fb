/**
 * Readiness for systemd's `Type=notify` (docs/FEDERATION_OPERATIONS.md §Deployment): when
 * $NOTIFY_SOCKET is set, `systemd-notify` sends the state to it. Node has no AF_UNIX datagram
 * sockets, and this keeps the package dependency-free; the unit sets `NotifyAccess=all` so the
 * helper's message is accepted, and systemd-notify (≥ 246) waits until the manager has read it.
 */
import { spawn } from "node:child_process";

export interface NotifyLog {
  warn(message: string, fields?: Record<string, unknown>): void;
}

/**
 * Sends `assignments` (e.g. `READY=1`, `STATUS=…`) to $NOTIFY_SOCKET; resolves once sent, or
 * at once when the variable is unset. A failure is logged, never thrown: the daemon keeps running.
 * @example await notifySystemd(["READY=1", "STATUS=listening on http://127.0.0.1:8088"], process.env, log)
 */
export function notifySystemd(assignments: readonly string[], env: Readonly<Record<string, string | undefined>>, log: NotifyLog, binary = "systemd-notify"): Promise<void> {
  const socket = env.NOTIFY_SOCKET;
  if (socket === undefined || socket === "") return Promise.resolve();
  return new Promise((resolve) => {
    const child = spawn(binary, [...assignments], { stdio: ["ignore", "ignore", "pipe"], env: { ...env, NOTIFY_SOCKET: socket } as NodeJS.ProcessEnv });
    let err = "";
    child.stderr!.setEncoding("utf8").on("data", (d: string) => (err += d));
    child.on("error", (e: NodeJS.ErrnoException) => {
      log.warn(`NOTIFY_SOCKET is set but ${binary} could not be run; systemd will not see the daemon as started`, { error: e.code ?? e.message });
      resolve();
    });
    child.on("close", (code) => {
      if (code !== 0) log.warn(`${binary} failed to notify systemd`, { exit: code, error: err.trim().slice(0, 300) });
      resolve();
    });
  });
}
