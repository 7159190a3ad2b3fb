/**
 * The proof-file and trust-file formats and the quorum step, in process (docs/EXPLORER.md
 * §Proof files, §Trust files): the builder keeps only what binds to the checkpoint, the readers
 * refuse what is not theirs with the member named, and step 4 counts as every node counts
 * (one per DID and per key, only this checkpoint, never a winner the checker rejected). The
 * anchor check is a parameter here; the real TSA check runs in verify-proof.test.ts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createPublicKey, randomBytes, verify, type KeyObject } from "node:crypto";
import { messageDigest } from "../../lib/messages/canonical.js";
import { signCheckpoint, type Checkpoint } from "../../lib/messages/checkpoint.js";
import { signCosignature, type Cosignature } from "../../lib/messages/cosignature.js";
import { generateNodeKey, rawPublicKey, type NodeKey } from "../../lib/identity/keys.js";
import { inclusionProof, merkleRoot } from "../../lib/merkle/index.js";
import type { AnchorRecord } from "../../lib/conflict/record.js";
import { parseProofFile, proofFile, type ProofFile } from "../../lib/proof/file.js";
import { parseStrictJson } from "../../lib/proof/read.js";
import { trustFile, trustPolicy, weakKeyProblem, type TrustPolicy } from "../../lib/proof/trust.js";
import { verifyProof, type AnchorCheck } from "../../lib/proof/verify.js";
import { exportableLog } from "../../lib/proof/log-part.js";
import type { Receipt } from "../../lib/receipt.js";
import { digestBytes } from "../../lib/digest.js";
import { rfc9162InclusionPaths, rfc9162TreeHead } from "../../lib/merkle/rfc9162.js";
import { logOrigin } from "../../lib/origin-log/origin-log.js";
import { witnessName } from "../../lib/origin-log/witness-name.js";
import { checkpointDigest } from "../../lib/reconcile/version-items.js";
import { formatCheckpoint } from "../../lib/tlog/checkpoint.js";
import { cosignatureSigner } from "../../lib/tlog/cosignature.js";
import { ed25519NoteSigner, noteSignatureLine, signNote } from "../../lib/tlog/note.js";

const NS = "dao:vaultmesh";
const origin = { did: "did:vm:node:a", key: generateNodeKey() };
const witnesses = ["w1", "w2", "w3"].map((n) => ({ did: `did:vm:node:${n}`, key: generateNodeKey() }));
const leaves = Array.from({ length: 3 }, () => `sha256:${randomBytes(32).toString("hex")}`);
const root = merkleRoot(leaves, "vmsh-dup-sha256");
const checkpoint: Checkpoint = signCheckpoint({ namespace: NS, origin: origin.did, batchId: "b-1", batchRoot: root, tree: "vmsh-dup-sha256", size: 3, createdAt: 1_760_000_000, ts: 1_760_000_001 }, origin.key.privateKey);
const receipt: Receipt = { id: leaves[1]!, namespace: NS, batchId: "b-1", batchRoot: root, eventHash: leaves[1]!, ts: 1_760_000_000, proof: inclusionProof(leaves, 1, "vmsh-dup-sha256") };
const anchor = (tx: string, outcome: AnchorRecord["outcome"], batchRoot = root): AnchorRecord => ({ batchId: "b-1", batchRoot, chain: "rfc3161:t", tx, block: 0, ts: 1_760_000_005, sig: "AAAA", outcome });
const winner = { chain: "rfc3161:t", tx: "tsa-1" };
const cosign = (w: { did: string; key: NodeKey }, over: Partial<Cosignature> = {}, cp: Checkpoint = checkpoint): Cosignature =>
  signCosignature({ namespace: NS, origin: origin.did, batchId: "b-1", batchRoot: root, checkpoint: messageDigest(cp), winner, verified: [winner], ts: 1_760_000_010, signer: w.did, ...over }, w.key.privateKey);

const verifiedCheck: AnchorCheck = async () => ({ outcome: "verified" });
const policy = (k: number, keys: Array<[string, KeyObject]> = witnesses.map((w) => [w.did, w.key.publicKey])): TrustPolicy => ({
  namespaces: new Map([[NS, { origins: new Map([[origin.did, origin.key.publicKey]]), quorum: { k, witnesses: new Map(keys) } }]]),
});
const file = (cosignatures: Cosignature[], anchors = [anchor("tsa-1", "verified")]): ProofFile => proofFile(receipt, { checkpoint, anchors, cosignatures }, "did:vm:node:c", 1_760_000_100);

describe("proof file: the builder and the reader", () => {
  test("proofFile: only anchors over the checkpoint's root and cosignatures of that checkpoint; verified anchors first, at most 64", () => {
    const other = signCheckpoint({ ...checkpoint, createdAt: checkpoint.createdAt + 1 }, origin.key.privateKey);
    const many = Array.from({ length: 70 }, (_, i) => anchor(`tsa-r${i}`, "rejected"));
    const p = file([cosign(witnesses[0]!), cosign(witnesses[1]!, {}, other)], [...many, anchor("elsewhere", "verified", `sha256:${"3".repeat(64)}`), anchor("tsa-1", "verified")]);
    assert.equal(p.anchors.length, 64);
    assert.equal(p.anchors[0]!.tx, "tsa-1");
    assert.ok(!p.anchors.some((a) => a.tx === "elsewhere"));
    assert.deepEqual(p.cosignatures.map((c) => c.signer), [witnesses[0]!.did]);
    assert.deepEqual(p.exporterVerdicts[0], { chain: "rfc3161:t", tx: "tsa-1", outcome: "verified" });
    assert.deepEqual(parseProofFile(JSON.parse(JSON.stringify(p))), p);
  });

  test("parseProofFile: refuses another version, an unknown member, too many anchors and a bad checkpoint, naming the member", () => {
    const good = JSON.parse(JSON.stringify(file([])));
    const cases: Array<[string, (p: Record<string, any>) => void, RegExp]> = [
      ["v 3", (p) => (p.v = 3), /proof\.v: expected 2, got 3/],
      ["v 1", (p) => (p.v = 1), /version 1 proof file: it binds no origin checkpoint/],
      ["unknown member", (p) => (p.note = "x"), /proof: unknown member "note"/],
      ["65 anchors", (p) => (p.anchors = Array(65).fill(p.anchors[0])), /proof\.anchors: expected a list of at most 64/],
      ["checkpoint signer", (p) => (p.checkpoint.signer = "did:vm:node:z"), /proof\.checkpoint\.signer: must equal origin/],
      ["exportedBy not a DID", (p) => (p.exportedBy = "<script>"), /proof\.exportedBy: does not match/],
    ];
    for (const [what, alter, want] of cases) {
      const p = structuredClone(good);
      alter(p);
      assert.throws(() => parseProofFile(p), (e: Error) => want.test(e.message), what);
    }
  });
});

describe("trust file: written and read back", () => {
  test("trustFile → JSON → trustPolicy keeps every key, k and the TSA material", () => {
    const p: TrustPolicy = { ...policy(2), tsa: { tsas: new Map([["t", { subject: "CN=t" }]]) } };
    const back = trustPolicy(JSON.parse(JSON.stringify(trustFile(p, origin.did, 1))));
    const ns = back.namespaces.get(NS)!;
    assert.ok(ns.origins.get(origin.did)!.equals(origin.key.publicKey));
    assert.equal(ns.quorum!.k, 2);
    for (const w of witnesses) assert.ok(ns.quorum!.witnesses.get(w.did)!.equals(w.key.publicKey));
    assert.deepEqual([...back.tsa!.tsas], [["t", { subject: "CN=t" }]]);
  });

  test("trustPolicy: refuses what is not a version 1 trust file, naming the member", () => {
    const good = JSON.parse(JSON.stringify(trustFile(policy(2), origin.did, 1)));
    const cases: Array<[string, (t: Record<string, any>) => void, RegExp]> = [
      ["type", (t) => (t.type = "vmsh-proof"), /trust\.type: expected "vmsh-trust"/],
      ["v", (t) => (t.v = 2), /trust\.v: expected 1, got 2/],
      ["unknown member", (t) => (t.peers = []), /trust: unknown member "peers"/],
      ["bad key", (t) => (t.namespaces[0].origins[0].key = "ed25519:short"), /trust\.namespaces\[0\]\.origins\[0\]\.key: expected 32 key bytes/],
      ["DID twice", (t) => t.namespaces[0].origins.push(t.namespaces[0].origins[0]), /origins\[1\]\.did: did:vm:node:a is listed twice/],
      ["k above witnesses", (t) => (t.namespaces[0].quorum.k = 4), /quorum\.k: 4 is more than the 3 witnesses listed/],
      ["namespace twice", (t) => t.namespaces.push(t.namespaces[0]), /namespaces\[1\]\.name: dao:vaultmesh is listed twice/],
      ["PEM without certificate", (t) => (t.tsa = { tsas: [], trustBundle: "not a certificate" }), /trust\.tsa\.trustBundle: holds no PEM certificate/],
      ["PEM that does not parse", (t) => (t.tsa = { tsas: [], trustBundle: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----" }), /trust\.tsa\.trustBundle: certificate #1 does not parse/],
    ];
    for (const [what, alter, want] of cases) {
      const t = structuredClone(good);
      alter(t);
      assert.throws(() => trustPolicy(t), (e: Error) => want.test(e.message), what);
    }
  });
});

describe("step 4: the witnesses, counted as every node counts them", () => {
  test("k distinct witnesses of this checkpoint and one winner: final (2 of 3)", async () => {
    const v = await verifyProof(file([cosign(witnesses[0]!), cosign(witnesses[1]!)]), policy(2), verifiedCheck);
    assert.equal(v.ok, true);
    assert.equal(v.final, true);
    assert.deepEqual({ state: v.quorum!.state, k: v.quorum!.k, n: v.quorum!.n, cosigners: v.quorum!.cosigners }, { state: "final", k: 2, n: 3, cosigners: [witnesses[0]!.did, witnesses[1]!.did] });
  });

  test("one key under two DIDs counts once", async () => {
    const shared: Array<[string, KeyObject]> = [[witnesses[0]!.did, witnesses[0]!.key.publicKey], ["did:vm:node:twin", witnesses[0]!.key.publicKey]];
    const twin = { did: "did:vm:node:twin", key: witnesses[0]!.key };
    const v = await verifyProof(file([cosign(witnesses[0]!), cosign(twin)]), policy(2, shared), verifiedCheck);
    assert.equal(v.ok, true);
    assert.equal(v.final, false);
    assert.equal(v.quorum!.cosigners.length, 1);
  });

  test("a cosignature of another checkpoint, or by a signer the policy does not list, does not count and is named", async () => {
    const other = signCheckpoint({ ...checkpoint, createdAt: checkpoint.createdAt + 1 }, origin.key.privateKey);
    const stranger = { did: "did:vm:node:stranger", key: generateNodeKey() };
    const v = await verifyProof(file([]), policy(2), verifiedCheck);
    const withOthers = { ...file([]), cosignatures: [cosign(witnesses[0]!), cosign(witnesses[1]!, {}, other), cosign(stranger)] };
    const w = await verifyProof(withOthers, policy(2), verifiedCheck);
    assert.equal(v.final, false);
    assert.equal(w.final, false);
    assert.deepEqual(w.quorum!.ignored.map((i) => [i.signer, i.reason.replace(/sha256:[0-9a-f]{64}/g, "D")]), [
      [witnesses[1]!.did, "names another checkpoint (D), not this proof's D"],
      [stranger.did, "is not a witness of dao:vaultmesh in the trust policy"],
    ]);
  });

  test("witnesses naming as winner an anchor this checker rejected: not final, with the reason", async () => {
    const rejectsIt: AnchorCheck = async (a) => (a.tx === "tsa-1" ? { outcome: "rejected", reason: "bad token" } : { outcome: "verified" });
    const v = await verifyProof(file([cosign(witnesses[0]!), cosign(witnesses[1]!)], [anchor("tsa-1", "verified"), anchor("tsa-2", "verified")]), policy(2), rejectsIt);
    assert.equal(v.ok, true);
    assert.equal(v.final, false);
    assert.match(v.quorum!.reason!, /cosigned rfc3161:t\/tsa-1 as winner, which this node rejected/);
  });

  test("no quorum in the policy: final once an anchor verifies, never before", async () => {
    const none: TrustPolicy = { namespaces: new Map([[NS, { origins: new Map([[origin.did, origin.key.publicKey]]) }]]) };
    assert.equal((await verifyProof(file([]), none, verifiedCheck)).final, true);
    const unchecked = await verifyProof(file([]), none, async () => ({ outcome: "unchecked" }));
    assert.equal(unchecked.ok, false);
    assert.equal(unchecked.final, false);
    assert.match(unchecked.failure!, /^anchors: no anchor over sha256:[0-9a-f]{64} verified here; first, rfc3161:t\/tsa-1: unchecked$/);
    assert.equal(unchecked.facts, undefined, "no fact is stated for a proof that does not hold");
  });
});

describe("the log part: the checkpoint in its origin's log, counted by distinct witnesses other than the origin", () => {
  // a's log of three entries, the checkpoint's digest at index 1 (docs/EXPLORER.md §The log part).
  const entries = [randomBytes(32), digestBytes(checkpointDigest(checkpoint)), randomBytes(32)].map((b) => Uint8Array.from(b));
  const text = formatCheckpoint({ origin: logOrigin(origin.did), size: 3, rootHash: rfc9162TreeHead(entries) });
  const cosignLine = (w: { did: string; key: NodeKey }, time: number) => noteSignatureLine(text, cosignatureSigner(witnessName(w.did), w.key.privateKey, w.key.publicKeyBytes, () => time));
  const head = (...lines: string[]) => signNote(text, [ed25519NoteSigner(logOrigin(origin.did), origin.key.privateKey, origin.key.publicKeyBytes)]) + lines.join("");
  const path = rfc9162InclusionPaths(entries)[1]!.map((h) => Buffer.from(h).toString("base64"));
  const logged = (note: string): ProofFile => ({ ...file([]), log: { head: note, index: 1, proof: path } });

  test("proofFile writes the log part it is given, and parseProofFile reads it back unchanged", () => {
    const note = head(cosignLine(witnesses[0]!, 200));
    const p = proofFile(receipt, { checkpoint, anchors: [anchor("tsa-1", "verified")], cosignatures: [] }, "did:vm:node:c", 1_760_000_100, { head: note, index: 1, proof: path });
    assert.deepEqual(p.log, { head: note, index: 1, proof: path });
    assert.deepEqual(parseProofFile(JSON.parse(JSON.stringify(p))), p);
    assert.equal(file([]).log, undefined);
  });

  test("witnessed at the k-th earliest cosignature time: 200 with k = 2, 100 with k = 1", async () => {
    const note = head(cosignLine(witnesses[0]!, 200), cosignLine(witnesses[1]!, 100));
    const two = await verifyProof(logged(note), policy(2), verifiedCheck);
    assert.equal(two.ok, true, two.failure);
    assert.deepEqual(two.log, { ok: true });
    assert.deepEqual(two.logged, { state: "logged", log: logOrigin(origin.did), index: 1, size: 3, k: 2, n: 3, cosigners: [{ did: witnesses[1]!.did, time: 100 }, { did: witnesses[0]!.did, time: 200 }], witnessedAt: 200 });
    const one = await verifyProof(logged(note), policy(1), verifiedCheck);
    assert.equal(one.logged?.state === "logged" && one.logged.witnessedAt, 100);
    const none = await verifyProof(file([]), policy(1), verifiedCheck);
    assert.equal(none.ok, true);
    assert.equal(none.log, undefined);
    assert.equal(none.logged?.state, "unlogged");
  });

  test("the origin listed as a witness does not count toward k for its own log; a witness's line twice counts once", async () => {
    const withOrigin = policy(2, [[origin.did, origin.key.publicKey], ...witnesses.map((w): [string, KeyObject] => [w.did, w.key.publicKey])]);
    const own = await verifyProof(logged(head(cosignLine(origin, 50), cosignLine(witnesses[0]!, 200))), withOrigin, verifiedCheck);
    assert.equal(own.ok, false);
    assert.equal(own.logged, undefined);
    assert.equal(own.failure, `log.head: cosigned by 1 of the 2 distinct witnesses of ${NS} needed (${witnesses[0]!.did}); the origin's own cosignature of its log does not count`);
    const twice = await verifyProof(logged(head(cosignLine(witnesses[0]!, 200), cosignLine(witnesses[0]!, 201))), policy(2), verifiedCheck);
    assert.equal(twice.ok, false);
    assert.match(twice.failure!, /^log\.head: cosigned by 1 of the 2 distinct witnesses/);
    // An exporter whose own trust would count the origin writes no log part verify-proof refuses.
    const raw = (k: KeyObject) => rawPublicKey(k);
    const exporterTrust = { originKey: origin.key.publicKeyBytes, witnesses: new Map([[origin.did, raw(origin.key.publicKey)], ...witnesses.map((w): [string, Uint8Array] => [w.did, raw(w.key.publicKey)])]), k: 2 };
    const selfCosigned = { head: head(cosignLine(origin, 50), cosignLine(witnesses[0]!, 200)), index: 1, proof: path };
    assert.deepEqual(exportableLog(checkpoint, selfCosigned, exporterTrust), { state: "unlogged", reason: "the head including it has 1 of 2 witness cosignatures, the origin's own not counted" });
    const twoWitnesses = { ...selfCosigned, head: head(cosignLine(witnesses[1]!, 50), cosignLine(witnesses[0]!, 200)) };
    assert.deepEqual(exportableLog(checkpoint, twoWitnesses, exporterTrust), { state: "logged", proof: twoWitnesses });
    assert.equal(exportableLog(checkpoint, { ...twoWitnesses, index: 0 }, exporterTrust).state, "unlogged");
    // Counted, the same lines make k = 1 hold: the refusal above is the count, not the lines.
    assert.equal((await verifyProof(logged(head(cosignLine(witnesses[0]!, 200), cosignLine(witnesses[0]!, 201))), policy(1), verifiedCheck)).ok, true);
  });
});

describe("keys that bind no one, and JSON that says two things", () => {
  // Every Ed25519 encoding of a point of order 1, 2, 4 or 8 (both sign bits; y = p and p + 1 too).
  const smallOrder = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  ].flatMap((y) => [Buffer.from(y, "hex"), Buffer.from(y.slice(0, 62) + (parseInt(y.slice(62), 16) | 0x80).toString(16), "hex")]);
  /** Messages of 64 for which R = identity, S = 0 verifies under `raw`, no private key involved. */
  const keylessForgeries = (raw: Uint8Array): number => {
    const key = createPublicKey({ key: Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), raw]), format: "der", type: "spki" });
    const sig = Buffer.alloc(64);
    sig[0] = 1;
    return Array.from({ length: 64 }, (_, i) => verify(null, Buffer.from(`m${i}`), key, sig)).filter(Boolean).length;
  };

  test("weakKeyProblem refuses exactly the keys under which a signature can be made without a private key", () => {
    assert.equal(smallOrder.length, 14);
    for (const raw of smallOrder) {
      assert.ok(keylessForgeries(raw) > 0, `${raw.toString("hex")} is not forgeable: the list is wrong`);
      assert.match(weakKeyProblem(raw) ?? "", /small order/, raw.toString("hex"));
    }
    for (const w of witnesses) {
      assert.equal(keylessForgeries(w.key.publicKeyBytes), 0);
      assert.equal(weakKeyProblem(w.key.publicKeyBytes), undefined);
    }
    const nonCanonical = Buffer.from("f0ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", "hex");
    assert.match(weakKeyProblem(nonCanonical)!, /not a canonical Ed25519 point encoding/);
  });

  test("parseStrictJson: a member twice is named with its path, after unescaping; strings holding braces, commas and quotes do not confuse it", () => {
    const cases: Array<[string, RegExp | undefined]> = [
      ['{"a":1,"a":2}', /^p: member "a" appears twice$/],
      ['{"a":1,"\u0061":2}', /^p: member "a" appears twice$/],
      ['{"x":[{"a":1},{"b":{"c":1,"c":2}}]}', /^p\.x\[1\]\.b: member "c" appears twice$/],
      [JSON.stringify({ a: '}{,\\"a":"', b: { a: 1 }, c: [{ a: 1 }, { a: 2 }] }), undefined],
      ['{"a":{"a":{"a":1}}}', undefined],
    ];
    for (const [text, want] of cases) {
      if (want === undefined) assert.deepEqual(parseStrictJson(text, "p"), JSON.parse(text), text);
      else assert.throws(() => parseStrictJson(text, "p"), (e: Error) => want.test(e.message), text);
    }
  });
});
