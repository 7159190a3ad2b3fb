import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { KeyObject } from "node:crypto";
import { generateNodeKey, type NodeKey } from "../../lib/identity/keys.js";
import { parseCosignature, signCosignature, verifyCosignature, type Cosignature } from "../../lib/messages/cosignature.js";
import { quorumStatus, witnessFaults, type QuorumPolicy, type QuorumSubject } from "../../lib/quorum/state.js";
import { ProtocolError } from "../../lib/errors.js";

const ROOT = `sha256:${"ab".repeat(32)}`;
const CHECKPOINT = `sha256:${"01".repeat(32)}`;
const OTHER_CHECKPOINT = `sha256:${"02".repeat(32)}`;
const BTC = { chain: "btc:regtest", tx: "cd".repeat(32) };
const TSA = { chain: "rfc3161:vmsh-test", tx: "tsa-b-1" };
const W = ["did:vm:node:w1", "did:vm:node:w2", "did:vm:node:w3", "did:vm:node:w4"];
const witnessKeys = new Map<string, NodeKey>(W.map((did) => [did, generateNodeKey()]));
const keys = new Map<string, KeyObject>([...witnessKeys].map(([did, k]) => [did, k.publicKey]));
const subject: QuorumSubject = { namespace: "dao:vaultmesh", origin: "did:vm:node:a", batchId: "b-1", batchRoot: ROOT, checkpoint: CHECKPOINT, winner: BTC, rejected: [] };

function cosign(signer: string, over: Partial<Omit<Cosignature, "type" | "v" | "sig">> = {}, key: NodeKey = witnessKeys.get(signer)!): Cosignature {
  return signCosignature({ namespace: subject.namespace, origin: subject.origin, batchId: subject.batchId, batchRoot: ROOT, checkpoint: CHECKPOINT, winner: BTC, verified: [BTC, TSA], ts: 1_760_000_000, signer, ...over }, key.privateKey);
}

/** The quorum state when this node holds both checkpoints signed by the origin (an equivocation can be shown). */
const status = (s: QuorumSubject, p: QuorumPolicy, k: ReadonlyMap<string, KeyObject>, held: Cosignature[], signed: ReadonlySet<string> = new Set([CHECKPOINT, OTHER_CHECKPOINT])) => quorumStatus(s, p, k, held, signed);

describe("quorum: k-of-n finality", () => {
  test("quorum: three distinct witnesses cosigning the same checkpoint and winner make k = 3 final", () => {
    const s = status(subject, { k: 3, witnesses: W }, keys, [cosign(W[0]!), cosign(W[1]!), cosign(W[2]!)]);
    assert.deepEqual(s, { state: "final", k: 3, cosigners: [W[0], W[1], W[2]] });
  });

  test("quorum: a witness that found another winner keeps k = 4 awaiting, and is named", () => {
    const s = status(subject, { k: 4, witnesses: W }, keys, [cosign(W[0]!), cosign(W[1]!), cosign(W[2]!), cosign(W[3]!, { winner: TSA, verified: [TSA] })]);
    assert.equal(s.state, "awaiting");
    assert.deepEqual(s.state === "awaiting" && [s.needed, s.notYet, s.disagree], [1, [], [{ signer: W[3], winner: TSA }]]);
  });

  test("quorum: a cosignature of a checkpoint the origin never signed is a witness fault, not a dispute: k = 2 stays final", () => {
    const lie = cosign(W[2]!, { checkpoint: OTHER_CHECKPOINT });
    const held = [cosign(W[0]!), cosign(W[1]!), lie];
    const onlyMine = new Set([CHECKPOINT]);
    assert.deepEqual(status(subject, { k: 2, witnesses: W }, keys, held, onlyMine), { state: "final", k: 2, cosigners: [W[0], W[1]] });
    assert.deepEqual(witnessFaults(subject, { k: 2, witnesses: W }, keys, held, onlyMine), [lie]);
    // Once the origin's signature of that other checkpoint is held, the same cosignature is dispute evidence.
    assert.equal(status(subject, { k: 2, witnesses: W }, keys, held).state, "disputed");
    assert.deepEqual(witnessFaults(subject, { k: 2, witnesses: W }, keys, held, new Set([CHECKPOINT, OTHER_CHECKPOINT])), []);
  });

  test("quorum: a witness that cosigned another checkpoint for the batch makes it disputed, with both signatures", () => {
    const mine = cosign(W[0]!);
    const theirs = cosign(W[1]!, { checkpoint: OTHER_CHECKPOINT });
    const s = status(subject, { k: 2, witnesses: W }, keys, [mine, theirs]);
    assert.equal(s.state, "disputed");
    assert.deepEqual(s.state === "disputed" && s.evidence, [mine, theirs]);
    assert.match(s.state === "disputed" ? s.reason : "", /did:vm:node:w2 cosigned another checkpoint/);
  });

  test("quorum: a witness naming as winner an anchor this node rejected makes it disputed", () => {
    const s = status({ ...subject, winner: BTC, rejected: [TSA] }, { k: 2, witnesses: W }, keys, [cosign(W[0]!), cosign(W[1]!, { winner: TSA })]);
    assert.equal(s.state, "disputed");
    assert.match(s.state === "disputed" ? s.reason : "", /rfc3161:vmsh-test\/tsa-b-1 as winner, which this node rejected/);
  });

  test("quorum: a replayed, forged, non-witness or same-key cosignature does not count", () => {
    const one = cosign(W[0]!);
    const forged = { ...cosign(W[1]!), sig: one.sig };
    const stranger = generateNodeKey();
    const outsider = cosign("did:vm:node:x", {}, stranger);
    // A second DID holding the same key as w1: listed as a witness, but one key is one witness.
    const twinKeys = new Map(keys).set(W[2]!, witnessKeys.get(W[0]!)!.publicKey);
    const twin = cosign(W[2]!, {}, witnessKeys.get(W[0]!)!);
    const s = status(subject, { k: 2, witnesses: W }, twinKeys, [one, one, { ...one }, forged, outsider, twin]);
    assert.equal(s.state, "awaiting");
    assert.deepEqual(s.cosigners, [W[0]]);
  });

  test("quorum: a batch this node holds without a winner is awaiting, however many cosigned", () => {
    const s = status({ ...subject, winner: undefined }, { k: 1, witnesses: W }, keys, [cosign(W[0]!)]);
    assert.equal(s.state, "awaiting");
  });

  test("quorum: the newest cosignature of a witness is its view (re-cosigned after its winner changed)", () => {
    const old = cosign(W[0]!, { winner: TSA, ts: 1 });
    const now = cosign(W[0]!, { ts: 2 });
    assert.equal(status(subject, { k: 1, witnesses: W }, keys, [now, old]).state, "final");
    assert.equal(status(subject, { k: 1, witnesses: W }, keys, [old]).state, "awaiting");
  });
});

describe("cosignature: schema and signature", () => {
  test("cosignature: round-trips through its schema and verifies; every flipped byte of the signature is rejected", () => {
    const c = cosign(W[0]!);
    assert.deepEqual(parseCosignature(JSON.parse(JSON.stringify(c))), c);
    assert.deepEqual(verifyCosignature(c, keys.get(W[0]!)!), { ok: true });
    for (let i = 0; i < c.sig.length; i++) {
      const ch = c.sig[i] === "A" ? "B" : "A";
      const flipped = { ...c, sig: c.sig.slice(0, i) + ch + c.sig.slice(i + 1) };
      assert.equal(verifyCosignature(flipped, keys.get(W[0]!)!).ok, false, `sig[${i}]`);
    }
    assert.equal(verifyCosignature({ ...c, winner: TSA }, keys.get(W[0]!)!).ok, false, "a changed member breaks the signature");
  });

  test("cosignature: the schema names what is wrong", () => {
    const c = cosign(W[0]!);
    const refuse = (value: unknown, message: RegExp) => assert.throws(() => parseCosignature(value), (e: unknown) => e instanceof ProtocolError && e.code === "MALFORMED" && message.test(e.message));
    refuse({ ...c, winner: { chain: "btc:mainnet", tx: "ff".repeat(32) } }, /^cosignature\.winner: is not one of the verified anchors/);
    refuse({ ...c, checkpoint: "sha256:xyz" }, /^cosignature\.checkpoint: expected "sha256:"/);
    refuse({ ...c, extra: 1 }, /^cosignature: unknown member "extra"/);
    refuse({ ...c, verified: [] }, /^cosignature\.verified: expected 1 to 16 items, got 0/);
    refuse({ ...c, v: 2 }, /^cosignature\.v: expected 1/);
  });
});
