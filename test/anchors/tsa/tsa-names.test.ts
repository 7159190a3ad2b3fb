/**
 * `rfc3161:<name>` binds a token to a configured TSA (docs/ANCHORS.md §TSA names): a named
 * TSA's own roots or its signer's subject must match; a token of a named TSA cannot be
 * relabelled as another name; plain `trustBundle` still accepts any of its roots.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Anchor } from "../../../lib/anchors/anchor.js";
import { verifyAnchor } from "../../../lib/anchors/verify.js";
import { verifyTsaAnchor, type NamedTsa } from "../../../lib/anchors/tsa/index.js";
import { digestBytes, formatDigest, sha256 } from "../../../lib/digest.js";
import { createOpensslTsa, type OpensslTsa } from "../../support/openssl-tsa.js";

const batchRoot = formatDigest(sha256(new TextEncoder().encode("named batch")));
const SUBJECT = "O=vmsh test, CN=vmsh test TSA";
let tsa: OpensslTsa;
let sig: string;

before(() => {
  tsa = createOpensslTsa();
  sig = Buffer.from(tsa.mint(digestBytes(batchRoot))).toString("base64");
});
after(() => tsa.cleanup());

const anchor = (name: string): Anchor => ({ batchId: "b", batchRoot, chain: `rfc3161:${name}`, tx: "t", block: 0, ts: 1, sig });
const named = (entries: Record<string, NamedTsa>) => new Map(Object.entries(entries));

describe("TSA names", () => {
  test("verify: a token chaining to the named TSA's own roots verifies under that name", async () => {
    const r = await verifyTsaAnchor(anchor("vmsh"), batchRoot, { tsas: named({ vmsh: { trustPem: tsa.rootPem } }) });
    assert.equal(r.outcome, "verified", r.reason);
    assert.equal(r.evidence!.tsa, "vmsh");
  });

  test("verify: rejects a token that does not chain to the named TSA's roots, even if another configured root would do", async () => {
    const r = await verifyTsaAnchor(anchor("vmsh"), batchRoot, { trustPem: tsa.rootPem, tsas: named({ vmsh: { trustPem: tsa.otherRootPem } }) });
    assert.equal(r.outcome, "rejected");
    assert.match(r.reason!, /^time-stamp token rejected: no certificate chain/);
  });

  test("verify: a named TSA given by subject needs that signer subject, over the plain roots", async () => {
    const ok = await verifyTsaAnchor(anchor("vmsh"), batchRoot, { trustPem: tsa.rootPem, tsas: named({ vmsh: { subject: SUBJECT } }) });
    assert.equal(ok.outcome, "verified", ok.reason);
    const other = await verifyTsaAnchor(anchor("vmsh"), batchRoot, { trustPem: tsa.rootPem, tsas: named({ vmsh: { subject: "O=someone else, CN=TSA" } }) });
    assert.equal(other.outcome, "rejected");
    assert.equal(other.reason, `time-stamp token signed by "${SUBJECT}" is not from the configured TSA "vmsh" (subject "O=someone else, CN=TSA")`);
  });

  test("verify: a named TSA's token relabelled as another name is rejected", async () => {
    for (const tsas of [named({ vmsh: { trustPem: tsa.rootPem } }), named({ vmsh: { subject: SUBJECT } })]) {
      const r = await verifyTsaAnchor(anchor("digicert"), batchRoot, { trustPem: tsa.rootPem, tsas });
      assert.equal(r.outcome, "rejected");
      assert.equal(r.reason, 'time-stamp token is from the configured TSA "vmsh", not "digicert"');
    }
  });

  test("verify: plain trustBundle still accepts any of its roots under a name no TSA entry claims", async () => {
    const r = await verifyTsaAnchor(anchor("anything"), batchRoot, { trustPem: tsa.rootPem, tsas: named({ other: { subject: "O=other, CN=TSA" } }) });
    assert.equal(r.outcome, "verified", r.reason);
    assert.equal(r.evidence!.tsa, undefined);
  });

  test("verifyAnchor: with only named TSAs, another name is pending: no verifier is configured for it", async () => {
    const ctx = { endpoints: { eip155: new Map(), btc: new Map() }, policy: { evmConfirmations: 1, btcConfirmations: 1 }, tsaTrust: { tsas: named({ vmsh: { trustPem: tsa.rootPem } }) } };
    const unknown = await verifyAnchor(anchor("elsewhere"), batchRoot, ctx);
    assert.equal(unknown.outcome, "pending");
    assert.equal(unknown.reason, "no verifier configured for rfc3161:elsewhere (anchors.yaml has neither rfc3161.tsas.elsewhere nor rfc3161.trustBundle)");
    const known = await verifyAnchor(anchor("vmsh"), batchRoot, ctx);
    assert.equal(known.outcome, "verified", known.reason);
  });
});
