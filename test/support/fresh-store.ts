/**
 * A fresh state directory and store for every test of a file or a describe block, and an import
 * context over it (lib/pipeline/import.ts `ImportContext`): anchors left pending, two imports at a
 * time, a fixed clock, the given origins' keys. Everything is removed after the last test.
 * @example const fx = useFreshStore("vmsh-import-", new Map([[origin.did, origin.key.publicKey]])); … await importBundle(NS, receipts, [], fx.ctx(), [checkpoint]); fx.store.receiptCount(NS)
 */
import type { KeyObject } from "node:crypto";
import { after, beforeEach } from "node:test";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { limitConcurrency } from "../../lib/anchors/limit.js";
import type { ImportContext } from "../../lib/pipeline/import.js";
import { openStore, type Store } from "../../lib/store/index.js";

export interface FreshStore {
  /** The current test's state directory. */
  readonly dir: string;
  /** The store open on it. */
  readonly store: Store;
  /** An import context over that store. */
  ctx(): ImportContext;
  /** Closes and removes the current directory and opens a fresh one, within a test. */
  reset(): Promise<void>;
}

export function useFreshStore(prefix: string, origins: ReadonlyMap<string, KeyObject>): FreshStore {
  let dir: string | undefined;
  let store: Store | undefined;
  const drop = async () => {
    await store?.close();
    store = undefined;
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    dir = undefined;
  };
  const reset = async () => {
    await drop();
    dir = await mkdtemp(join(tmpdir(), prefix));
    store = await openStore(dir);
  };
  beforeEach(reset);
  after(drop);
  return {
    get dir() {
      if (dir === undefined) throw new Error("useFreshStore: no test is running");
      return dir;
    },
    get store() {
      if (store === undefined) throw new Error("useFreshStore: no test is running");
      return store;
    },
    ctx: () => ({
      store: store!,
      verify: async () => ({ outcome: "pending", reason: "no verdict in test" }),
      limit: limitConcurrency(2),
      now: () => 1_800_000_000,
      origins: new Map(origins),
    }),
    reset,
  };
}
