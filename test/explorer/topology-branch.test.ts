import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { merkleBranch } from "../../lib/explorer/branch.js";
import { answerTopology, topologyRequest, verifyTopologyAnswer } from "../../lib/explorer/topology.js";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { inclusionProofs, merkleRoot } from "../../lib/merkle/index.js";
import type { NodeConfig } from "../../lib/config/types.js";
import type { TreeKind } from "../../lib/receipt.js";

const leaf = (i: number) => `sha256:${createHash("sha256").update(`event ${i}`).digest("hex")}`;

describe("explorer: the drawn Merkle branch", () => {
  test("branch: for every leaf of trees of 1 to 13 leaves, both rules, the steps arrive at the batch root", () => {
    for (const tree of ["vmsh-dup-sha256", "rfc9162-sha256"] as TreeKind[]) {
      for (let size = 1; size <= 13; size++) {
        const leaves = Array.from({ length: size }, (_, i) => leaf(i));
        const root = merkleRoot(leaves, tree);
        inclusionProofs(leaves, tree).forEach((proof, index) => {
          const b = merkleBranch({ id: leaves[index]!, eventHash: leaves[index]!, namespace: "dao:x", batchId: "b", batchRoot: root, ts: 1, proof });
          assert.equal(b?.root, root, `${tree} size ${size} index ${index}`);
          assert.equal(b?.steps.length, proof.path.length);
        });
      }
    }
  });

  test("branch: a path that does not lead to the root ends elsewhere, and a malformed one is not drawn", () => {
    const leaves = [leaf(1), leaf(2), leaf(3)];
    const root = merkleRoot(leaves, "vmsh-dup-sha256");
    const [proof] = inclusionProofs(leaves, "vmsh-dup-sha256");
    const receipt = { id: leaves[0]!, eventHash: leaves[0]!, namespace: "dao:x", batchId: "b", batchRoot: root, ts: 1, proof: proof! };
    assert.notEqual(merkleBranch({ ...receipt, eventHash: leaves[1]! })?.root, root);
    assert.equal(merkleBranch({ ...receipt, proof: { ...proof!, path: ["sha256:zz"] } }), undefined);
    // vmsh-dup: the last node of an odd level is paired with itself.
    const last = merkleBranch({ ...receipt, id: leaves[2]!, eventHash: leaves[2]!, proof: inclusionProofs(leaves, "vmsh-dup-sha256")[2]! });
    assert.deepEqual(last?.steps.map((s) => s.side), ["self", "left"]);
  });
});

describe("explorer: the signed topology exchange, pure parts", () => {
  const asker = generateNodeKey();
  const answerer = generateNodeKey();
  const config = {
    federation: {
      mesh: { nodeId: "did:vm:node:b" },
      namespaces: new Map([
        ["dao:shared", { name: "dao:shared", peers: ["did:vm:node:a", "did:vm:node:c"] }],
        ["dao:private", { name: "dao:private", peers: ["did:vm:node:c", "did:vm:node:d"] }],
      ]),
    },
    peers: new Map([["did:vm:node:a", {}], ["did:vm:node:c", {}], ["did:vm:node:d", {}]]),
  } as unknown as NodeConfig;
  const now = 1_760_000_000;
  const request = topologyRequest("did:vm:node:a", "did:vm:node:b", now, asker.privateKey);

  test("topology: the answer lists only namespaces shared with the asker, and verifies with the answerer's key", () => {
    const answer = answerTopology(request, config, now, answerer.privateKey);
    assert.deepEqual(answer.peers, [{ did: "did:vm:node:a", namespaces: ["dao:shared"] }, { did: "did:vm:node:c", namespaces: ["dao:shared"] }]);
    const v = verifyTopologyAnswer(JSON.parse(JSON.stringify(answer)), request, answerer.publicKey, now, 300);
    assert.ok(v.ok, JSON.stringify(v));
  });

  test("topology: answers signed by another key, for another request, stale, altered, oversized or naming non-namespaces are refused", () => {
    const answer = answerTopology(request, config, now, answerer.privateKey);
    const cases: Array<[string, unknown, RegExp]> = [
      ["another key", answerTopology(request, config, now, generateNodeKey().privateKey), /./],
      ["another request", answerTopology(topologyRequest("did:vm:node:a", "did:vm:node:b", now + 1, asker.privateKey), config, now, answerer.privateKey), /another request/],
      ["stale", answerTopology(request, config, now - 1000, answerer.privateKey), /clock skew/],
      ["a peer added after signing", { ...answer, peers: [...answer.peers, { did: "did:vm:node:evil", namespaces: ["dao:shared"] }] }, /./],
      ["an extra member", { ...answer, note: "hi" }, /unknown member/],
      ["too many peers", { ...answer, peers: Array.from({ length: 1001 }, (_, i) => ({ did: `did:vm:node:n${i}`, namespaces: [] })) }, /at most 1000/],
      ["signed by someone else", { ...answer, signer: "did:vm:node:c", node: "did:vm:node:c" }, /not by did:vm:node:b/],
      // docs/EXPLORER.md §Topology bounds: bounded per entry, and only namespace strings (no bidi controls, nothing long).
      ["65 namespaces in one entry", { ...answer, peers: [{ did: "did:vm:node:a", namespaces: Array.from({ length: 65 }, (_, i) => `dao:n${i}`) }] }, /more than 64 namespaces/],
      ["a namespace with U+202E", { ...answer, peers: [{ did: "did:vm:node:a", namespaces: ["dao:\u202eshared"] }] }, /not a namespace/],
      ["a namespace of 129 characters", { ...answer, peers: [{ did: "did:vm:node:a", namespaces: [`dao:${"x".repeat(125)}`] }] }, /not a namespace/],
      ["not an object", [answer], /not a JSON object/],
    ];
    for (const [what, body, reason] of cases) {
      const v = verifyTopologyAnswer(body, request, answerer.publicKey, now, 300);
      assert.equal(v.ok, false, what);
      assert.match(!v.ok ? v.reason : "", reason, what);
    }
  });
});
