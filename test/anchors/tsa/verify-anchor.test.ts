/**
 * verifyTsaAnchor: an `rfc3161:<name>` anchor whose `sig` stamps sha256(the 32 raw
 * root bytes), as the upstream writer's `openssl ts -query -data <root file> -sha256`
 * made it (docs/ANCHORS.md §The anchor).
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { verifyTsaAnchor } from "../../../lib/anchors/tsa/index.js";
import type { Anchor } from "../../../lib/anchors/anchor.js";
import { digestBytes, formatDigest, sha256 } from "../../../lib/digest.js";
import { ArgumentError } from "../../../lib/errors.js";
import { createOpensslTsa, type OpensslTsa } from "../../support/openssl-tsa.js";

const batchRoot = formatDigest(sha256(new TextEncoder().encode("batch 42")));
const rootBytes = digestBytes(batchRoot);
const checkedAt = new Date("2026-01-02T03:04:05Z");
let tsa: OpensslTsa;
let sig: string;

before(() => {
  tsa = createOpensslTsa();
  sig = Buffer.from(tsa.mint(rootBytes)).toString("base64");
});
after(() => tsa.cleanup());

const anchor = (over: Partial<Anchor> = {}): Anchor => ({ batchId: "b-42", batchRoot, chain: "rfc3161:vmsh-test", tx: "tsa-1", block: 0, ts: 1_700_000_000, sig, ...over });
const ctx = (): { trustPem: string; now: () => Date } => ({ trustPem: tsa.rootPem, now: () => checkedAt });

describe("verifyTsaAnchor", () => {
  test("verify: accepts an anchor stamping sha256(root bytes) and records the evidence", async () => {
    const result = await verifyTsaAnchor(anchor(), batchRoot, ctx());
    assert.equal(result.outcome, "verified", result.reason);
    const evidence = result.evidence!;
    assert.match(String(evidence.genTime), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(evidence.signer, "O=vmsh test, CN=vmsh test TSA");
    assert.equal(evidence.policy, "1.3.6.1.4.1.99999.1");
    assert.match(String(evidence.serialNumber), /^[0-9a-f]+$/);
    assert.equal(evidence.checkedAt, Math.floor(checkedAt.getTime() / 1000));
  });

  test("verify: accepts a bare token in sig, with line breaks as base64 tools write them", async () => {
    const bare = Buffer.from(tsa.mint(rootBytes, { bareToken: true })).toString("base64").replace(/.{64}/g, "$&\n");
    const result = await verifyTsaAnchor(anchor({ sig: bare }), batchRoot, ctx());
    assert.equal(result.outcome, "verified", result.reason);
  });

  test("verify: rejects a token over the root's hex text instead of its raw bytes", async () => {
    const hexStamped = Buffer.from(tsa.mint(new TextEncoder().encode(batchRoot.slice(7)))).toString("base64");
    const result = await verifyTsaAnchor(anchor({ sig: hexStamped }), batchRoot, ctx());
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /messageImprint/);
  });

  test("verify: rejects an anchor for another root", async () => {
    const other = formatDigest(sha256(new TextEncoder().encode("batch 43")));
    const claimed = await verifyTsaAnchor(anchor({ batchRoot: other }), batchRoot, ctx());
    assert.match(claimed.reason!, /batchRoot .* differs/);
    const asked = await verifyTsaAnchor(anchor({ batchRoot: other }), other, ctx());
    assert.match(asked.reason!, /messageImprint/);
  });

  test("verify: rejects an anchor without sig, with sig not base64, or with sig not a token", async () => {
    const { sig: _omitted, ...withoutSig } = anchor();
    assert.match((await verifyTsaAnchor(withoutSig, batchRoot, ctx())).reason!, /no sig/);
    assert.match((await verifyTsaAnchor(anchor({ sig: "%%%" }), batchRoot, ctx())).reason!, /not base64/);
    assert.match((await verifyTsaAnchor(anchor({ sig: "AAAA" }), batchRoot, ctx())).reason!, /^time-stamp token rejected: malformed/);
  });

  test("verify: rejects an anchor of another rail, and one under an untrusted root", async () => {
    assert.match((await verifyTsaAnchor(anchor({ chain: "eip155:1" }), batchRoot, ctx())).reason!, /not rfc3161/);
    const untrusted = await verifyTsaAnchor(anchor(), batchRoot, { trustPem: tsa.otherRootPem });
    assert.equal(untrusted.outcome, "rejected");
    assert.match(untrusted.reason!, /no certificate chain/);
  });

  test("verify: a malformed batchRoot argument is the caller's mistake", async () => {
    await assert.rejects(verifyTsaAnchor(anchor(), "sha256:xyz", ctx()), (e: unknown) => e instanceof ArgumentError && /^batchRoot:/.test(e.message));
  });
});
