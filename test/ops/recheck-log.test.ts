import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Logger } from "../../lib/federation/log.js";
import { Metrics } from "../../lib/federation/metrics.js";
import { RecheckFailureLog } from "../../lib/federation/recheck-log.js";
import type { ReverifiedAnchor } from "../../lib/pipeline/reverify.js";

// docs/FEDERATION_SEMANTICS.md §5: every failed re-check counted, logged at most once per window per namespace and chain.
const row = (chain: string, failed: boolean): ReverifiedAnchor => ({
  namespace: "dao:vaultmesh", batchId: "b-1", batchRoot: "sha256:00", chain, tx: "0xab", was: "verified", outcome: "verified",
  ...(failed ? { recheckFailed: { at: 1, reason: "EVM endpoint x failed: connection refused" } } : {}),
});

function recorder(): { log: Logger; lines: Array<{ msg: string; fields: Record<string, unknown> }> } {
  const lines: Array<{ msg: string; fields: Record<string, unknown> }> = [];
  const push = (msg: string, fields: Record<string, unknown> = {}) => lines.push({ msg, fields });
  return { log: { info: push, warn: push, error: push }, lines };
}

describe("recheck failures", () => {
  test("counts every failure, logs once per window per chain, then says how many were not logged", () => {
    const { log, lines } = recorder();
    const metrics = new Metrics();
    const failures = new RecheckFailureLog(log, metrics, 600);
    failures.note([row("eip155:1", true), row("btc:mainnet", true), row("rfc3161:x", false)], 1000);
    failures.note([row("eip155:1", true)], 1300);
    failures.note([row("eip155:1", true)], 1599);
    assert.deepEqual(lines.map((l) => l.fields.chain), ["eip155:1", "btc:mainnet"]);
    failures.note([row("eip155:1", true)], 1600);
    assert.equal(lines.length, 3);
    assert.equal(lines[2]!.fields.notLoggedSince, 2);
    assert.equal(lines[2]!.msg, "anchor re-check failed; verdict kept");
    const text = metrics.render({ namespaces: 0, batches: 0, receipts: 0, equivocations: 0, anchors: { verified: 0, pending: 0, rejected: 0 } }, 0);
    assert.match(text, /^vmsh_federation_verify_errors_total\{rail="eip155",reason="unreachable"\} 4$/m);
    assert.match(text, /^vmsh_federation_verify_errors_total\{rail="btc",reason="unreachable"\} 1$/m);
    assert.doesNotMatch(text, /rail="rfc3161"/);
  });
});
