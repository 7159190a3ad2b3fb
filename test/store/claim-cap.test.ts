/**
 * The bound on the anchor claims one batch version keeps holds whoever sent them and whatever
 * was stored meanwhile (lib/store/merge.ts `mergeAnchors`, docs/FEDERATION_SEMANTICS.md §6. Threat
 * model). Found by test/hardening/claim-flood.test.ts: a node's anti-entropy counted a version's
 * room, fetched that many rejected claims by item id, and while it verified them the origin's CLI
 * stored a second genuine stamp; the merge kept every arriving record and the file held 65.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_CLAIMS_PER_VERSION, mergeAnchors } from "../../lib/store/merge.js";
import type { AnchorRecord } from "../../lib/store/types.js";

const base = { batchId: "b1", batchRoot: `sha256:${"ab".repeat(32)}`, block: 0, ts: 1_764_000_000 };
const verified = (i: number): AnchorRecord => ({ ...base, chain: "rfc3161:genuine", tx: `genuine-${i}`, outcome: "verified" });
const rejected = (i: number): AnchorRecord => ({ ...base, chain: "rfc3161:bogus", tx: `bogus-${String(i).padStart(3, "0")}`, outcome: "rejected", reason: "not a time-stamp token" });

test("claim cap: arrivals counted against a room that verified claims took meanwhile give way themselves, and no verified claim goes", () => {
  const stored = [verified(1), verified(2), verified(3)];
  const arriving = Array.from({ length: MAX_CLAIMS_PER_VERSION - 2 }, (_, i) => rejected(i));
  const { anchors } = mergeAnchors(stored, arriving);
  assert.equal(anchors.length, MAX_CLAIMS_PER_VERSION);
  assert.deepEqual(anchors.filter((a) => a.outcome === "verified").map((a) => a.tx).sort(), ["genuine-1", "genuine-2", "genuine-3"]);
  assert.equal(anchors.filter((a) => a.outcome === "rejected").length, MAX_CLAIMS_PER_VERSION - 3);
});

test("claim cap: with room made by older unverified records, every arrival stays and the older ones go", () => {
  const stored = [verified(1), ...Array.from({ length: MAX_CLAIMS_PER_VERSION - 1 }, (_, i) => rejected(100 + i))];
  const arriving = [rejected(1), rejected(2)];
  const { anchors } = mergeAnchors(stored, arriving);
  assert.equal(anchors.length, MAX_CLAIMS_PER_VERSION);
  for (const a of arriving) assert.ok(anchors.some((x) => x.tx === a.tx), a.tx);
  assert.ok(anchors.some((x) => x.tx === "genuine-1"));
});
