/**
 * The sealer's rule (docs/FEDERATION_SEMANTICS.md §2.1) against an independent reference written here
 * from the prose, and the rule's documented weaknesses pinned as behaviour.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { ArgumentError } from "../../lib/errors.js";
import { inclusionProof, merkleRoot, verifyInclusion } from "../../lib/merkle/index.js";
import type { Receipt } from "../../lib/receipt.js";

const sha = (hex: string): string => createHash("sha256").update(Buffer.from(hex, "hex")).digest("hex");
const eventHex = (i: number): string => createHash("sha256").update(`sealed event #${i}`).digest("hex");
const digest = (hex: string): string => `sha256:${hex}`;

/**
 * Reference root, recursive over hex strings: pad an odd list by repeating its
 * last element, hash neighbours pairwise, recurse on the half-length list.
 */
function referenceRoot(level: string[]): string {
  if (level.length === 1) return level[0]!;
  const padded = level.length % 2 === 1 ? [...level, level[level.length - 1]!] : level;
  const parents: string[] = [];
  for (let i = 0; i < padded.length; i += 2) parents.push(sha(padded[i]! + padded[i + 1]!));
  return referenceRoot(parents);
}

/** Reference path: at each level, the neighbour in the padded list, then move up. */
function referencePath(level: string[], index: number): string[] {
  if (level.length === 1) return [];
  const padded = level.length % 2 === 1 ? [...level, level[level.length - 1]!] : level;
  const sibling = padded[index ^ 1]!;
  const parents: string[] = [];
  for (let i = 0; i < padded.length; i += 2) parents.push(sha(padded[i]! + padded[i + 1]!));
  return [sibling, ...referencePath(parents, index >> 1)];
}

function receiptFor(leaves: string[], index: number, root = merkleRoot(leaves, "vmsh-dup-sha256")): Receipt {
  return {
    id: leaves[index]!, eventHash: leaves[index]!, namespace: "dao:vaultmesh", batchId: "batch-1", ts: 1_700_000_000,
    batchRoot: root, proof: inclusionProof(leaves, index, "vmsh-dup-sha256"),
  };
}

describe("vmsh-dup-sha256 roots", () => {
  test("hand-worked vectors for 1, 2 and 3 leaves", () => {
    const [a, b, c] = [eventHex(0), eventHex(1), eventHex(2)];
    assert.equal(merkleRoot([digest(a)], "vmsh-dup-sha256"), digest(a));
    assert.equal(merkleRoot([digest(a), digest(b)], "vmsh-dup-sha256"), digest(sha(a + b)));
    assert.equal(merkleRoot([a, b, c].map(digest), "vmsh-dup-sha256"), digest(sha(sha(a + b) + sha(c + c))));
  });

  test("roots for 1..70 leaves match the reference", () => {
    const all = Array.from({ length: 70 }, (_, i) => eventHex(i));
    for (let n = 1; n <= all.length; n++) {
      const leaves = all.slice(0, n);
      assert.equal(merkleRoot(leaves.map(digest), "vmsh-dup-sha256"), digest(referenceRoot(leaves)), `size ${n}`);
    }
  });

  test("paths for every index of 1..33 leaves match the reference", () => {
    const all = Array.from({ length: 33 }, (_, i) => eventHex(i));
    for (let n = 1; n <= all.length; n++) {
      const leaves = all.slice(0, n);
      for (let i = 0; i < n; i++) {
        assert.deepEqual(inclusionProof(leaves.map(digest), i, "vmsh-dup-sha256").path, referencePath(leaves, i).map(digest), `index ${i} of ${n}`);
      }
    }
  });

  test("an empty batch has no vmsh-dup root", () => {
    assert.throws(() => merkleRoot([], "vmsh-dup-sha256"), ArgumentError);
  });

  test("a malformed leaf throws ArgumentError naming its position", () => {
    assert.throws(() => merkleRoot([digest(eventHex(0)), "sha256:XYZ"], "vmsh-dup-sha256"), /leaves\[1\]/);
  });

  test("an unknown tree kind throws ArgumentError naming tree", () => {
    assert.throws(() => merkleRoot([digest(eventHex(0))], "sha3" as never), /^ArgumentError: tree:|tree: expected/);
  });

  test("the last node of an odd level carries itself as its sibling in the path", () => {
    const leaves = [0, 1, 2].map((i) => digest(eventHex(i)));
    const path = inclusionProof(leaves, 2, "vmsh-dup-sha256").path;
    assert.equal(path[0], leaves[2]);
  });
});

describe("vmsh-dup-sha256 weaknesses, pinned", () => {
  test("duplicate-last ambiguity: [a, b, c] and [a, b, c, c] have the same root (CVE-2012-2459 class)", () => {
    const three = [0, 1, 2].map((i) => digest(eventHex(i)));
    const four = [...three, three[2]!];
    assert.equal(merkleRoot(three, "vmsh-dup-sha256"), merkleRoot(four, "vmsh-dup-sha256"));
    // …and so a proof for the phantom fourth leaf verifies against the three-leaf root.
    const phantom = receiptFor(four, 3, merkleRoot(three, "vmsh-dup-sha256"));
    assert.deepEqual(verifyInclusion(phantom), { ok: true });
  });

  test("the phantom leaf is refused once its index is checked against the batch's real size", () => {
    const three = [0, 1, 2].map((i) => digest(eventHex(i)));
    const phantom = receiptFor([...three, three[2]!], 3, merkleRoot(three, "vmsh-dup-sha256"));
    const claimed = { ...phantom, proof: { ...phantom.proof, size: 3 } };
    assert.deepEqual(verifyInclusion(claimed), { ok: false, reason: "proof.index 3 is not below proof.size 3" });
  });

  test("no domain separation: an interior node verifies as if it were an event hash", () => {
    const leaves = [0, 1, 2, 3].map((i) => digest(eventHex(i)));
    const ab = digest(sha(eventHex(0) + eventHex(1)));
    const cd = digest(sha(eventHex(2) + eventHex(3)));
    const forged: Receipt = {
      id: ab, eventHash: ab, namespace: "dao:vaultmesh", batchId: "batch-1", ts: 1,
      batchRoot: merkleRoot(leaves, "vmsh-dup-sha256"),
      proof: { tree: "vmsh-dup-sha256", index: 0, size: 2, path: [cd] },
    };
    assert.deepEqual(verifyInclusion(forged), { ok: true });
    // rfc9162-sha256 prefixes leaves with 0x00 and nodes with 0x01: its real interior
    // nodes, offered the same way, do not verify.
    const node = (l: string, r: string): string => createHash("sha256").update(Buffer.from("01" + l + r, "hex")).digest("hex");
    const leaf = (e: string): string => createHash("sha256").update(Buffer.from("00" + e, "hex")).digest("hex");
    const rab = digest(node(leaf(eventHex(0)), leaf(eventHex(1))));
    const rcd = digest(node(leaf(eventHex(2)), leaf(eventHex(3))));
    assert.equal(merkleRoot(leaves, "rfc9162-sha256"), digest(node(rab.slice(7), rcd.slice(7))));
    const rfcForged: Receipt = {
      ...forged, id: rab, eventHash: rab, batchRoot: merkleRoot(leaves, "rfc9162-sha256"),
      proof: { tree: "rfc9162-sha256", index: 0, size: 2, path: [rcd] },
    };
    assert.equal(verifyInclusion(rfcForged).ok, false);
  });
});
