/**
 * The winner marks of a version's anchors are made again inside the store's write
 * (lib/store/merge.ts `remarkSuperseded`, docs/FEDERATION_SEMANTICS.md §3. Conflicts). Found by
 * the chaos run (docs/RELIABILITY.md §Chaos): two imports of one version side by side each
 * resolved the winner against the file as it was before the other's write; the later write left
 * the anchor the earlier one had superseded unmarked, so the node showed a weaker winner than
 * every other node, for good.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { resolveAnchors } from "../../lib/conflict/resolve.js";
import { withDigest } from "../../lib/conflict/record.js";
import { mergeBatch } from "../../lib/store/merge.js";
import { openStore } from "../../lib/store/index.js";
import type { AnchorRecord } from "../../lib/store/types.js";
import { sampleBatch } from "./sample.js";
import { tempDir } from "./tree.js";

const version = sampleBatch({ batchId: "b1", size: 4 });
const base = { batchId: version.batchId, batchRoot: version.batchRoot, ts: version.createdAt + 60, outcome: "verified" as const };
const btc: AnchorRecord = { ...base, chain: "btc:regtest", tx: "4e8635ef3bee937b81532c20cebd810ae3439f11b0ecd403fa53155e7f5e96b1", block: 120 };
const evm: AnchorRecord = { ...base, chain: "eip155:31337", tx: `0x${"64".repeat(32)}`, block: 7 };

/** What resolving every record gives: digest → superseded_by. */
function expectedMarks(records: readonly AnchorRecord[]): Map<string, string | undefined> {
  const out = new Map<string, string | undefined>();
  for (const b of resolveAnchors(records).batches) for (const r of b.byRoot) for (const a of r.anchors) out.set(withDigest(a).digest!, a.superseded_by);
  return out;
}

function marks(records: readonly AnchorRecord[]): Map<string, string | undefined> {
  return new Map(records.map((a) => [withDigest(a).digest!, a.superseded_by]));
}

for (const [first, second] of [[btc, evm], [evm, btc]] as const) {
  test(`two stale imports (${first.chain}, then ${second.chain}, each resolved alone): one winner, the other marked superseded`, () => {
    // Each import resolved against a file holding neither, so neither record carries a mark.
    const one = mergeBatch(null, { ...version, anchors: [first] });
    const two = mergeBatch(one.file, { ...version, receipts: [], anchors: [second] });
    assert.equal(two.changed, true);
    const verifiedUnmarked = two.file.anchors.filter((a) => a.outcome === "verified" && a.superseded_by === undefined);
    assert.equal(verifiedUnmarked.length, 1, "exactly one winner");
    assert.deepEqual(marks(two.file.anchors), expectedMarks([btc, evm]));
  });
}

test("through the store: the later write of a stale import cannot unmark the superseded anchor", async () => {
  const { dir, cleanup } = tempDir("vmsh-winner-marks-");
  after(cleanup);
  const store = await openStore(dir);
  // The first import saw both and wrote the marks; the second, resolved before that write, writes its record unmarked.
  const resolved = resolveAnchors([btc, evm]).batches[0]!.byRoot[0]!.anchors;
  await store.putBatch({ ...version, anchors: resolved });
  const loser = resolved.find((a) => a.superseded_by !== undefined)!;
  const { superseded_by: _dropped, ...stale } = loser;
  await store.putBatch({ ...version, receipts: [], anchors: [{ ...stale, reason: "checked again" }] });
  const held = await store.anchors(version.namespace, version.batchId);
  assert.equal(held.filter((a) => a.outcome === "verified" && a.superseded_by === undefined).length, 1);
  assert.equal(held.find((a) => a.chain === loser.chain)!.superseded_by, loser.superseded_by);
});
