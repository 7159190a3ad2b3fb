/**
 * verifyTimestampToken on tokens issued by six public TSAs and on the negative
 * samples, all from test/fixtures/real/tsa (origins in test/fixtures/real/SOURCES.md).
 * Verified at each token's genTime: several signer certificates have expired since.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { verifyTimestampToken, type TimestampExpectation } from "../../../lib/anchors/tsa/index.js";
import { fixturePath } from "../../support/repo-root.js";
import { certificatesOf, flipped, signatureSpan, tokenOfResponse } from "./token-surgery.js";

const bytes = (...p: string[]): Uint8Array => Uint8Array.from(readFileSync(fixturePath("real", "tsa", ...p)));
const text = (...p: string[]): string => readFileSync(fixturePath("real", "tsa", ...p), "utf8");
const hello = { data: new TextEncoder().encode("hello") };

interface RealCase {
  name: string;
  file: string[];
  expected: () => TimestampExpectation;
  options: () => { trustPem: string; intermediatesPem?: string };
  genTime: string;
  signer: RegExp;
  imprintAlgorithm: string;
}

// Source: test/fixtures/real/SOURCES.md, table "RFC 3161 (tsa/)".
const REAL: RealCase[] = [
  { name: "DigiCert (RSA, chain embedded)", file: ["digicert", "response.tsr"], expected: () => ({ data: bytes("digicert", "data") }), options: () => ({ trustPem: text("digicert", "trust.pem") }), genTime: "2018-05-09T18:48:18.000Z", signer: /CN=DigiCert SHA2 Timestamp Responder/, imprintAlgorithm: "sha256" },
  { name: "GlobalSign AATL (bare token, nonce, by digest)", file: ["globalsign-aatl", "token.der"], expected: () => ({ digest: Uint8Array.from(Buffer.from("2da82c1572ff020524e05069219975c9ba90723f1a4dd5b9722aee8ec547a2ff", "hex")) }), options: () => ({ trustPem: text("globalsign-aatl", "trust.pem") }), genTime: "2017-02-01T15:39:50.000Z", signer: /CN=Globalsign TSA for AATL - SHA256 - G2/, imprintAlgorithm: "sha256" },
  { name: "IdenTrust (SHA-512, certificates listed CA first)", file: ["identrust", "response.tsr"], expected: () => ({ data: bytes("identrust", "data") }), options: () => ({ trustPem: text("identrust", "trust.pem") }), genTime: "2025-03-11T08:52:08.000Z", signer: /CN=TrustID Timestamp Authority/, imprintAlgorithm: "sha512" },
  ...(["sha256", "sha384", "sha512"] as const).map((alg, i): RealCase => ({ name: `Sigstore staging (ECDSA P-384, ${alg})`, file: ["sigstage", `response-${alg}.tsr`], expected: () => ({ data: bytes("sigstage", "data") }), options: () => ({ trustPem: text("sigstage", "trust.pem") }), genTime: i === 2 ? "2025-05-09T11:58:56.000Z" : "2025-05-09T11:58:55.000Z", signer: /O=sigstore\.dev, CN=sigstore-tsa$/, imprintAlgorithm: alg })),
  { name: "SwissSign (SigningCertificateV2, intermediate supplied)", file: ["swisssign", "response.tsr"], expected: () => ({ data: bytes("swisssign", "data") }), options: () => ({ trustPem: text("swisssign", "trust.pem"), intermediatesPem: text("swisssign", "intermediate.pem") }), genTime: "2019-11-03T11:53:32.000Z", signer: /CN=SwissSign ZertES TSA UNIT CH-2018/, imprintAlgorithm: "sha512" },
  { name: "FreeTSA (RSA, SHA-512)", file: ["freetsa", "response.tsr"], expected: () => ({ data: bytes("freetsa", "data") }), options: () => ({ trustPem: text("freetsa", "trust.pem") }), genTime: "2023-08-23T08:50:33.000Z", signer: /O=Free TSA, OU=TSA,.*CN=www\.freetsa\.org/, imprintAlgorithm: "sha512" },
];

describe("verifyTimestampToken: tokens from public TSAs", () => {
  for (const c of REAL) {
    test(`verify: accepts ${c.name}`, async () => {
      const result = await verifyTimestampToken(bytes(...c.file), c.expected(), c.options());
      assert.equal(result.outcome, "verified", result.reason);
      assert.equal(result.genTime?.toISOString(), c.genTime);
      assert.match(result.signer ?? "", c.signer);
      assert.equal(result.imprintAlgorithm, c.imprintAlgorithm);
    });

    test(`verify: rejects ${c.name} with one byte of its signature altered`, async () => {
      const token = bytes(...c.file);
      const bare = c.file[1]!.endsWith(".tsr") ? tokenOfResponse(token) : token;
      const span = signatureSpan(bare);
      const offset = Buffer.from(token).indexOf(Buffer.from(bare)) + span.offset + (span.length >> 1);
      const result = await verifyTimestampToken(flipped(token, offset), c.expected(), c.options());
      assert.equal(result.outcome, "rejected");
      assert.match(result.reason!, /^CMS signature does not verify/);
    });

    test(`verify: rejects ${c.name} against another TSA's root`, async () => {
      const other = c.file[0] === "freetsa" ? text("digicert", "trust.pem") : text("freetsa", "trust.pem");
      const result = await verifyTimestampToken(bytes(...c.file), c.expected(), { ...c.options(), trustPem: other });
      assert.equal(result.outcome, "rejected");
      assert.match(result.reason!, /no certificate chain|not valid at/);
    });
  }

  test("verify: rejects the GlobalSign token for another digest", async () => {
    const result = await verifyTimestampToken(bytes("globalsign-aatl", "token.der"), { digest: new Uint8Array(32) }, { trustPem: text("globalsign-aatl", "trust.pem") });
    assert.match(result.reason!, /messageImprint \(sha256\) does not match/);
  });

  test("verify: rejects a real signer certificate outside its validity when checked at a later time", async () => {
    const result = await verifyTimestampToken(bytes("digicert", "response.tsr"), { data: bytes("digicert", "data") }, { trustPem: text("digicert", "trust.pem"), at: new Date("2040-01-01T00:00:00Z") });
    assert.match(result.reason!, /not valid at 2040-01-01/);
  });
});

describe("verifyTimestampToken: negative samples", () => {
  test("verify: rejects sigstage-invalid-signature for its signature", async () => {
    const result = await verifyTimestampToken(bytes("negative", "sigstage-invalid-signature.tsr"), hello, { trustPem: text("sigstage", "trust.pem") });
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /^CMS signature does not verify \(ecdsa, sha256\)$/);
  });

  test("verify: rejects sigstage-no-embedded-cert for having no signer certificate", async () => {
    const result = await verifyTimestampToken(bytes("negative", "sigstage-no-embedded-cert.tsr"), hello, { trustPem: text("sigstage", "trust.pem") });
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /^no signer certificate/);
  });

  test("verify: rejects rejection-status2 naming its PKIStatus", async () => {
    const result = await verifyTimestampToken(bytes("negative", "rejection-status2.der"), hello, { trustPem: text("sigstage", "trust.pem") });
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /^time-stamp response status is rejection \(2\)/);
  });

  test("verify: rejects injected-certs, even when one of its own injected certificates is offered as the trust anchor", async () => {
    const token = bytes("negative", "injected-certs.tsr");
    const result = await verifyTimestampToken(token, hello, { trustPem: text("sigstage", "trust.pem") });
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /^no certificate chain from the signer certificate \(issuer "O=local, CN=Test TSA Intermediate"\)/);
    // The bag holds a self-signed "Test TSA Timestamping" spoof and a "Spoofed TSA" with the
    // timeStamping EKU; neither may become the signer's issuer, whatever the caller trusts.
    const injected = certificatesOf(tokenOfResponse(token)).filter((der) => !Buffer.from(der).includes(Buffer.from("Test TSA Intermediate")));
    assert.equal(injected.length, 2);
    for (const der of injected) {
      const pem = `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString("base64")}\n-----END CERTIFICATE-----\n`;
      const spoofTrusted = await verifyTimestampToken(token, hello, { trustPem: pem });
      assert.equal(spoofTrusted.outcome, "rejected");
      assert.match(spoofTrusted.reason!, /^no certificate chain/);
    }
  });
});
