/**
 * One write transaction for many batch versions (docs/STATE.md §Writes: atomic and durable):
 * `putBatches` copies its inputs as JSON would (lib/store/json-copy.ts), writes every changed
 * batch file in one round of fsyncs (`writeFilesAtomic`), stays idempotent, leaves files any
 * store reads, and loses no reported batch when killed mid-transaction.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { StoreError } from "../../lib/errors.js";
import { writeFilesAtomic } from "../../lib/store/atomic-file.js";
import { checkIntegrity, openStore } from "../../lib/store/index.js";
import { jsonCopy } from "../../lib/store/json-copy.js";
import { finished, spawnWriter } from "./child.js";
import { sampleBatch } from "./sample.js";
import { snapshot, tempDir } from "./tree.js";

const NS = "acme/audit";
const dirs: Array<() => void> = [];
const fresh = (prefix: string): string => {
  const t = tempDir(prefix);
  dirs.push(t.cleanup);
  return t.dir;
};
after(() => dirs.forEach((c) => c()));

/** Every file under `dir` whose name is a temp file's. */
const temps = (dir: string): string[] => {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith(".tmp")) out.push(join(d, e.name));
    }
  };
  walk(dir);
  return out;
};

describe("jsonCopy", () => {
  class Point {
    constructor(
      readonly x: number,
      readonly y: number,
    ) {}
  }
  const cases: Array<[string, unknown]> = [
    ["plain receipt", sampleBatch({ batchId: "b", size: 3 }).receipts[0]],
    ["undefined members dropped, in arrays null", { a: 1, b: undefined, c: [undefined, () => 1, Symbol("s")], d: () => 2 }],
    ["non-finite numbers become null", { a: Number.NaN, b: Number.POSITIVE_INFINITY, c: [-Infinity], d: -0 }],
    ["toJSON is used", { when: new Date(0), nested: { toJSON: () => ({ replaced: true }) } }],
    ["class instances keep their own members", { p: new Point(1, 2) }],
    ["a Map becomes {}", { m: new Map([[1, 2]]) }],
    ["own __proto__ member stays a member", JSON.parse('{"__proto__": {"polluted": true}, "a": 1}')],
    ["boxed primitives", { s: new String("x"), n: new Number(3), b: new Boolean(false) }],
    ["sparse array", { a: [1, , 3] }],
    ["null and booleans", { a: null, b: true, c: false, d: "" }],
    ["top-level array", [1, "two", { three: 3 }]],
  ];
  for (const [name, value] of cases) {
    test(`equals JSON.parse(JSON.stringify(value)): ${name}`, () => {
      const copy = jsonCopy(value);
      assert.deepStrictEqual(copy, JSON.parse(JSON.stringify(value)));
      assert.equal(JSON.stringify(copy), JSON.stringify(value));
      assert.equal(Object.getPrototypeOf({}).polluted, undefined);
    });
  }

  test("a copy shares no object with its source", () => {
    const source = { a: { b: [{ c: 1 }] } };
    const copy = jsonCopy(source);
    copy.a.b[0]!.c = 2;
    assert.equal(source.a.b[0]!.c, 1);
  });

  test("fails where the round trip fails, with the round trip's error", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic["self"] = cyclic;
    assert.throws(() => jsonCopy(cyclic), TypeError);
    assert.throws(() => jsonCopy({ n: 1n }), TypeError);
    assert.throws(() => jsonCopy(undefined), SyntaxError);
  });
});

describe("writeFilesAtomic", () => {
  test("writes every file, creating missing directories, and leaves no temp file", async () => {
    const dir = fresh("vmsh-wfa-");
    const files = [join(dir, "a", "b", "one.json"), join(dir, "a", "two.json"), join(dir, "c", "three.json")];
    await writeFilesAtomic(files.map((path, i) => ({ path, text: () => `{"i":${i}}\n` })));
    files.forEach((path, i) => assert.equal(readFileSync(path, "utf8"), `{"i":${i}}\n`));
    assert.deepEqual(temps(dir), []);
  });

  test("a failing rename: STATE_WRITE_FAILED naming the file, that target unchanged, no temp file left", async () => {
    const dir = fresh("vmsh-wfa-");
    const ok = join(dir, "ok.json");
    const blocked = join(dir, "blocked.json");
    const later = join(dir, "later.json");
    writeFileSync(ok, "old\n");
    // A non-empty directory at the target: rename(2) over it fails.
    mkdirSync(blocked);
    writeFileSync(join(blocked, "inside"), "x");
    await assert.rejects(
      writeFilesAtomic([ok, blocked, later].map((path) => ({ path, text: () => "new\n" }))),
      (err: unknown) => err instanceof StoreError && err.code === "STATE_WRITE_FAILED" && err.message.includes(blocked),
    );
    // Each file is atomic on its own: the one before the failure is wholly new, the one after never appears.
    assert.equal(readFileSync(ok, "utf8"), "new\n");
    assert.equal(readFileSync(join(blocked, "inside"), "utf8"), "x");
    assert.equal(existsSync(later), false);
    assert.deepEqual(temps(dir), []);
  });

  test("a text that cannot be made: nothing renamed, no temp file left", async () => {
    const dir = fresh("vmsh-wfa-");
    const first = join(dir, "first.json");
    writeFileSync(first, "old\n");
    await assert.rejects(
      writeFilesAtomic([
        { path: first, text: () => "new\n" },
        {
          path: join(dir, "second.json"),
          text: () => {
            throw new Error("cannot serialise");
          },
        },
      ]),
      (err: unknown) => err instanceof StoreError && err.code === "STATE_WRITE_FAILED" && err.message.includes("cannot serialise"),
    );
    assert.equal(readFileSync(first, "utf8"), "old\n");
    assert.equal(existsSync(join(dir, "second.json")), false);
    assert.deepEqual(temps(dir), []);
  });
});

describe("store.putBatches", () => {
  test("many versions in one call: a fresh store reads each back, a second call writes nothing", async () => {
    const dir = fresh("vmsh-putbatches-");
    const batches = Array.from({ length: 6 }, (_, i) => sampleBatch({ batchId: `b${i}`, size: 10 + i, createdAt: 1_732_000_000 + i, anchors: [{ outcome: "verified" }] }));
    const store = await openStore(dir);
    const first = await store.putBatches(batches);
    assert.deepEqual(
      first.map((r) => ("error" in r ? r.error.message : [r.written, r.created, r.receiptsAdded])),
      batches.map((b) => [true, true, b.receipts.length]),
    );
    // The caller's objects are copied, never frozen or kept.
    assert.equal(Object.isFrozen(batches[0]!.receipts[0]), false);
    batches[0]!.receipts[0]!.ts = 1;
    const before = snapshot(dir);
    const again = await store.putBatches(batches.map((b, i) => (i === 0 ? sampleBatch({ batchId: "b0", size: 10, createdAt: 1_732_000_000, anchors: [{ outcome: "verified" }] }) : b)));
    assert.deepEqual(
      again.map((r) => ("error" in r ? r.error.message : [r.written, r.receiptsAdded])),
      batches.map(() => [false, 0]),
    );
    assert.deepEqual(snapshot(dir), before, "an idempotent call touches no file");
    await store.close();

    const reopened = await openStore(dir, { readOnly: true });
    for (const b of batches.slice(1)) {
      const stored = await reopened.getBatch(NS, b.batchId, b.batchRoot);
      assert.deepEqual(stored?.receipts, b.receipts);
      assert.equal(stored?.anchors.length, 1);
    }
    assert.equal((await reopened.getBatch(NS, "b0", batches[0]!.batchRoot))?.receipts[0]?.ts, 1_732_000_000);
    assert.equal(reopened.receiptCount(NS), batches.reduce((n, b) => n + b.receipts.length, 0));
    await reopened.close();
    assert.deepEqual((await checkIntegrity(dir)).problems, []);
  });

  test("a refused input does not stop the others; two inputs for one version merge", async () => {
    const dir = fresh("vmsh-putbatches-");
    const store = await openStore(dir);
    const a = sampleBatch({ batchId: "a", size: 4 });
    const half = { ...a, receipts: a.receipts.slice(0, 2) };
    const rest = { ...a, receipts: a.receipts.slice(2) };
    const bad = { ...sampleBatch({ batchId: "bad", size: 2 }), createdAt: "soon" as unknown as number };
    const results = await store.putBatches([half, bad, rest]);
    assert.ok("error" in results[1]! && /createdAt/.test(results[1].error.message));
    assert.deepEqual(
      [results[0], results[2]].map((r) => ("error" in r! ? "error" : r!.receiptsAdded)),
      [2, 2],
    );
    assert.equal((await store.getBatch(NS, "a", a.batchRoot))?.receipts.length, 4);
    assert.equal(store.listBatches(NS).some((b) => b.batchId === "bad"), false);
    await store.close();
  });

  test("SIGKILL during multi-batch transactions: every reported batch survives and the store stays intact", async () => {
    const dir = fresh("vmsh-crash-many-");
    const committed: string[] = [];
    for (let run = 0; run < 12; run++) {
      const child = spawnWriter(["crash-many", dir, `r${run}`]);
      const done = finished(child);
      await new Promise<void>((resolve) => {
        const onData = (chunk: Buffer | string) => {
          if (!String(chunk).includes("committed")) return;
          child.stdout.off("data", onData);
          setTimeout(() => {
            child.kill("SIGKILL");
            resolve();
          }, Math.floor(Math.random() * 150));
        };
        child.stdout.on("data", onData);
        child.on("close", () => resolve());
      });
      const { signal, stdout, stderr } = await done;
      assert.equal(signal, "SIGKILL", `writer ended on its own: ${stderr}`);
      committed.push(...stdout.split("\n").slice(0, -1).map((line) => line.replace(/^committed /, "")));
      assert.deepEqual((await checkIntegrity(dir)).problems, [], `after kill ${run}`);
      const store = await openStore(dir);
      const stored = new Set(store.listBatches(NS).map((b) => b.batchId));
      for (const id of committed) assert.ok(stored.has(id), `batch ${id} was reported committed but is missing after kill ${run}`);
      assert.equal(store.receiptCount(NS), store.listBatches(NS).reduce((n, b) => n + b.receiptCount, 0));
      await store.close();
      assert.deepEqual(temps(dir), [], "temp files removed at open");
    }
    assert.ok(committed.length >= 12);
  });
});
