/**
 * Receipts with paths that are a whole batch version (docs/STATE.md §Leaves form): when every
 * receipt's path is the rebuilt tree's and the receipts carry nothing else, `importBundle` keeps
 * the version as its leaves, and it reads back byte for byte as the receipts imported (the
 * upstream sealer's files as `import` reads them, and `seal`'s rfc9162 receipts). A receipt whose
 * path or event hash has one byte flipped is refused exactly as before (the reason is
 * verifyInclusion's), and the version then keeps the receipts form; a refused receipt of a stored
 * version changes no file. Receipts with an extra member or another key order keep the receipts form.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { merkleRoot, receiptsForBatch, verifyInclusion } from "../../lib/merkle/index.js";
import type { Checkpoint } from "../../lib/messages/checkpoint.js";
import { importBundle } from "../../lib/pipeline/bundle.js";
import type { Receipt, TreeKind } from "../../lib/receipt.js";
import { parseSealerBatch, sealedBatch } from "../../lib/sealer/files.js";
import { openStore } from "../../lib/store/index.js";
import { checkpointBy } from "../support/checkpoint.js";
import { sealUpstreamBatch } from "../support/upstream-writers.js";
import { snapshot } from "../store/tree.js";
import { encodeLeaves } from "../../lib/messages/leaves.js";
import { checkedLeafTree, LeafTree } from "../../lib/store/leaves.js";
import { useFreshStore } from "../support/fresh-store.js";

const NS = "dao:vaultmesh";
const ORIGIN = { did: "did:vm:node:origin", key: generateNodeKey() };
const H = (tag: string, n: number) => `sha256:${Buffer.from(`${tag}/${n}`).toString("hex").padEnd(64, "0").slice(0, 64)}`;

const fx = useFreshStore("vmsh-import-as-leaves-", new Map([[ORIGIN.did, ORIGIN.key.publicKey]]));
const ctx = fx.ctx;

function version(id: string, size: number, tree: TreeKind = "vmsh-dup-sha256", createdAt = 1_700_000_000) {
  const hashes = Array.from({ length: size }, (_, i) => H(id, i));
  const root = merkleRoot(hashes, tree);
  const checkpoint: Checkpoint = checkpointBy(ORIGIN, { namespace: NS, batchId: id, batchRoot: root, size, createdAt, tree });
  return { root, checkpoint, receipts: receiptsForBatch({ id, root, leaves: hashes, createdAt }, NS, { tree }) };
}

/** The version's batch file on disk, parsed. */
async function batchFile(batchId: string): Promise<{ receipts: unknown[]; leaves?: string }> {
  const found: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (p.includes(`/batches/x${Buffer.from(batchId).toString("hex")}/`) && e.name.endsWith(".json")) found.push(p);
    }
  };
  await walk(fx.dir);
  assert.equal(found.length, 1, `one file for batch ${batchId}`);
  return JSON.parse(await readFile(found[0]!, "utf8"));
}

/** What a fresh open of the state reads back for these receipts, each as JSON text, in the same order. */
async function readBack(receipts: readonly Receipt[]): Promise<string[]> {
  const fresh = await openStore(fx.dir, { readOnly: true });
  try {
    const got = await fresh.getReceipts(NS, receipts.map((r) => r.id));
    const byId = new Map(got.map((r) => [r.id, r] as const));
    return receipts.map((r) => JSON.stringify(byId.get(r.id) ?? null));
  } finally {
    await fresh.close();
  }
}

const flipHexChar = (digest: string, at: number) => `${digest.slice(0, at)}${digest[at] === "0" ? "1" : "0"}${digest.slice(at + 1)}`;

describe("importBundle: receipts with paths that are a whole version", () => {
  test("the upstream sealer's files, as `import` reads them: kept as leaves, read back byte for byte", async () => {
    const out = join(fx.dir, "..", `${fx.dir.split("/").pop()}-sealer`);
    try {
      const up = await sealUpstreamBatch(out, 37, 1_760_000_000);
      const batch = parseSealerBatch(JSON.parse(await readFile(up.batchFile, "utf8")), up.batchFile);
      const files = await Promise.all((await readdir(up.receiptsDir)).map(async (f) => ({ file: f, json: JSON.parse(await readFile(join(up.receiptsDir, f), "utf8")) as unknown })));
      const sealed = sealedBatch(NS, batch, up.batchFile, files);
      const checkpoint = checkpointBy(ORIGIN, { namespace: NS, batchId: sealed.batchId, batchRoot: sealed.batchRoot, size: batch.leaves.length, createdAt: batch.createdAt });
      const reports = await importBundle(NS, sealed.receipts, sealed.anchors, ctx(), [checkpoint]);
      assert.deepEqual(reports.map((r) => [r.receiptsAdded, r.receiptsStored, r.rejectedReceipts.length]), [[37, 37, 0]]);
      const file = await batchFile(sealed.batchId);
      assert.deepEqual(file.receipts, []);
      assert.equal(typeof file.leaves, "string");
      assert.deepEqual(await readBack(sealed.receipts), sealed.receipts.map((r) => JSON.stringify(r)));
    } finally {
      await rm(out, { recursive: true, force: true });
    }
  });

  for (const tree of ["vmsh-dup-sha256", "rfc9162-sha256"] as const) {
    for (const size of [1, 2, 7, 64, 100]) {
      test(`${tree}, ${size} leaves, receipts in any order: kept as leaves, every receipt read back byte for byte`, async () => {
        const v = version(`v${size}`, size, tree);
        const shuffled = [...v.receipts].reverse();
        const [report] = await importBundle(NS, shuffled, [], ctx(), [v.checkpoint]);
        assert.equal(report?.receiptsAdded, size);
        assert.equal(typeof (await batchFile(`v${size}`)).leaves, "string");
        assert.equal((await fx.store.getBatch(NS, `v${size}`, v.root, ORIGIN.did))?.leaves !== undefined, true);
        assert.deepEqual(await readBack(v.receipts), v.receipts.map((r) => JSON.stringify(r)));
        // The same receipts again: nothing written.
        const before = snapshot(fx.dir);
        const [again] = await importBundle(NS, v.receipts, [], ctx(), [v.checkpoint]);
        assert.deepEqual([again?.written, again?.receiptsAdded], [false, 0]);
        assert.deepEqual(snapshot(fx.dir), before);
      });
    }
  }

  for (const [what, at] of [["first", 0], ["last", -1]] as const) {
    for (const char of [7, 70]) {
      test(`one byte flipped in the ${what} node of one path (hex character ${char}): refused with verifyInclusion's reason, the version kept as receipts without it`, async () => {
        const v = version("f", 16);
        const bad = v.receipts[5]!;
        const path = [...bad.proof.path];
        const i = at < 0 ? path.length - 1 : at;
        path[i] = flipHexChar(path[i]!, char);
        const forged: Receipt = { ...bad, proof: { ...bad.proof, path } };
        const expected = verifyInclusion(forged);
        assert.equal(expected.ok, false);
        const receipts = v.receipts.map((r) => (r === bad ? forged : r));
        const [report] = await importBundle(NS, receipts, [], ctx(), [v.checkpoint]);
        assert.deepEqual(report?.rejectedReceipts, [{ id: bad.id, reason: expected.ok ? "" : expected.reason }]);
        assert.equal(report?.receiptsAdded, 15);
        const file = await batchFile("f");
        assert.equal(file.leaves, undefined);
        assert.equal(file.receipts.length, 15);
        assert.equal((await fx.store.getReceipt(NS, bad.id)) ?? null, null);
        const good = v.receipts.filter((r) => r !== bad);
        assert.deepEqual(await readBack(good), good.map((r) => JSON.stringify(r)));
      });
    }
  }

  test("one byte flipped in an event hash: the tree does not rebuild to the root, that receipt is refused, the rest kept as receipts", async () => {
    const v = version("e", 9);
    const bad = v.receipts[3]!;
    const eventHash = flipHexChar(bad.eventHash, 40);
    const forged: Receipt = { ...bad, id: eventHash, eventHash };
    const expected = verifyInclusion(forged);
    const [report] = await importBundle(NS, v.receipts.map((r) => (r === bad ? forged : r)), [], ctx(), [v.checkpoint]);
    assert.deepEqual(report?.rejectedReceipts, [{ id: eventHash, reason: expected.ok ? "" : expected.reason }]);
    assert.equal((await batchFile("e")).leaves, undefined);
    assert.equal((await fx.store.getReceipt(NS, eventHash)) ?? null, null);
  });

  test("a forged receipt for a version already kept as leaves: refused with the same reason, no file changes", async () => {
    const v = version("s", 12);
    await importBundle(NS, v.receipts, [], ctx(), [v.checkpoint]);
    assert.equal(typeof (await batchFile("s")).leaves, "string");
    const bad = v.receipts[7]!;
    const path = [...bad.proof.path];
    path[1] = flipHexChar(path[1]!, 33);
    const forged: Receipt = { ...bad, proof: { ...bad.proof, path } };
    const expected = verifyInclusion(forged);
    const before = snapshot(fx.dir);
    const [report] = await importBundle(NS, [forged], [], ctx(), [v.checkpoint]);
    assert.deepEqual(report?.rejectedReceipts, [{ id: bad.id, reason: expected.ok ? "" : expected.reason }]);
    assert.deepEqual([report?.written, report?.receiptsAdded], [false, 0]);
    assert.deepEqual(snapshot(fx.dir), before);
    assert.deepEqual(await readBack([bad]), [JSON.stringify(bad)]);
  });

  test("receipts with a member the leaves cannot give back, or in another key order: the receipts form is kept", async () => {
    const a = version("x", 8);
    const extra = a.receipts.map((r) => ({ ...r, note: "kept" }));
    await importBundle(NS, extra, [], ctx(), [a.checkpoint]);
    assert.equal((await batchFile("x")).leaves, undefined);
    const b = version("y", 8, "vmsh-dup-sha256", 1_700_000_060);
    const reordered = b.receipts.map(({ proof, ...rest }) => ({ proof, ...rest }));
    await importBundle(NS, reordered, [], ctx(), [b.checkpoint]);
    assert.equal((await batchFile("y")).leaves, undefined);
    assert.deepEqual(await readBack(reordered), reordered.map((r) => JSON.stringify(r)));
  });

  test("only part of a version: the receipts form is kept", async () => {
    const v = version("p", 10);
    await importBundle(NS, v.receipts.slice(0, 9), [], ctx(), [v.checkpoint]);
    assert.equal((await batchFile("p")).leaves, undefined);
    assert.equal((await batchFile("p")).receipts.length, 9);
  });
});

describe("LeafTree.samePath: the check the import uses instead of walking each path", () => {
  for (const tree of ["vmsh-dup-sha256", "rfc9162-sha256"] as const) {
    test(`${tree}: true for each derived path, false for any flipped digit, a missing or an extra element`, () => {
      for (const size of [1, 2, 3, 8, 13]) {
        const v = version(`t${size}`, size, tree);
        const built = checkedLeafTree(encodeLeaves(v.receipts.map((r) => r.eventHash)), v.checkpoint);
        assert.ok(built instanceof LeafTree, String(built));
        for (const r of v.receipts) {
          const { index, path } = r.proof;
          assert.equal(built.samePath(index, path), true);
          if (size > 1) assert.equal(built.samePath((index + 1) % size, path), false, "another leaf's path");
          assert.equal(built.samePath(index, [...path, path[0] ?? H("x", 0)]), false);
          if (path.length > 0) assert.equal(built.samePath(index, path.slice(1)), false);
          for (let e = 0; e < path.length; e++) for (const at of [7, 38, 70]) assert.equal(built.samePath(index, path.map((h, i) => (i === e ? flipHexChar(h, at) : h))), false);
        }
      }
    });
  }

  test("leaves that do not rebuild to the checkpoint's root give no tree", () => {
    const v = version("w", 5);
    const hashes = v.receipts.map((r) => r.eventHash);
    assert.match(String(checkedLeafTree(encodeLeaves([hashes[1]!, hashes[0]!, ...hashes.slice(2)]), v.checkpoint)), /5 leaves rebuild to the vmsh-dup-sha256 root sha256:[0-9a-f]{64}, but the checkpoint of batch w signs/);
  });
});
