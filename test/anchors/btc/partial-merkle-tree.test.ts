/**
 * CPartialMerkleTree: trees built as Core's constructor builds them, serialized,
 * read back and extracted, for 1..20 transactions and random match sets; and each
 * of Core's ExtractMatches refusals.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { propertySeed } from "../../support/property-seed.js";
import {
  ByteReader,
  buildPartialMerkleTree,
  encodePartialMerkleTree,
  extractMatches,
  readPartialMerkleTree,
  sha256d,
  MAX_BLOCK_TRANSACTIONS,
  type PartialMerkleTree,
} from "../../../lib/anchors/btc/index.js";

const SEED = propertySeed(2459);

/** The block merkle root the plain way: pair up each level, the odd last node with itself. */
function merkleRoot(leaves: Uint8Array[]): Uint8Array {
  let level = leaves;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(sha256d(level[i]!, level[i + 1] ?? level[i]!));
    level = next;
  }
  return level[0]!;
}

function roundTrip(tree: PartialMerkleTree): PartialMerkleTree {
  const reader = new ByteReader(encodePartialMerkleTree(tree));
  const read = readPartialMerkleTree(reader)!;
  assert.equal(reader.remaining, 0);
  return read;
}

const leaf = (i: number): Uint8Array => sha256d(Uint8Array.of(i & 0xff, i >> 8));

describe("partial merkle tree", () => {
  test("round trip: 1..20 transactions with random match sets extract exactly the matched txids", () => {
    const txSet = fc.integer({ min: 1, max: 20 }).chain((n) => fc.tuple(fc.uniqueArray(fc.uint8Array({ minLength: 32, maxLength: 32 }), { minLength: n, maxLength: n, selector: (u) => Buffer.from(u).toString("hex") }), fc.array(fc.boolean(), { minLength: n, maxLength: n })));
    fc.assert(
      fc.property(txSet, ([txids, matched]) => {
        const extracted = extractMatches(roundTrip(buildPartialMerkleTree(txids, matched)));
        assert.ok(extracted.ok, extracted.ok ? "" : extracted.reason);
        assert.deepEqual(Buffer.from(extracted.merkleRoot), Buffer.from(merkleRoot(txids)));
        const expected = matched.flatMap((m, i) => (m ? [i] : []));
        assert.deepEqual(extracted.indexes, expected);
        assert.deepEqual(extracted.matches.map((m) => Buffer.from(m)), expected.map((i) => Buffer.from(txids[i]!)));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });

  test("round trip: every size 1..20 with every single tx matched", () => {
    for (let n = 1; n <= 20; n++) {
      const txids = Array.from({ length: n }, (_, i) => leaf(i));
      for (let m = 0; m < n; m++) {
        const extracted = extractMatches(roundTrip(buildPartialMerkleTree(txids, txids.map((_, i) => i === m))));
        assert.ok(extracted.ok && extracted.indexes.length === 1 && extracted.indexes[0] === m, `n=${n} m=${m}`);
      }
    }
  });

  const txids = Array.from({ length: 7 }, (_, i) => leaf(i));
  const good = buildPartialMerkleTree(txids, [false, false, true, false, false, false, true]);
  const reason = (tree: PartialMerkleTree): string => {
    const r = extractMatches(tree);
    return r.ok ? "accepted" : r.reason;
  };

  test("extract: rejects a tree claiming zero transactions", () => {
    assert.equal(reason({ transactions: 0, hashes: [], bits: [] }), "partial merkle tree claims zero transactions");
  });

  test("extract: rejects a transaction count no block can hold", () => {
    assert.match(reason({ ...good, transactions: MAX_BLOCK_TRANSACTIONS + 1 }), /more than a block can hold/);
    assert.equal(MAX_BLOCK_TRANSACTIONS, 16_666);
  });

  test("extract: rejects more hashes than transactions", () => {
    assert.match(reason({ transactions: 1, hashes: [leaf(0), leaf(1)], bits: [true, false] }), /2 hashes for 1 transactions/);
  });

  test("extract: rejects unused hashes", () => {
    assert.match(reason({ ...good, hashes: [...good.hashes, leaf(99)] }), /1 unused hashes/);
  });

  test("extract: rejects an unused flag byte but, like Core, ignores padding bits inside the last used byte", () => {
    assert.equal(reason({ ...good, bits: [...good.bits, ...Array<boolean>(8).fill(false)] }), "partial merkle tree has unused flag bytes");
    const padded = [...good.bits];
    while (padded.length % 8 !== 0) padded.push(true);
    assert.ok(padded.length > good.bits.length, "this tree has padding bits to set");
    assert.equal(reason({ ...good, bits: padded }), "accepted");
  });

  test("extract: rejects a tree that runs out of flag bits or hashes", () => {
    assert.ok(good.bits.length > good.hashes.length);
    assert.equal(reason({ ...good, bits: good.bits.slice(0, good.hashes.length) }), "partial merkle tree ran out of flag bits");
    assert.equal(reason({ ...good, bits: good.bits.slice(0, 3) }), "partial merkle tree has fewer flag bits than hashes");
    assert.equal(reason({ ...good, hashes: good.hashes.slice(0, -1) }), "partial merkle tree ran out of hashes");
  });

  test("read: refuses a non-canonical CompactSize hash count", () => {
    const bytes = Buffer.from(encodePartialMerkleTree(good));
    const nonCanonical = Buffer.concat([bytes.subarray(0, 4), Buffer.of(0xfd, bytes[4]!, 0), bytes.subarray(5)]);
    assert.equal(readPartialMerkleTree(new ByteReader(nonCanonical)), undefined);
  });
});
