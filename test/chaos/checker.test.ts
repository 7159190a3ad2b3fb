// The chaos checker judges histories (docs/RELIABILITY.md §Chaos): these cases show it fails
// on each kind of finding, so a passing chaos run means something.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { Checker, converged, describeDivergence } from "../../chaos/checker.js";
import type { NodeView } from "../../chaos/history.js";

const ROOT = `sha256:${"ab".repeat(32)}`;
function view(node: string, at: number, parts: Partial<NodeView> = {}): NodeView {
  const receiptIds = parts.receiptIds ?? ["r1", "r2"];
  return {
    node,
    at,
    receipts: receiptIds.length,
    receiptSet: createHash("sha256").update(receiptIds.join("\n")).digest("hex"),
    receiptIds,
    checkpoints: [`cp 100 ${ROOT} did:vm:node:n0 100 2`],
    claims: [`cl ${ROOT} rfc3161:tsa/tsq:request.tsq verified`],
    cosignatures: [],
    winners: [`win 100 ${ROOT} rfc3161:tsa/tsq:request.tsq`],
    ...parts,
  };
}
const genuine = new Set([`${ROOT} rfc3161:tsa/tsq:request.tsq`]);

test("chaos checker: a made-up claim reported verified is a false fact", () => {
  const bogus = new Set([`${ROOT} eip155:31337/0xbad`]);
  const c = new Checker(genuine, bogus);
  c.observe(view("n0", 1, { claims: [`cl ${ROOT} eip155:31337/0xbad rejected`, `cl ${ROOT} rfc3161:tsa/tsq:request.tsq verified`] }));
  assert.equal(c.violations.length, 0, "a bogus claim held rejected is fine");
  c.observe(view("n1", 2, { claims: [`cl ${ROOT} eip155:31337/0xbad verified`] }));
  assert.deepEqual(c.violations.map((v) => [v.node, v.kind]), [["n1", "false-verified"]]);
});

test("chaos checker: a claim the workload never made, reported verified, is flagged", () => {
  const c = new Checker(genuine, new Set());
  c.observe(view("n0", 1, { claims: [`cl ${ROOT} btc:regtest/ff verified`] }));
  assert.deepEqual(c.violations.map((v) => v.kind), ["unknown-claim"]);
});

test("chaos checker: a receipt, checkpoint or verdict a node held and then lost is flagged once", () => {
  const c = new Checker(genuine, new Set());
  c.observe(view("n0", 1));
  c.observe(view("n0", 2, { receiptIds: ["r1"], claims: [`cl ${ROOT} rfc3161:tsa/tsq:request.tsq pending`] }));
  c.observe(view("n0", 3, { receiptIds: ["r1"], claims: [] }));
  assert.deepEqual(c.violations.map((v) => `${v.kind} ${v.detail}`).sort(), ["item-lost receipt r2", `verdict-lost ${ROOT} rfc3161:tsa/tsq:request.tsq`]);
});

test("chaos checker: convergence needs the same items on every node; the divergence names the items and holders", () => {
  const a = view("n0", 1);
  const b = view("n1", 1, { receiptIds: ["r1"], claims: [], winners: [] });
  assert.equal(converged([a, view("n1", 1)]), true);
  assert.equal(converged([a, b]), false);
  assert.deepEqual(describeDivergence([a, b]), [
    "1 receipts: only n0 (of 2)",
    `cl ${ROOT} rfc3161:tsa/tsq:request.tsq verified: only n0 (of 2)`,
    `win 100 ${ROOT} rfc3161:tsa/tsq:request.tsq: only n0 (of 2)`,
  ]);
  // A rejected claim held by one node only is no divergence: unverified claims are not spread.
  assert.equal(converged([a, view("n1", 1, { claims: [...a.claims, `cl ${ROOT} eip155:1/0x1 rejected`] })]), true);
});
