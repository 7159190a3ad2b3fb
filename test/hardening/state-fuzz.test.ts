/**
 * State fuzzing (docs/STATE.md §Reads: never repaired): a batch file, a namespace meta.json, FORMAT or a
 * document file truncated, overwritten with garbage, or replaced by JSON of the wrong shape.
 * Opening the store (read-write and read-only) and reading through it fails with an error that
 * names the file, never a stack trace, and no file is rewritten, deleted or added.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { propertySeed } from "../support/property-seed.js";
import { StoreError } from "../../lib/errors.js";
import { openStore } from "../../lib/store/index.js";
import { runCli } from "../support/cli.js";
import { sampleBatch } from "../store/sample.js";
import { diffTrees, snapshotTree } from "./state-snapshot.js";

const SEED = propertySeed();

const NS = "dao:vaultmesh";
const STACK = /\n\s+at |node:internal|\.[cm]?[jt]s:\d+/;

let root: string;
let pristine: string;
/** Relative paths of the state's files, by what they are. */
let files: Record<"batch" | "meta" | "format" | "doc", string>;

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vmsh-state-fuzz-"));
  pristine = join(root, "pristine");
  const store = await openStore(pristine);
  await store.putBatch(sampleBatch({ namespace: NS, batchId: "b1", size: 4 }));
  await store.putDoc("sync", { peers: { "did:vm:node:b": 1 } });
  await store.close();
  const all = [...(await snapshotTree(pristine))].filter(([, v]) => v !== "dir").map(([p]) => p);
  const find = (test: (p: string) => boolean, what: string): string => {
    const p = all.find(test);
    assert.ok(p, `no ${what} in ${all.join(", ")}`);
    return p;
  };
  files = {
    batch: find((p) => p.includes("/batches/"), "batch file"),
    meta: find((p) => p.endsWith("meta.json"), "meta.json"),
    format: find((p) => p === "FORMAT", "FORMAT"),
    doc: find((p) => p.includes("/docs/"), "doc file"),
  };
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Ways to damage a file's bytes; each result differs from the original. */
const damage: fc.Arbitrary<[string, (bytes: Buffer) => Buffer]> = fc.oneof(
  fc.nat().map((n): [string, (b: Buffer) => Buffer] => ["truncated", (b) => b.subarray(0, n % b.length)]),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((g): [string, (b: Buffer) => Buffer] => ["garbage", () => Buffer.from(g)]),
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([n, x]): [string, (b: Buffer) => Buffer] => [
    "one byte changed",
    (b) => {
      const c = Buffer.from(b);
      c[n % c.length]! ^= x;
      return c;
    },
  ]),
  fc.jsonValue({ maxDepth: 3 }).map((v): [string, (b: Buffer) => Buffer] => ["JSON of another shape", () => Buffer.from(JSON.stringify(v))]),
  fc.constantFrom<[string, (b: Buffer) => Buffer]>(["emptied", () => Buffer.alloc(0)], ["a different kind", (b) => Buffer.from(b.toString("utf8").replace(/"kind":"[a-z]+"/, '"kind":"batch"'))]),
);

/** Opens and reads through everything; resolves the error thrown, or undefined if all went well. */
async function exercise(dir: string, readOnly: boolean): Promise<unknown> {
  try {
    const store = await openStore(dir, { readOnly });
    try {
      for (const ns of store.namespaces()) for (const b of store.listBatches(ns)) await store.getBatch(ns, b.batchId, b.batchRoot);
      await store.getDoc("sync");
    } finally {
      await store.close();
    }
    return undefined;
  } catch (e) {
    return e;
  }
}

describe("hardening: state fuzzing", () => {
  for (const kind of ["batch", "meta", "format", "doc"] as const) {
    test(`state fuzz: a damaged ${kind} file is reported by path, read-write and read-only, and never rewritten`, async () => {
      let run = 0;
      let refused = 0;
      await fc.assert(
        fc.asyncProperty(damage, fc.boolean(), async ([what, edit], readOnly) => {
          const dir = join(root, `${kind}-${run++}`);
          await cp(pristine, dir, { recursive: true });
          const file = join(dir, files[kind]);
          const original = await readFile(file);
          const damaged = edit(original);
          fc.pre(!damaged.equals(original));
          await writeFile(file, damaged);
          const before0 = await snapshotTree(dir);
          const error = await exercise(dir, readOnly);
          const after0 = await snapshotTree(dir);
          await rm(dir, { recursive: true, force: true });
          // Some damage leaves a file that is still valid (a truncated FORMAT that parses, say): then nothing may change either.
          assert.deepEqual(diffTrees(before0, after0), [], `${what} ${kind} (readOnly ${readOnly}) changed the state`);
          if (error === undefined) return;
          refused++;
          assert.ok(error instanceof StoreError, `${what} ${kind}: ${String(error)}`);
          assert.ok(error.message.includes(file), `${what} ${kind}: the message does not name ${file}: ${error.message}`);
          assert.doesNotMatch(error.message, STACK);
        }),
        { numRuns: 60, seed: SEED },
      );
      // Most damage must be caught: a suite where every damaged file still loaded would prove nothing.
      assert.ok(refused > 30, `only ${refused} of 60 damaged ${kind} files were refused`);
    });
  }

  test("state fuzz: with a garbled batch file, verify-online and status exit 1 naming the file, with no stack trace and no write", async () => {
    const dir = join(root, "cli");
    await cp(pristine, join(dir, "state"), { recursive: true });
    const cfg = join(dir, "config");
    const init = await runCli(["--config", cfg, "init", "--node-id", "did:vm:node:fuzz"]);
    assert.equal(init.code, 0, init.stderr);
    const file = join(dir, "state", files.batch);
    await writeFile(file, '{"kind":"batch","namespace":');
    const before0 = await snapshotTree(join(dir, "state"));
    // verify-online fails on the error (stderr); status reports it in its output ("State not read: …").
    for (const command of ["verify-online", "status"]) {
      const r = await runCli(["--config", cfg, command]);
      assert.equal(r.code, 1, r.stderr);
      const said = command === "status" ? r.stdout : r.stderr;
      assert.ok(said.includes(file), `${command}: output does not name ${file}:\n${said}`);
      assert.doesNotMatch(r.stderr + r.stdout, STACK);
    }
    assert.deepEqual(diffTrees(before0, await snapshotTree(join(dir, "state"))), []);
  });
});
