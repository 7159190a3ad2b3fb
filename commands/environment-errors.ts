/**
 * Turns the operating system's refusals at `serve` start (a port in use, a directory the
 * process may not write) into errors that name the thing and exit 2: they are the
 * environment's problem, not a bug (docs/FEDERATION_OPERATIONS.md §Troubleshooting).
 */
import { VmshError } from "../lib/errors.js";

const WHY: Record<string, string> = {
  EADDRINUSE: "the address is already in use (another serve, or another program, listens there)",
  EADDRNOTAVAIL: "no network interface of this host has that address",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EROFS: "the file system is read-only",
  ENOSPC: "no space left on the device",
};

/**
 * The VmshError (exit 2) for a listen failure on `address`, or `error` unchanged when it is no errno refusal.
 * @example throw listenFailure(e, "127.0.0.1:8088")
 */
export function listenFailure(error: unknown, address: string): unknown {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === undefined || WHY[code] === undefined) return error;
  const hint = code === "EACCES" ? " (ports below 1024 need privileges: use 8088)" : "";
  return new VmshError("LISTEN_FAILED", `cannot listen on ${address} (federation.yaml mesh.listen.http): ${WHY[code]} [${code}]${hint}`, { cause: error });
}

/**
 * The VmshError (exit 2) for a state directory the process cannot use, or `error` unchanged.
 * @example throw stateDirFailure(e, "/var/lib/vmsh")
 */
export function stateDirFailure(error: unknown, dir: string): unknown {
  const code = (error as NodeJS.ErrnoException)?.code;
  if (code === undefined || WHY[code] === undefined) return error;
  const path = (error as NodeJS.ErrnoException).path;
  return new VmshError("STATE_UNUSABLE", `state directory ${dir} (federation.yaml mesh.state_dir) cannot be used: ${path ?? dir}: ${WHY[code]} [${code}]; it must belong to the user serve runs as`, { cause: error });
}
