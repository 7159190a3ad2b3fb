/**
 * The library's readers of handed-over files refuse what the CLI refuses (lib/proof/read.ts
 * parseStrictJson): given the file's text, `parseProofFile` and `trustPolicy` refuse a member
 * named twice (JSON.parse would keep the last silently, so a file could show one reader one
 * value and the checker another), and read a well-formed file as the parsed value reads.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { inclusionProof, merkleRoot } from "../../lib/merkle/index.js";
import { signCheckpoint } from "../../lib/messages/checkpoint.js";
import { parseProofFile, proofFile } from "../../lib/proof/file.js";
import { trustFile, trustPolicy, type TrustPolicy } from "../../lib/proof/trust.js";
import type { Receipt } from "../../lib/receipt.js";

const NS = "dao:vaultmesh";
const origin = { did: "did:vm:node:a", key: generateNodeKey() };
const leaves = Array.from({ length: 3 }, () => `sha256:${randomBytes(32).toString("hex")}`);
const root = merkleRoot(leaves, "vmsh-dup-sha256");
const checkpoint = signCheckpoint({ namespace: NS, origin: origin.did, batchId: "b-1", batchRoot: root, tree: "vmsh-dup-sha256", size: 3, createdAt: 1_760_000_000, ts: 1_760_000_001 }, origin.key.privateKey);
const receipt: Receipt = { id: leaves[1]!, namespace: NS, batchId: "b-1", batchRoot: root, eventHash: leaves[1]!, ts: 1_760_000_000, proof: inclusionProof(leaves, 1, "vmsh-dup-sha256") };
const proofText = JSON.stringify(proofFile(receipt, { checkpoint, anchors: [], cosignatures: [] }, "did:vm:node:c", 1_760_000_100));
const policy: TrustPolicy = { namespaces: new Map([[NS, { origins: new Map([[origin.did, origin.key.publicKey]]) }]]) };
const trustText = JSON.stringify(trustFile(policy, origin.did, 1));

describe("proof and trust files: the library parses text as strictly as the CLI", () => {
  test("strict library: parseProofFile(text) reads a well-formed file as parseProofFile(JSON.parse(text)) does", () => {
    assert.deepEqual(parseProofFile(proofText), parseProofFile(JSON.parse(proofText)));
  });

  test("strict library: parseProofFile(text) refuses a member named twice, naming it", () => {
    // A second "batchId" inside the receipt, written with an escape so a plain text search misses it.
    const twice = proofText.replace('"receipt":{', '"receipt":{"batchI\\u0064":"b-other",');
    assert.notEqual(twice, proofText);
    assert.throws(() => parseProofFile(twice), (e: Error & { code?: string }) => e.code === "MALFORMED_JSON" && /proof\.receipt: member "batchId" appears twice/.test(e.message));
  });

  test("strict library: trustPolicy(text) reads a well-formed file and refuses a member named twice, naming it", () => {
    const back = trustPolicy(trustText);
    assert.ok(back.namespaces.get(NS)!.origins.get(origin.did)!.equals(origin.key.publicKey));
    const twice = trustText.replace('"v":1', '"v":1,"v":1');
    assert.notEqual(twice, trustText);
    assert.throws(() => trustPolicy(twice), (e: Error & { code?: string }) => e.code === "MALFORMED_JSON" && /trust: member "v" appears twice/.test(e.message));
  });
});
