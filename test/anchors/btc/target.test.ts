/**
 * Compact "nBits" decoding against the vectors of Bitcoin Core's
 * src/test/arith_uint256_tests.cpp (SetCompact), with CheckProofOfWork's refusals
 * of negative, overflowing and zero targets.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { decodeCompactTarget, parseBlockHeader, powLimitProblem, proofOfWorkProblem, POW_LIMITS } from "../../../lib/anchors/btc/index.js";
import { createRegtestChain } from "../../support/btc-regtest.js";

// [bits, expected target | "zero" | "negative" | "overflow"], from Core's SetCompact tests.
const VECTORS: ReadonlyArray<[number, bigint | "zero" | "negative" | "overflow"]> = [
  [0x00000000, "zero"],
  [0x00123456, "zero"],
  [0x01003456, "zero"],
  [0x02000056, "zero"],
  [0x03000000, "zero"],
  [0x04000000, "zero"],
  [0x00923456, "zero"],
  [0x01803456, "zero"],
  [0x02800056, "zero"],
  [0x03800000, "zero"],
  [0x04800000, "zero"],
  [0x01123456, 0x12n],
  [0x01fedcba, "negative"],
  [0x02123456, 0x1234n],
  [0x03123456, 0x123456n],
  [0x04123456, 0x12345600n],
  [0x04923456, "negative"],
  [0x05009234, 0x92340000n],
  [0x20123456, 0x123456n << 232n],
  [0xff123456, "overflow"],
  [0x1d00ffff, 0xffffn << 208n],
  [0x207fffff, 0x7fffffn << 232n],
];

describe("compact target", () => {
  for (const [bits, expected] of VECTORS) {
    test(`decode: 0x${bits.toString(16).padStart(8, "0")} → ${typeof expected === "bigint" ? `0x${expected.toString(16)}` : expected}`, () => {
      const decoded = decodeCompactTarget(bits);
      if (typeof expected === "bigint") assert.deepEqual(decoded, { ok: true, target: expected });
      else {
        assert.equal(decoded.ok, false);
        assert.match(decoded.ok ? "" : decoded.reason, new RegExp(expected));
      }
    });
  }

  test("pow: a regtest header meets its own target, and the same header claiming a harder target does not", () => {
    const chain = createRegtestChain(1);
    const raw = Buffer.from(chain.blocks[1]!.toBuffer(true));
    assert.equal(proofOfWorkProblem(parseBlockHeader(raw)!), undefined);
    raw.writeUInt32LE(0x1d00ffff, 72);
    assert.match(proofOfWorkProblem(parseBlockHeader(raw)!)!, /does not meet the target of its own bits 0x1d00ffff/);
  });

  test("pow limit: regtest bits are acceptable on regtest only", () => {
    const header = parseBlockHeader(createRegtestChain(1).blocks[1]!.toBuffer(true))!;
    assert.equal(powLimitProblem(header, "regtest"), undefined);
    for (const network of ["mainnet", "testnet", "signet"] as const) assert.match(powLimitProblem(header, network)!, /exceed the btc:\w+ proof-of-work limit/);
    assert.equal(POW_LIMITS.mainnet.toString(16), "f".repeat(56), "Core: 00000000ffff…ff");
  });
});
