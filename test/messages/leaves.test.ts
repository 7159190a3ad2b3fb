/**
 * Leaves on the wire (docs/FEDERATION_PROTOCOL.md §Leaves): the schema of a version 4 Bundle's
 * `leaves`, and the rebuild that derives each receipt's path or refuses the whole set.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { ProtocolError } from "../../lib/errors.js";
import { encodeLeaves, expandLeaves } from "../../lib/messages/leaves.js";
import { LIMITS } from "../../lib/messages/limits.js";
import { parseBundle, parseRequest } from "../../lib/messages/schema.js";
import { merkleRoot, receiptsForBatch, verifyInclusion } from "../../lib/merkle/index.js";
import type { TreeKind } from "../../lib/receipt.js";
import { checkpointBy } from "../support/checkpoint.js";
import { NOW, peer, RECEIVER, request } from "./fixtures.js";

const a = peer("did:vm:node:a", ["announce", "request", "serve"]);
const NS = "dao:vaultmesh";
const hashes = (n: number) => Array.from({ length: n }, () => `sha256:${randomBytes(32).toString("hex")}`);

function version(n: number, tree: TreeKind = "vmsh-dup-sha256", batchId = "b1") {
  const leaves = hashes(n);
  const batchRoot = merkleRoot(leaves, tree);
  return { leaves, checkpoint: checkpointBy(a, { namespace: NS, batchId, batchRoot, size: n, createdAt: NOW, tree, ts: NOW }) };
}

const bundle = (over: Record<string, unknown>) => ({ type: "bundle", v: 4, namespace: NS, aud: RECEIVER, request: `sha256:${"9".repeat(64)}`, checkpoints: [], receipts: [], anchors: [], ts: NOW, signer: a.did, sig: "aa..bb", ...over });

function malformed(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof ProtocolError && e.status === 400 && e.code === "MALFORMED" && message.test(e.message), String(message));
}

describe("leaves: whole versions on the wire", () => {
  test("leaves: both trees rebuild to the checkpoint's root; the derived receipts are the sealer's, paths and all", () => {
    for (const tree of ["vmsh-dup-sha256", "rfc9162-sha256"] as const) {
      for (const n of [1, 2, 7, 200]) {
        const v = version(n, tree);
        const b = parseBundle(bundle({ checkpoints: [v.checkpoint], leaves: [{ checkpoint: 0, leaves: encodeLeaves(v.leaves) }] }));
        const derived = expandLeaves(b.leaves!, b.checkpoints);
        assert.equal(derived.length, n);
        assert.deepEqual(derived, receiptsForBatch({ id: "b1", root: v.checkpoint.batchRoot, leaves: v.leaves, createdAt: NOW }, NS, { tree }));
        for (const r of derived) assert.deepEqual(verifyInclusion(r), { ok: true });
      }
    }
  });

  test("leaves: one entry that does not rebuild to its checkpoint's root refuses them all, naming it", () => {
    const good = version(4, "vmsh-dup-sha256", "b1");
    const bad = version(4, "vmsh-dup-sha256", "b2");
    const swapped = [bad.leaves[1]!, bad.leaves[0]!, ...bad.leaves.slice(2)];
    const b = parseBundle(bundle({ checkpoints: [good.checkpoint, bad.checkpoint], leaves: [{ checkpoint: 0, leaves: encodeLeaves(good.leaves) }, { checkpoint: 1, leaves: encodeLeaves(swapped) }] }));
    assert.throws(
      () => expandLeaves(b.leaves!, b.checkpoints),
      (e: unknown) => e instanceof ProtocolError && e.code === "PEER_LEAVES_MISMATCH" && /^bundle\.leaves\[1\]: 4 leaves rebuild to the vmsh-dup-sha256 root sha256:[0-9a-f]{64}, but the checkpoint of batch b2 signs sha256:[0-9a-f]{64}; the bundle is refused whole$/.test(e.message),
    );
  });

  test("leaves: the schema refuses leaves outside version 4, a length that is not the checkpoint's size, a checkpoint named twice or missing, and too many leaves", () => {
    const v = version(3);
    const entry = { checkpoint: 0, leaves: encodeLeaves(v.leaves) };
    malformed(() => parseBundle(bundle({ v: 3, checkpoints: [v.checkpoint], leaves: [entry] })), /^bundle\.leaves: needs message version 4/);
    malformed(() => parseBundle(bundle({ checkpoints: [v.checkpoint], leaves: [{ checkpoint: 0, leaves: encodeLeaves(v.leaves.slice(0, 2)) }] })), /^bundle\.leaves\[0\]\.leaves: holds 88 base64 characters; 3 leaves \(the checkpoint's size\) are 128$/);
    malformed(() => parseBundle(bundle({ checkpoints: [v.checkpoint], leaves: [entry, entry] })), /^bundle\.leaves\[1\]\.checkpoint: names a version whose leaves this bundle already holds$/);
    malformed(() => parseBundle(bundle({ checkpoints: [v.checkpoint], leaves: [{ checkpoint: 1, leaves: entry.leaves }] })), /^bundle\.leaves\[0\]\.checkpoint: expected 0 to 0, got 1$/);
    malformed(() => parseBundle(bundle({ checkpoints: [v.checkpoint], leaves: [{ checkpoint: 0, leaves: "!".repeat(128) }] })), /^bundle\.leaves\[0\]\.leaves: does not match/);
    const big = checkpointBy(a, { namespace: NS, batchId: "b9", batchRoot: v.checkpoint.batchRoot, size: LIMITS.maxLeavesPerBundle + 1, createdAt: NOW, ts: NOW });
    malformed(() => parseBundle(bundle({ checkpoints: [big], leaves: [{ checkpoint: 0, leaves: "AAAA" }] })), /names a version of 32769 leaves; at most 32768 travel as leaves/);
  });

  test("leaves: non-canonical base64 of the right length is refused by the rebuild", () => {
    const v = version(1);
    const text = encodeLeaves(v.leaves);
    // The last character of 32 bytes' base64 carries 2 bits that must be zero.
    const last = text[text.length - 2]!;
    const twisted = `${text.slice(0, -2)}${last === "A" ? "B" : String.fromCharCode(last.charCodeAt(0) ^ 1)}=`;
    const b = parseBundle(bundle({ checkpoints: [v.checkpoint], leaves: [{ checkpoint: 0, leaves: twisted }] }));
    assert.throws(() => expandLeaves(b.leaves!, b.checkpoints), (e: unknown) => e instanceof ProtocolError && e.code === "PEER_LEAVES_MISMATCH");
  });

  test("leaves: Request version 3 parses with the members of version 2; version 4 does not exist", () => {
    const r = request(a, { want: [`sha256:${"1".repeat(64)}`] });
    assert.equal(parseRequest({ ...r, v: 3 }).v, 3);
    malformed(() => parseRequest({ ...r, v: 4 }), /^request\.v: expected 2 or 3$/);
  });
});
