/**
 * verifyLogged and orderByWitnessedInclusion (lib/origin-log/logged.ts): a checkpoint's
 * inclusion in its origin's cosigned log head, checked offline, and the attribution order of
 * claims of one root by earliest witnessed inclusion, which a claimant's own times cannot move.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { digestBytes } from "../../lib/digest.js";
import { generateNodeKey, type NodeKey } from "../../lib/identity/keys.js";
import { signCheckpoint, type Checkpoint } from "../../lib/messages/checkpoint.js";
import { logOrigin } from "../../lib/origin-log/origin-log.js";
import { orderByWitnessedInclusion, verifyLogged, type LogInclusionProof, type LogTrust } from "../../lib/origin-log/logged.js";
import { witnessName } from "../../lib/origin-log/witness-name.js";
import { checkpointDigest } from "../../lib/reconcile/version-items.js";
import { formatCheckpoint } from "../../lib/tlog/checkpoint.js";
import { cosignatureSigner } from "../../lib/tlog/cosignature.js";
import { ed25519NoteSigner, noteSignatureLine, signNote } from "../../lib/tlog/note.js";
import { inclusionProof } from "../../lib/tlog/proof.js";
import { TiledLog } from "../../lib/tlog/tiled-log.js";
import { entry, memoryStorage } from "./memory-log.js";

const ROOT = `sha256:${"ab".repeat(32)}`;
const witnesses = ["w1", "w2", "w3"].map((n) => ({ did: `did:vm:node:${n}`, key: generateNodeKey() }));
const trustOf = (key: NodeKey, k = 2): LogTrust => ({ originKey: key.publicKeyBytes, witnesses: new Map(witnesses.map((w) => [w.did, w.key.publicKeyBytes])), k });

function checkpointBy(did: string, key: NodeKey, batchId: string, createdAt: number): Checkpoint {
  return signCheckpoint({ namespace: "dao:x", origin: did, batchId, batchRoot: ROOT, tree: "rfc9162-sha256", size: 4, createdAt, ts: createdAt }, key.privateKey);
}

/** A log of `before` other entries then `cp`, its head cosigned by the witnesses at `times` (one each, in order). */
async function logged(did: string, key: NodeKey, cp: Checkpoint, before: number, times: number[]): Promise<LogInclusionProof> {
  const log = new TiledLog(memoryStorage(), 0);
  await log.append([...Array.from({ length: before }, (_, i) => entry(1000 + i)), digestBytes(checkpointDigest(cp))]);
  const origin = logOrigin(did);
  const text = formatCheckpoint({ origin, size: log.size, rootHash: await log.rootHash() });
  const head = signNote(text, [ed25519NoteSigner(origin, key.privateKey, key.publicKeyBytes)]) + times.map((t, i) => noteSignatureLine(text, cosignatureSigner(witnessName(witnesses[i]!.did), witnesses[i]!.key.privateKey, witnesses[i]!.key.publicKeyBytes, () => t))).join("");
  const proof = await inclusionProof(before, log.size, log.reader);
  return { head, index: before, proof: proof.map((h) => Buffer.from(h).toString("base64")) };
}

describe("verifyLogged", () => {
  test("a checkpoint in a head cosigned by 3 witnesses: witnessed at the k-th earliest time", async () => {
    const key = generateNodeKey();
    const cp = checkpointBy("did:vm:node:g", key, "b1", 100);
    const log = await logged("did:vm:node:g", key, cp, 5, [300, 100, 200]);
    const r = verifyLogged(cp, log, trustOf(key));
    assert.equal(r.outcome, "verified");
    assert.ok(r.outcome === "verified");
    assert.deepEqual(r.cosigners.map((c) => c.time), [100, 200, 300]);
    assert.equal(r.witnessedAt, 200);
    assert.equal((verifyLogged(cp, log, trustOf(key, 4)) as { witnessedAt?: number }).witnessedAt, undefined, "fewer than k");
  });

  test("the origin's own cosignature of its log never counts, under its DID or another DID with its key", async () => {
    // w1 is the origin and a listed witness; it cosigns its own head, then w2 does: one witness, not two.
    const [w1, w2] = witnesses;
    const cp = checkpointBy(w1!.did, w1!.key, "b1", 100);
    const log = await logged(w1!.did, w1!.key, cp, 3, [100, 200]);
    const r = verifyLogged(cp, log, trustOf(w1!.key));
    assert.ok(r.outcome === "verified");
    assert.deepEqual(r.cosigners.map((c) => c.did), [w2!.did]);
    assert.equal(r.witnessedAt, undefined, "k = 2 needs two witnesses other than the origin");
    // The same key listed under a second DID is still the origin.
    const alias = { ...trustOf(w1!.key), witnesses: new Map([[w2!.did, w2!.key.publicKeyBytes], ["did:vm:node:alias", w1!.key.publicKeyBytes]]) };
    const r2 = verifyLogged(cp, log, alias);
    assert.ok(r2.outcome === "verified");
    assert.deepEqual(r2.cosigners.map((c) => c.did), [w2!.did]);
    assert.equal(verifyLogged(cp, log, { ...trustOf(w1!.key), k: 1 }).outcome, "verified");
    assert.equal((verifyLogged(cp, log, { ...trustOf(w1!.key), k: 1 }) as { witnessedAt?: number }).witnessedAt, 200, "w2's time, not the origin's 100");
  });

  test("another checkpoint, another index, a flipped proof hash, another origin's key or a forged head are refused", async () => {
    const key = generateNodeKey();
    const cp = checkpointBy("did:vm:node:g", key, "b1", 100);
    const log = await logged("did:vm:node:g", key, cp, 5, [100, 200]);
    assert.match((verifyLogged(checkpointBy("did:vm:node:g", key, "b2", 100), log, trustOf(key)) as { reason: string }).reason, /log\.proof/);
    assert.match((verifyLogged(cp, { ...log, index: 4 }, trustOf(key)) as { reason: string }).reason, /log\.proof/);
    const flipped = Buffer.from(log.proof[0]!, "base64");
    flipped[0]! ^= 1;
    assert.equal(verifyLogged(cp, { ...log, proof: [flipped.toString("base64"), ...log.proof.slice(1)] }, trustOf(key)).outcome, "rejected");
    assert.match((verifyLogged(cp, log, trustOf(generateNodeKey())) as { reason: string }).reason, /log\.head/);
    assert.equal(verifyLogged(cp, { ...log, head: log.head.replace("\n6\n", "\n7\n") }, trustOf(key)).outcome, "rejected");
  });
});

describe("orderByWitnessedInclusion", () => {
  test("a hostile origin's claim of another's root, with an earlier createdAt, is ordered after the genuine claim witnessed first", async () => {
    const gKey = generateNodeKey();
    const hKey = generateNodeKey();
    const genuine = checkpointBy("did:vm:node:g", gKey, "b-genuine", 2_000);
    const hostile = checkpointBy("did:vm:node:h", hKey, "b-copy", 1_000);
    const claims = [
      { name: "hostile", checkpoint: hostile, log: await logged("did:vm:node:h", hKey, hostile, 0, [5_000, 5_001, 10]) },
      { name: "genuine", checkpoint: genuine, log: await logged("did:vm:node:g", gKey, genuine, 3, [2_100, 2_200, 2_300]) },
      { name: "unlogged", checkpoint: checkpointBy("did:vm:node:u", hKey, "b-u", 1) },
    ];
    const trust = (origin: string) => (origin === "did:vm:node:g" ? trustOf(gKey) : trustOf(hKey));
    const ordered = orderByWitnessedInclusion(claims, trust);
    assert.deepEqual(ordered.map((c) => [c.name, c.witnessedAt]), [["genuine", 2_200], ["hostile", 5_000], ["unlogged", undefined]]);
    // One lying witness (time 10) cannot move the hostile claim before the genuine one: k = 2.
    assert.deepEqual(orderByWitnessedInclusion([...claims].reverse(), trust).map((c) => c.name), ["genuine", "hostile", "unlogged"]);
  });
});
