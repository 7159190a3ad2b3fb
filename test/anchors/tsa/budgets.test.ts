/**
 * The work a hostile time-stamp token may cost (docs/ANCHORS.md §Budgets): tokens minted
 * with openssl whose certificate bag holds CA certificates that share one name and key, so
 * each "issues" every other. Path building used to try every ordering of them (N = 9 froze
 * the daemon); now every limit is a count, asserted here, never a time.
 */
import { execFileSync } from "node:child_process";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { buildChain } from "../../../lib/anchors/tsa/chain.js";
import { readPemCertificates } from "../../../lib/anchors/tsa/certificate.js";
import { TSA_BUDGET, tsaTokenDigest, verifyTimestampToken, verifyTsaAnchor } from "../../../lib/anchors/tsa/index.js";
import { digestBytes, formatDigest, sha256 } from "../../../lib/digest.js";
import { createCrossIssuingTsa, type CrossIssuingTsa } from "../../support/hostile-tsa.js";
import { createOpensslTsa, type OpensslTsa } from "../../support/openssl-tsa.js";

const batchRoot = formatDigest(sha256(new TextEncoder().encode("budget batch")));
const rootBytes = digestBytes(batchRoot);
let hostile: CrossIssuingTsa;
let tsa: OpensslTsa;

before(() => {
  hostile = createCrossIssuingTsa(17);
  tsa = createOpensslTsa();
});
after(() => {
  hostile.cleanup();
  tsa.cleanup();
});

describe("TSA budgets", () => {
  test("verify: nine cross-issuing CAs are rejected after a bounded search, each signature checked once", () => {
    const n = 9;
    const loop = readPemCertificates(hostile.loopCaPem, "loop");
    assert.equal(loop.length, 1);
    const token = hostile.mint(rootBytes, n);
    // Drive buildChain itself on the token's certificates to count its work.
    const certs = readPemCertificates(certsPem(token), "token certificates");
    const signer = certs.find((c) => c.x509.subject.includes("loop TSA"))!;
    const result = buildChain(signer, certs, readPemCertificates(tsa.rootPem, "root"), new Date());
    assert.ok("reason" in result);
    assert.match(result.reason, /no certificate chain from the signer certificate/);
    // Every (child, issuer) pair among signer and n CAs at most once: far below n! orderings.
    assert.ok(result.signatureChecks <= (n + 1) * n, `signature checks ${result.signatureChecks}`);
    // Each CA is explored at most once per depth.
    assert.ok(result.visits <= 1 + n * TSA_BUDGET.maxChainDepth, `visits ${result.visits}`);
  });

  test("verify: the same token through verifyTimestampToken is rejected with the chain reason", async () => {
    const result = await verifyTimestampToken(hostile.mint(rootBytes, 9), { data: rootBytes }, { trustPem: tsa.rootPem });
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /no certificate chain/);
  });

  test("verify: a chain search over its signature-check budget is rejected naming the budget", async () => {
    const result = await verifyTimestampToken(hostile.mint(rootBytes, 9), { data: rootBytes }, { trustPem: tsa.rootPem, budget: { ...TSA_BUDGET, maxSignatureChecks: 20 } });
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /stopped after 20 signature checks \(budget/);
  });

  test("verify: a token carrying more certificates than the budget is rejected before any is parsed", async () => {
    const result = await verifyTimestampToken(hostile.mint(rootBytes, 16), { data: rootBytes }, { trustPem: tsa.rootPem });
    assert.equal(result.outcome, "rejected");
    assert.equal(result.reason, `token carries 17 certificates; at most ${TSA_BUDGET.maxTokenCertificates} are read (budget)`);
  });

  test("verify: a token over the byte budget is rejected unread, and an anchor sig over it undecoded", async () => {
    const big = new Uint8Array(TSA_BUDGET.maxTokenBytes + 1);
    const r = await verifyTimestampToken(big, { data: rootBytes }, { trustPem: tsa.rootPem });
    assert.equal(r.reason, `time-stamp token is ${big.length} bytes; at most ${TSA_BUDGET.maxTokenBytes} are read (budget)`);
    const anchor = { batchId: "b", batchRoot, chain: "rfc3161:t", tx: "t", block: 0, ts: 1, sig: "A".repeat(TSA_BUDGET.maxTokenBytes * 3) };
    const a = await verifyTsaAnchor(anchor, batchRoot, { trustPem: tsa.rootPem });
    assert.equal(a.outcome, "rejected");
    assert.match(a.reason!, /characters; a token of at most 65536 bytes is read \(budget\)/);
  });

  test("verify: a genuine token still verifies within the budget, off the event loop and inline alike", async () => {
    const sig = Buffer.from(tsa.mint(rootBytes)).toString("base64");
    const anchor = { batchId: "b", batchRoot, chain: "rfc3161:t", tx: "t", block: 0, ts: 1, sig };
    const threaded = await verifyTsaAnchor(anchor, batchRoot, { trustPem: tsa.rootPem });
    const inline = await verifyTsaAnchor(anchor, batchRoot, { trustPem: tsa.rootPem, inline: true });
    assert.equal(threaded.outcome, "verified", threaded.reason);
    assert.deepEqual({ ...threaded.evidence, checkedAt: 0 }, { ...inline.evidence, checkedAt: 0 });
  });

  test("verify: a hostile token off the event loop is rejected like inline", async () => {
    const sig = Buffer.from(hostile.mint(rootBytes, 9)).toString("base64");
    const anchor = { batchId: "b", batchRoot, chain: "rfc3161:t", tx: "t", block: 0, ts: 1, sig };
    const r = await verifyTsaAnchor(anchor, batchRoot, { trustPem: tsa.rootPem });
    assert.equal(r.outcome, "rejected");
    assert.match(r.reason!, /^time-stamp token rejected: no certificate chain/);
  });
});

describe("tsaTokenDigest", () => {
  test("digest: one token has one digest as a response, as a bare token, and with line breaks", () => {
    const data = new TextEncoder().encode("digest me");
    const response = tsa.mint(data, { noNonce: true });
    const b64 = Buffer.from(response).toString("base64");
    const digest = tsaTokenDigest(b64);
    assert.match(digest!, /^sha256:[0-9a-f]{64}$/);
    assert.equal(tsaTokenDigest(b64.replace(/.{64}/g, "$&\n")), digest);
    // The bare token inside the response: the ContentInfo that follows the status.
    const bare = bareTokenOf(response);
    assert.equal(tsaTokenDigest(Buffer.from(bare).toString("base64")), digest);
  });

  test("digest: two tokens over the same data differ; unreadable sigs have none", () => {
    const data = new TextEncoder().encode("digest me");
    assert.notEqual(tsaTokenDigest(Buffer.from(tsa.mint(data)).toString("base64")), tsaTokenDigest(Buffer.from(tsa.mint(data)).toString("base64")));
    assert.equal(tsaTokenDigest("not base64!"), undefined);
    assert.equal(tsaTokenDigest(Buffer.from("junk").toString("base64")), undefined);
    assert.equal(tsaTokenDigest(undefined), undefined);
  });
});

/** The certificates of a TimeStampResp, as PEM, via openssl. */
function certsPem(token: Uint8Array): string {
  return opensslStdout(["pkcs7", "-inform", "DER", "-print_certs"], bareTokenOf(token));
}

function opensslStdout(args: string[], input: Uint8Array): string {
  return execFileSync("openssl", args, { input }).toString("utf8");
}

/** The TimeStampToken inside a TimeStampResp: the second element of the outer SEQUENCE. */
function bareTokenOf(response: Uint8Array): Uint8Array {
  const lengthOf = (at: number): { header: number; length: number } => {
    const first = response[at + 1]!;
    if (first < 0x80) return { header: 2, length: first };
    const n = first & 0x7f;
    let length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + response[at + 2 + i]!;
    return { header: 2 + n, length };
  };
  const outer = lengthOf(0);
  const status = lengthOf(outer.header);
  const tokenAt = outer.header + status.header + status.length;
  const token = lengthOf(tokenAt);
  return response.subarray(tokenAt, tokenAt + token.header + token.length);
}
