/**
 * The inter-process write lock (lib/store/lock.ts, docs/STATE.md): waits for a
 * live holder, breaks a dead one's lock, names the holder when it gives up.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { StoreError } from "../../lib/errors.js";
import { acquireLock, ownerAlive } from "../../lib/store/lock.js";
import { openStore } from "../../lib/store/index.js";
import { sampleBatch } from "./sample.js";
import { tempDir } from "./tree.js";

const cleanups: Array<() => void> = [];
after(() => cleanups.forEach((c) => c()));
function fresh(): string {
  const t = tempDir("vmsh-lock-");
  cleanups.push(t.cleanup);
  return t.dir;
}

/** The pid of a process that has already exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  return Number(r.stdout);
}

const owner = (fields: Record<string, unknown>) => JSON.stringify({ pid: process.pid, host: hostname(), acquiredAt: Date.now(), token: "someone-else", ...fields });

describe("store lock", () => {
  test("acquireLock: creates LOCK with this process as owner and release removes it", async () => {
    const path = join(fresh(), "LOCK");
    const lock = await acquireLock(path);
    assert.equal(JSON.parse(readFileSync(path, "utf8")).pid, process.pid);
    await lock.release();
    assert.equal(existsSync(path), false);
  });

  test("acquireLock: breaks the lock of a process that no longer exists", async () => {
    const dir = fresh();
    const store = await openStore(dir);
    const path = join(dir, "LOCK");
    writeFileSync(path, owner({ pid: deadPid() }));
    await store.putBatch(sampleBatch({ batchId: "b1", size: 1 }));
    assert.equal(existsSync(path), false);
    assert.equal(store.counts().batches, 1);
    await store.close();
  });

  test("acquireLock: a live holder makes a write wait, then fail with STATE_LOCKED naming its pid", async () => {
    const dir = fresh();
    const store = await openStore(dir, { lockTimeoutMs: 150 });
    const path = join(dir, "LOCK");
    writeFileSync(path, owner({}));
    await assert.rejects(store.putDoc("x", 1), (e: unknown) => e instanceof StoreError && e.code === "STATE_LOCKED" && e.message.includes(`pid ${process.pid}`) && e.path === path);
    assert.equal(JSON.parse(readFileSync(path, "utf8")).token, "someone-else");
    await store.close();
  });

  test("acquireLock: a fresh unreadable lock is respected, an old one is broken", async () => {
    const path = join(fresh(), "LOCK");
    writeFileSync(path, "");
    await assert.rejects(acquireLock(path, { timeoutMs: 100 }), (e: unknown) => e instanceof StoreError && e.code === "STATE_LOCKED");
    const old = new Date(Date.now() - 60_000);
    utimesSync(path, old, old);
    const lock = await acquireLock(path, { timeoutMs: 1_000 });
    await lock.release();
  });

  test("ownerAlive: a reused pid (other process start time) is not the owner", () => {
    const me = JSON.parse(owner({})) as Parameters<typeof ownerAlive>[0];
    assert.equal(ownerAlive(me), true);
    assert.equal(ownerAlive({ ...me, pid: deadPid() }), false);
    if (existsSync(`/proc/${process.pid}/stat`)) assert.equal(ownerAlive({ ...me, procStart: "1" }), false);
    assert.equal(ownerAlive({ ...me, host: "another-host.invalid", pid: deadPid() }), true);
  });
});
