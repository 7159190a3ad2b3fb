/**
 * Refuses to write into a directory that belongs to another user (docs/FEDERATION_OPERATIONS.md,
 * "Deployment"): files a command run as root creates in the service's state or configuration
 * directory would be unreadable to the daemon running as the service user, which then fails on
 * every write. The fix is to run the command as the directory's owner.
 */
import { readFileSync } from "node:fs";
import { stat } from "node:fs/promises";
import { VmshError } from "../lib/errors.js";

/** The login name of `uid` from /etc/passwd, or undefined when it has none. */
export function userName(uid: number, passwd: string = readPasswd()): string | undefined {
  for (const line of passwd.split("\n")) {
    const f = line.split(":");
    if (f.length >= 3 && f[2] === String(uid) && f[0] !== "") return f[0];
  }
  return undefined;
}

function readPasswd(): string {
  try {
    return readFileSync("/etc/passwd", "utf8");
  } catch {
    return "";
  }
}

/**
 * Throws DIR_OWNER (exit 2) when `dir` exists and belongs to another user than this process.
 * `what` names the directory ("state directory"), `example` the command to suggest after
 * `sudo -u <owner> vmsh-federation`. A missing directory is fine: this process creates it.
 * @example await requireOwnDir("/var/lib/vmsh", "state directory", "--config /etc/vmsh sync …")
 */
export async function requireOwnDir(dir: string, what: string, example: string, uid: number | undefined = process.getuid?.()): Promise<void> {
  if (uid === undefined) return; // no POSIX owners on this platform
  const st = await stat(dir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === "ENOENT") return undefined;
    throw new VmshError("DIR_UNUSABLE", `${what} ${dir} cannot be examined: ${e.code ?? e.message} (is a parent directory closed to ${userName(uid) ?? `uid ${uid}`}?)`, { cause: e });
  });
  if (st === undefined || st.uid === uid) return;
  const owner = userName(st.uid);
  const ownerLabel = owner ?? `uid ${st.uid}`;
  const me = userName(uid) ?? `uid ${uid}`;
  throw new VmshError(
    "DIR_OWNER",
    `${what} ${dir} belongs to ${ownerLabel}, but this command runs as ${me}: files it wrote there would be owned by ${me} and the daemon, running as ${ownerLabel}, could not use them. ` +
      `Run it as the service user: sudo -u ${owner ?? `'#${st.uid}'`} vmsh-federation ${example}`,
  );
}
