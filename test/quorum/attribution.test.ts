/**
 * Attribution of a contested root (lib/quorum/attribution.ts, docs/FEDERATION_SEMANTICS.md §8.
 * Quorum): per claim the k-th smallest witness time of its checkpoint, the earliest claim wins.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { attributedClaim, witnessedAt, type AttributionClaim, type WitnessMark } from "../../lib/quorum/attribution.js";

const W = ["did:vm:node:w1", "did:vm:node:w2", "did:vm:node:w3", "did:vm:node:w4"];
const GENUINE = `sha256:${"01".repeat(32)}`;
const COPY = `sha256:${"02".repeat(32)}`;
const mark = (signer: string, checkpoint: string, ts: number): WitnessMark => ({ signer, checkpoint, ts });
const claim = (checkpoint: string, marks: WitnessMark[]): AttributionClaim => ({ checkpoint, cosignatures: marks });

describe("attribution: the claim that reached k witnesses first", () => {
  test("attribution: the k-th smallest witness time decides, not the first one", () => {
    const genuine = claim(GENUINE, [mark(W[0]!, GENUINE, 100), mark(W[1]!, GENUINE, 101), mark(W[2]!, GENUINE, 500)]);
    // One lying witness cosigned the copy at 1: with k = 2 it needs a second witness, who came at 200.
    const copy = claim(COPY, [mark(W[3]!, COPY, 1), mark(W[2]!, COPY, 200)]);
    assert.equal(witnessedAt(genuine, { k: 2, witnesses: W }), 101);
    assert.equal(witnessedAt(copy, { k: 2, witnesses: W }), 200);
    assert.equal(attributedClaim([copy, genuine], { k: 2, witnesses: W }), 1);
    assert.equal(attributedClaim([genuine, copy], { k: 2, witnesses: W }), 0, "the order the claims are listed in does not matter");
  });

  test("attribution: k - 1 lying witnesses cannot bring a claim before an honest witness saw it", () => {
    const genuine = claim(GENUINE, [mark(W[0]!, GENUINE, 100), mark(W[1]!, GENUINE, 100), mark(W[2]!, GENUINE, 100)]);
    const copy = claim(COPY, [mark(W[3]!, COPY, 1), mark(W[0]!, COPY, 150), mark(W[1]!, COPY, 150)]);
    assert.equal(attributedClaim([genuine, copy], { k: 2, witnesses: W }), 0);
  });

  test("attribution: no policy, fewer than k witnesses, or a tie in the same second attribute nothing", () => {
    const genuine = claim(GENUINE, [mark(W[0]!, GENUINE, 100), mark(W[1]!, GENUINE, 101)]);
    const copy = claim(COPY, [mark(W[2]!, COPY, 90), mark(W[3]!, COPY, 101)]);
    assert.equal(attributedClaim([genuine, copy], undefined), undefined);
    assert.equal(attributedClaim([genuine, copy], { k: 3, witnesses: W }), undefined);
    assert.equal(attributedClaim([genuine, copy], { k: 2, witnesses: W }), undefined, "both reached 2 at 101");
  });

  test("attribution: only listed witnesses count, each once, and two DIDs holding one key count once", () => {
    const marks = [mark("did:vm:node:stranger", GENUINE, 1), mark(W[0]!, GENUINE, 100), mark(W[0]!, GENUINE, 50), mark(W[1]!, GENUINE, 300), mark(W[2]!, COPY, 2)];
    assert.equal(witnessedAt(claim(GENUINE, marks), { k: 2, witnesses: W }), 300, "w1's earliest (50) and w2 (300); the stranger and the other checkpoint do not count");
    const sameKey = (s: string) => (s === W[1] ? W[0]! : s);
    assert.equal(witnessedAt(claim(GENUINE, marks), { k: 2, witnesses: W }, sameKey), undefined, "w1 and w2 are one key");
  });

  test("attribution: earliest witnessed inclusion in the origins' logs decides over the witness cosignature times", () => {
    // The copy reached both witnesses first (quorum cosignatures at 50), but the genuine checkpoint was in a witnessed head of its origin's log at 100, the copy's at 200.
    const genuine = { ...claim(GENUINE, [mark(W[0]!, GENUINE, 300), mark(W[1]!, GENUINE, 300)]), loggedAt: 100 };
    const copy = { ...claim(COPY, [mark(W[0]!, COPY, 50), mark(W[1]!, COPY, 50)]), loggedAt: 200 };
    assert.equal(attributedClaim([copy, genuine], { k: 2, witnesses: W }), 1);
    assert.equal(attributedClaim([{ ...copy, loggedAt: undefined }, { ...genuine, loggedAt: undefined }], { k: 2, witnesses: W }), 0, "without the logs the witness times decide");
  });

  test("attribution: once any claim is logged an unlogged claim cannot be attributed; a tie in the log leaves it open; no policy attributes nothing", () => {
    const genuine = { ...claim(GENUINE, []), loggedAt: 100 };
    const copy = claim(COPY, [mark(W[0]!, COPY, 1), mark(W[1]!, COPY, 1)]);
    assert.equal(attributedClaim([copy, genuine], { k: 2, witnesses: W }), 1, "the copy reached k witnesses, but is in no witnessed head");
    assert.equal(attributedClaim([{ ...copy, loggedAt: 100 }, genuine], { k: 2, witnesses: W }), undefined, "both witnessed in the same second");
    assert.equal(attributedClaim([copy, genuine], undefined), undefined);
  });
});
