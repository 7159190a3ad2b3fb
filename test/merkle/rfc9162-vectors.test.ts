/**
 * RFC 6962 / RFC 9162 §2.1 known-answer vectors: the eight leaf inputs, the roots
 * of the trees of 0..8 leaves, and reference inclusion paths, as published with the
 * Certificate Transparency reference code.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { bytesToHex, formatDigest, hexToBytes } from "../../lib/digest.js";
import {
  inclusionProof,
  merkleRoot,
  rfc9162InclusionPaths,
  rfc9162LeafHash,
  rfc9162PathLength,
  rfc9162RootFromPath,
  rfc9162TreeHead,
  verifyInclusion,
} from "../../lib/merkle/index.js";
import type { Receipt } from "../../lib/receipt.js";

// Source: github.com/transparency-dev/merkle, testonly/constants.go (LeafInputs,
// NodeHashes level 0, RootHashes), the Go successor of the C++ vectors in
// google/certificate-transparency cpp/merkletree/merkle_tree_test.cc.
const LEAF_INPUTS = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f"];
const LEAF_HASHES = [
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
  "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
  "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
  "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
  "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
  "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
  "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
];
/** ROOTS[n] is MTH of the first n leaf inputs. */
const ROOTS = [
  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
  "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
  "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
  "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
  "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
  "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
  "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
  "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];
// Source: github.com/transparency-dev/merkle, testonly/reference_test.go, TestRefInclusionProof.
const PATHS: ReadonlyArray<{ index: number; size: number; path: string[] }> = [
  { index: 0, size: 1, path: [] },
  { index: 0, size: 2, path: ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"] },
  { index: 1, size: 2, path: ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"] },
  { index: 2, size: 3, path: ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"] },
  {
    index: 1, size: 5, path: [
      "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    ],
  },
  {
    index: 0, size: 8, path: [
      "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
      "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
      "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
  },
  {
    index: 5, size: 8, path: [
      "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
      "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
      "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    ],
  },
];

const entries = LEAF_INPUTS.map((h) => hexToBytes(h));

describe("rfc9162-sha256: RFC 6962 reference vectors", () => {
  test("leaf hashes are sha256(0x00 || entry)", () => {
    assert.deepEqual(entries.map((e) => bytesToHex(rfc9162LeafHash(e))), LEAF_HASHES);
  });

  for (let n = 0; n <= 8; n++) {
    test(`tree head of the first ${n} inputs matches the published root`, () => {
      assert.equal(bytesToHex(rfc9162TreeHead(entries.slice(0, n))), ROOTS[n]);
    });
  }

  for (const v of PATHS) {
    test(`inclusion path for index ${v.index} in size ${v.size} matches the published path`, () => {
      const paths = rfc9162InclusionPaths(entries.slice(0, v.size));
      assert.deepEqual(paths[v.index]!.map(bytesToHex), v.path);
    });

    test(`published path for index ${v.index} in size ${v.size} verifies to the published root`, () => {
      const walked = rfc9162RootFromPath(hexToBytes(LEAF_HASHES[v.index]!), v.index, v.size, v.path.map((h) => hexToBytes(h)));
      assert.ok("root" in walked, JSON.stringify(walked));
      assert.equal(bytesToHex(walked.root), ROOTS[v.size]);
      assert.equal(rfc9162PathLength(v.index, v.size), v.path.length);
    });
  }

  test("every index of every tree of 1..8 inputs walks back to the published root", () => {
    for (let n = 1; n <= 8; n++) {
      const paths = rfc9162InclusionPaths(entries.slice(0, n));
      for (let m = 0; m < n; m++) {
        const walked = rfc9162RootFromPath(hexToBytes(LEAF_HASHES[m]!), m, n, paths[m]!);
        assert.ok("root" in walked && bytesToHex(walked.root) === ROOTS[n], `index ${m} of ${n}`);
      }
    }
  });

  test("a published path replayed with a size of a different shape is refused", () => {
    const v = PATHS[6]!; // index 5 of 8; in a tree of 6 leaf 5 sits one level higher
    const walked = rfc9162RootFromPath(hexToBytes(LEAF_HASHES[5]!), 5, 6, v.path.map((h) => hexToBytes(h)));
    assert.ok("reason" in walked);
    assert.match(walked.reason, /more than 2 elements/);
  });

  test("the root does not commit to the size: index 5 of 8 and index 5 of 7 walk the same way", () => {
    // Pinned on purpose (docs/FEDERATION_SEMANTICS.md §2.4 Weaknesses, "What a proof does not bind"):
    // a proof's size is only checked against the path's shape, never against the root.
    const v = PATHS[6]!;
    const walked = rfc9162RootFromPath(hexToBytes(LEAF_HASHES[5]!), 5, 7, v.path.map((h) => hexToBytes(h)));
    assert.ok("root" in walked);
    assert.equal(bytesToHex(walked.root), ROOTS[8]);
  });
});

/** Straight from the RFC 9162 §2.1.1 definition, recursive, on Buffers. */
function referenceMth(items: Buffer[]): Buffer {
  const h = (...parts: Buffer[]): Buffer => createHash("sha256").update(Buffer.concat(parts)).digest();
  if (items.length === 0) return h();
  if (items.length === 1) return h(Buffer.from([0]), items[0]!);
  let k = 1;
  while (k * 2 < items.length) k *= 2;
  return h(Buffer.from([1]), referenceMth(items.slice(0, k)), referenceMth(items.slice(k)));
}

describe("rfc9162-sha256 over event hashes", () => {
  const events = Array.from({ length: 20 }, (_, i) => formatDigest(createHash("sha256").update(`event ${i}`).digest()));

  test("merkleRoot uses the 32 event-hash bytes as the leaf entries", () => {
    for (let n = 0; n <= events.length; n++) {
      const expected = referenceMth(events.slice(0, n).map((e) => Buffer.from(e.slice(7), "hex")));
      assert.equal(merkleRoot(events.slice(0, n), "rfc9162-sha256"), `sha256:${expected.toString("hex")}`, `size ${n}`);
    }
  });

  test("the empty tree is sha256 of the empty string", () => {
    assert.equal(merkleRoot([], "rfc9162-sha256"), `sha256:${ROOTS[0]}`);
  });

  test("a receipt built from a proof verifies and one with the vmsh-dup tree kind does not", () => {
    const leaves = events.slice(0, 7);
    const proof = inclusionProof(leaves, 4, "rfc9162-sha256");
    const receipt: Receipt = {
      id: leaves[4]!, namespace: "dao:vaultmesh", batchId: "b", eventHash: leaves[4]!, ts: 1,
      batchRoot: merkleRoot(leaves, "rfc9162-sha256"), proof,
    };
    assert.deepEqual(verifyInclusion(receipt), { ok: true });
    const relabelled = { ...receipt, proof: { ...proof, tree: "vmsh-dup-sha256" as const } };
    assert.equal(verifyInclusion(relabelled).ok, false);
  });
});
