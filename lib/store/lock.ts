/**
 * The inter-process write lock of one state directory (docs/STATE.md): `LOCK`
 * is created with O_EXCL and holds the owner's pid, host and process start
 * time. It is held only for one write transaction. A lock whose owner is dead
 * (or whose pid now belongs to another process) is stale and is broken under a
 * second O_EXCL guard file, so two processes breaking it at once cannot delete
 * a fresh lock.
 */
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { open, readFile, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { StoreError } from "../errors.js";

/** What a lock file says about its holder. */
export interface LockOwner {
  pid: number;
  host: string;
  /** Linux: the process start time from /proc/<pid>/stat, so a reused pid is not mistaken for the owner. */
  procStart?: string;
  acquiredAt: number;
  token: string;
}

/** A held lock; `release` removes it if it is still ours. */
export interface HeldLock {
  readonly owner: LockOwner;
  release(): Promise<void>;
}

/** An empty or garbled lock file (creator died between create and write) is stale after this long. */
const GARBLED_STALE_MS = 5_000;

function procStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the parenthesised command name start at field 3; starttime is field 22.
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as LockOwner;
    return Number.isSafeInteger(o.pid) && typeof o.host === "string" && typeof o.token === "string" ? o : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True while the process named by `owner` may still be running.
 * @example ownerAlive({ pid: process.pid, host: hostname(), acquiredAt: 0, token: "t" }) // true
 */
export function ownerAlive(owner: LockOwner): boolean {
  // Another host's pid cannot be checked from here: assume it is alive.
  if (owner.host !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ESRCH") return false;
  }
  const now = procStart(owner.pid);
  return owner.procStart === undefined || now === undefined || now === owner.procStart;
}

async function tryCreate(path: string, owner: LockOwner): Promise<boolean> {
  let handle;
  try {
    handle = await open(path, "wx", 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw new StoreError("STATE_UNWRITABLE", `cannot create lock ${path}: ${(err as Error).message}`, { path, cause: err });
  }
  try {
    await handle.writeFile(JSON.stringify(owner), "utf8");
  } finally {
    await handle.close();
  }
  return true;
}

/** Reads a lock file: the raw text, its owner if parseable, and whether it is stale. */
async function inspect(path: string): Promise<{ text: string; owner?: LockOwner; stale: boolean } | undefined> {
  try {
    const [text, info] = await Promise.all([readFile(path, "utf8"), stat(path)]);
    const owner = parseOwner(text);
    if (owner === undefined) return { text, stale: Date.now() - info.mtimeMs > GARBLED_STALE_MS };
    return { text, owner, stale: !ownerAlive(owner) };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** Removes a stale lock whose text is still `staleText`, serialised by the guard file. */
async function breakStale(path: string, staleText: string, me: LockOwner): Promise<void> {
  const guard = `${path}.break`;
  if (!(await tryCreate(guard, me))) {
    const g = await inspect(guard);
    if (g?.stale === true) await unlink(guard).catch(() => undefined);
    return;
  }
  try {
    const now = await inspect(path);
    if (now !== undefined && now.text === staleText) await unlink(path).catch(() => undefined);
  } finally {
    await unlink(guard).catch(() => undefined);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Takes the lock at `path`, waiting while a live process holds it.
 * Throws StoreError STATE_LOCKED naming the holder after `timeoutMs`.
 * @example
 * const lock = await acquireLock("/var/lib/vmsh/LOCK");
 * try { … } finally { await lock.release(); }
 */
export async function acquireLock(path: string, options: { timeoutMs?: number } = {}): Promise<HeldLock> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const started = Date.now();
  const ps = procStart(process.pid);
  const owner: LockOwner = { pid: process.pid, host: hostname(), acquiredAt: 0, token: randomBytes(8).toString("hex"), ...(ps === undefined ? {} : { procStart: ps }) };
  for (let attempt = 0; ; attempt++) {
    owner.acquiredAt = Date.now();
    if (await tryCreate(path, owner)) {
      return {
        owner,
        async release() {
          const held = await inspect(path).catch(() => undefined);
          if (held?.owner?.token === owner.token) await unlink(path).catch(() => undefined);
        },
      };
    }
    const held = await inspect(path);
    if (held?.stale === true) {
      await breakStale(path, held.text, owner);
      await sleep(1);
      continue;
    }
    if (Date.now() - started > timeoutMs) {
      const who = held?.owner === undefined ? "an unknown process" : `pid ${held.owner.pid} on ${held.owner.host} since ${new Date(held.owner.acquiredAt).toISOString()}`;
      throw new StoreError("STATE_LOCKED", `state directory is locked by ${who} (${path}); if no vmsh-federation process is using it, remove that file`, { path });
    }
    await sleep(Math.min(50, 2 + attempt * 2) * (0.5 + Math.random()));
  }
}
