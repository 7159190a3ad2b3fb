import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as api from "../../lib/index.js";
import { repoRoot } from "../support/repo-root.js";

// The package root's runtime exports. A change here is a public API change: review it,
// note it in CHANGELOG.md, and update this list in the same commit.
const PINNED = [
  "ArgumentError", "BATCH_ANCHORED_TOPIC", "BATCH_ANCHOR_ABI", "ConfigError", "NodeRuntime", "ProtocolError", "ReplayCache",
  "StoreError", "UsageError", "VmshError", "anchorKey", "authenticate", "canonicalJson", "compareAnchors",
  "formatKeyLine", "generateNodeKey", "loadConfig", "openRuntime", "startDaemon", "inclusionProof", "indexInBatch", "isDid", "mergeAnchors", "merkleRoot",
  "messageDigest", "parseAnnounce", "parseProofFile", "proofFile", "verifyProof", "trustPolicy", "trustFile", "parseBundle", "parseChainId", "parseKeyLine", "parseMessage", "parseRequest",
  "publicKeyFromRaw", "receiptsForBatch", "resolveAnchors", "signMessage", "verifyAnchor", "verifyBtcAnchor",
  "verifyEvmAnchor", "verifyInclusion", "verifyMessage", "verifyTimestampToken", "verifyTsaAnchor", "verifyTxOutProof",
];

test("api: the package root exports exactly the pinned list", () => {
  assert.deepEqual(Object.keys(api).sort(), [...PINNED].sort());
});

test("api: the library API names (README.md §Development) are all present and callable", () => {
  for (const name of ["verifyAnchor", "verifyTimestampToken", "verifyTxOutProof", "verifyInclusion", "merkleRoot", "signMessage", "verifyMessage", "resolveAnchors"] as const) {
    assert.equal(typeof api[name], "function", name);
  }
});

test("api: `import … from \"vmsh-federation\"` resolves to the built library", () => {
  const out = execFileSync(process.execPath, ["--input-type=module", "-e", 'import * as m from "vmsh-federation"; console.log(typeof m.verifyAnchor, typeof m.verifyTxOutProof)'], { cwd: repoRoot, encoding: "utf8" });
  assert.equal(out.trim(), "function function");
});

test("api: verifyMessage reports malformed input and bad signatures without throwing", () => {
  const key = api.generateNodeKey();
  const did = "did:vm:node:a";
  const ctx = {
    peers: new Map([[did, { did, roles: new Set(["request"] as const), publicKey: key.publicKey }]]),
    isRouted: () => true,
    now: () => 1000,
    skewS: 300,
    replay: new api.ReplayCache(),
    self: "did:vm:node:me",
  };
  const good = api.signMessage({ type: "request", v: 2, namespace: "dao:x", aud: "did:vm:node:me", ts: 1000, signer: did }, key.privateKey);
  assert.equal(api.verifyMessage(JSON.parse(JSON.stringify(good)), ctx).ok, true);
  const bad = api.verifyMessage({ ...good, ts: 1001 }, ctx);
  assert.equal(bad.ok, false);
  assert.equal(!bad.ok && bad.error.code, "SIG_INVALID");
  const junk = api.verifyMessage("not a message", ctx);
  assert.equal(!junk.ok && junk.error.code, "MALFORMED");
});
