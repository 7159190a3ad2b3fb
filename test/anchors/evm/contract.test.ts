/**
 * The BatchAnchor constants and the fixture contract: topic values, the exported
 * ABI against the compiled one, and the fixture's bytecode against its source.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import solc from "solc";
import { keccak256, stringToBytes, toEventSelector, toFunctionSelector } from "viem";
import { BATCH_ANCHOR_ABI, BATCH_ANCHORED_SIGNATURE, BATCH_ANCHORED_TOPIC, batchIdTopic, rootTopic } from "../../../lib/anchors/evm/index.js";
import { ArgumentError } from "../../../lib/errors.js";
import { compileBatchAnchor, readBatchAnchorArtifact } from "./solc-build.js";

describe("BatchAnchor constants", () => {
  test("topic0: is keccak256 of the event signature in docs/ANCHORS.md §The contract", () => {
    assert.equal(BATCH_ANCHORED_SIGNATURE, "BatchAnchored(bytes32,bytes32,string)");
    // Pinned so that a change to the signature or its hashing shows up in review.
    assert.equal(BATCH_ANCHORED_TOPIC, "0x422475c780472c369a714f8b6a226f0d5545429886a44c599148ec3b2e408fe2");
  });

  test("rootTopic: is the 32 raw bytes of the sha256 digest", () => {
    assert.equal(rootTopic(`sha256:${"0a".repeat(32)}`), `0x${"0a".repeat(32)}`);
  });

  test("batchIdTopic: is keccak256 of the batch id's UTF-8 bytes", () => {
    assert.equal(batchIdTopic("dao:vaultmesh/2026-11-24/ä"), keccak256(stringToBytes("dao:vaultmesh/2026-11-24/ä")));
    assert.notEqual(batchIdTopic("b-1"), batchIdTopic("b-2"));
  });

  test("topics: a caller's malformed root or batch id throws ArgumentError", () => {
    assert.throws(() => rootTopic("sha256:abc"), ArgumentError);
    assert.throws(() => rootTopic(`0x${"ab".repeat(32)}`), ArgumentError);
    assert.throws(() => batchIdTopic(""), ArgumentError);
  });
});

describe("BatchAnchor fixture", () => {
  const artifact = readBatchAnchorArtifact();

  test("fixture: recompiling BatchAnchor.sol with the installed solc gives the recorded bytecode", () => {
    assert.equal(solc.version(), artifact.compiler.version, "installed solc differs from the one that built the fixture");
    const fresh = compileBatchAnchor();
    assert.equal(fresh.bytecode, artifact.bytecode);
    assert.equal(fresh.deployedBytecode, artifact.deployedBytecode);
    assert.deepEqual(fresh.abi, artifact.abi);
  });

  test("fixture: the compiled event and anchor() have the selectors of the exported ABI", () => {
    const compiled = artifact.abi as Array<{ type: string; name?: string }>;
    for (const item of BATCH_ANCHOR_ABI) {
      const twin = compiled.find((c) => c.type === item.type && c.name === item.name);
      assert.ok(twin, `${item.type} ${item.name} missing from the compiled ABI`);
      if (item.type === "event") assert.equal(toEventSelector(twin as never), toEventSelector(item));
      if (item.type === "function") assert.equal(toFunctionSelector(twin as never), toFunctionSelector(item));
    }
    const event = compiled.find((c) => c.type === "event" && c.name === "BatchAnchored");
    assert.equal(toEventSelector(event as never), BATCH_ANCHORED_TOPIC);
  });
});
