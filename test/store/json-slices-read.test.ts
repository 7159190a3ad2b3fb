/**
 * A state file read back (a batch file is about 1 MB) is parsed in slices
 * (lib/messages/json-slices.ts via lib/store/atomic-file.ts readJsonFile): other work runs
 * while it is parsed, and what it reads, or refuses as STATE_CORRUPT, is as before. Counted,
 * never timed.
 */
import { after, before, describe, mock, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PARSE_SLICE_CHARS } from "../../lib/messages/json-slices.js";
import { readJsonFile } from "../../lib/store/atomic-file.js";

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "vmsh-json-slices-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("store: a large state file is parsed in slices", () => {
  test("state file slices: a 2 MB file is parsed in pieces of at most 64 Ki characters, a setImmediate probe running between them", async () => {
    const receipts = Array.from({ length: 12_000 }, (_, i) => ({ id: `sha256:${i.toString(16).padStart(64, "0")}`, ts: i, proof: [{ right: `sha256:${"ab".repeat(32)}` }] }));
    const text = JSON.stringify({ batchId: "b-1", receipts });
    assert.ok(text.length > 2 * 1024 * 1024, String(text.length));
    const file = join(dir, "batch.json");
    await writeFile(file, text);
    let turns = 0;
    let running = true;
    const probe = (): void => {
      if (!running) return;
      turns++;
      setImmediate(probe);
    };
    setImmediate(probe);
    // The longest text JSON.parse is given while the file is parsed: what one turn of the loop holds.
    const parse = JSON.parse;
    let longest = 0;
    const spy = mock.method(JSON, "parse", (t: string, reviver?: (this: unknown, key: string, value: unknown) => unknown) => {
      longest = Math.max(longest, t.length);
      return parse(t, reviver);
    });
    let data: unknown;
    try {
      data = await readJsonFile(file, () => undefined);
    } finally {
      spy.mock.restore();
      running = false;
    }
    assert.deepEqual(data, JSON.parse(text));
    assert.ok(longest <= PARSE_SLICE_CHARS, `JSON.parse was given ${longest} characters at once`);
    assert.ok(turns >= text.length / PARSE_SLICE_CHARS, `the probe ran ${turns} times while ${text.length} characters were read and parsed`);
  });

  test("state file slices: a damaged large file is refused as STATE_CORRUPT and left as it was", async () => {
    const text = JSON.stringify({ receipts: Array.from({ length: 5_000 }, (_, i) => ({ id: String(i).repeat(20) })) });
    const at = text.indexOf("},{", 200_000);
    const damaged = `${text.slice(0, at)}},,{${text.slice(at + 3)}`;
    assert.throws(() => JSON.parse(damaged));
    const file = join(dir, "damaged.json");
    await writeFile(file, damaged);
    await assert.rejects(readJsonFile(file, () => undefined), (e: Error & { code?: string }) => e.code === "STATE_CORRUPT" && e.message.includes("is not valid JSON"));
  });
});
