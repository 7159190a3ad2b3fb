/**
 * The origin log on disk (docs/STATE.md §Origin log): appends survive a reopen and are not
 * repeated, a tampered head or tile is STATE_CORRUPT and left as it is, fork evidence is capped
 * per log, and a peer's oversized `/log/` answer is not read past the bound.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { signCheckpoint } from "../../lib/messages/checkpoint.js";
import { originLogDir } from "../../lib/origin-log/files.js";
import { OriginLog } from "../../lib/origin-log/origin-log.js";
import { readLimited } from "../../lib/federation/origin-log.js";
import { MAX_FORKS_PER_LOG, WitnessState } from "../../lib/origin-log/witness-state.js";

const did = "did:vm:node:a";
const key = generateNodeKey();
const cp = (i: number) => signCheckpoint({ namespace: "dao:x", origin: did, batchId: `b-${i}`, batchRoot: `sha256:${"1".repeat(63)}${i % 10}`, tree: "rfc9162-sha256", size: 4, createdAt: 1_760_000_000 + i, ts: 1_760_000_000 + i }, key.privateKey);

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "vmsh-origin-log-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("OriginLog files", () => {
  test("appends survive a reopen; a checkpoint already logged is not appended again", async () => {
    await withDir(async (dir) => {
      const log = await OriginLog.open(dir, did, key);
      assert.equal(await log.append([cp(0), cp(1), cp(0)]), 2);
      assert.equal(await log.append([cp(1)]), 0);
      const again = await OriginLog.open(dir, did, key);
      assert.equal(again.size, 2);
      assert.equal(again.note, log.note);
      assert.equal(await again.append([cp(2)]), 1);
      await log.refresh();
      assert.equal(log.size, 3, "another handle sees the append");
    });
  });

  test("a head signed by another key, or tiles that do not give its root, are STATE_CORRUPT and left untouched", async () => {
    await withDir(async (dir) => {
      const log = await OriginLog.open(dir, did, key);
      await log.append([cp(0), cp(1), cp(2)]);
      await assert.rejects(OriginLog.open(dir, did, generateNodeKey()), (e: Error & { code?: string }) => e.code === "STATE_CORRUPT" && /not this node's signed log head/.test(e.message));
      const tile = join(originLogDir(dir), "tile", "0", "000.p", "3");
      const bytes = await readFile(tile);
      bytes[5]! ^= 1;
      await writeFile(tile, bytes);
      await assert.rejects(OriginLog.open(dir, did, key), (e: Error & { code?: string }) => e.code === "STATE_CORRUPT" && /root hash differs/.test(e.message));
      assert.deepEqual(await readFile(tile), bytes, "nothing was repaired");
    });
  });
});

describe("WitnessState", () => {
  test(`at most ${MAX_FORKS_PER_LOG} forks are kept per log; a repeated one is not stored twice`, async () => {
    await withDir(async (dir) => {
      const w = new WitnessState(dir);
      const fork = (i: number) => ({ kind: "same-size" as const, origin: "vmsh-federation/log/x", cosigned: "a\n", offered: `b${i}\n`, proof: [] });
      assert.equal(await w.keepFork(fork(0)), true);
      assert.equal(await w.keepFork(fork(0)), false);
      for (let i = 1; i < MAX_FORKS_PER_LOG + 5; i++) await w.keepFork(fork(i));
      assert.equal((await w.forks()).length, MAX_FORKS_PER_LOG);
      assert.equal(await w.keepFork({ ...fork(99), origin: "vmsh-federation/log/y" }), true, "another log has its own allowance");
    });
  });
});

describe("readLimited", () => {
  test("an answer over the bound is undefined, with or without Content-Length; one within it is read", async () => {
    const big = "x".repeat(200_000);
    const server = createServer((req, res) => {
      if (req.url === "/declared") res.writeHead(200, { "content-length": big.length }).end(big);
      else if (req.url === "/chunked") {
        res.writeHead(200);
        for (let i = 0; i < 20; i++) res.write(big.slice(0, 10_000));
        res.end();
      } else res.end("small\n");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      assert.equal(await readLimited(await fetch(`${url}/declared`)), undefined);
      assert.equal(await readLimited(await fetch(`${url}/chunked`)), undefined);
      assert.equal(await readLimited(await fetch(`${url}/small`)), "small\n");
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
