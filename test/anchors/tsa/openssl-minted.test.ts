/**
 * verifyTimestampToken against tokens minted by `openssl ts -reply` (and, for the
 * certificate profiles openssl refuses to time-stamp with, `openssl cms -sign -cades`)
 * under a throwaway CA: each check of docs/ANCHORS.md (RFC 3161 section) with its negative.
 */
import { test, describe, before, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { verifyTimestampToken } from "../../../lib/anchors/tsa/index.js";
import { ArgumentError } from "../../../lib/errors.js";
import { createOpensslTsa, type OpensslTsa } from "../../support/openssl-tsa.js";
import { certificatesOf, pemToDer, tokenOfResponse, tstInfoOf, withCertificates } from "./token-surgery.js";

const data = new TextEncoder().encode("vmsh batch root bytes stand-in");
let tsa: OpensslTsa;

before(() => {
  tsa = createOpensslTsa();
});
after(() => tsa.cleanup());

const trust = (): { trustPem: string } => ({ trustPem: tsa.rootPem });

describe("verifyTimestampToken: tokens openssl mints", () => {
  for (const signer of ["rsa", "ecdsa"] as const) {
    for (const essCertId of ["v1", "v2"] as const) {
      test(`verify: accepts a ${signer} TimeStampResp with SigningCertificate${essCertId === "v2" ? "V2" : ""}, and its bare token`, async () => {
        const response = tsa.mint(data, { signer, essCertId });
        const fromResponse = await verifyTimestampToken(response, { data }, trust());
        assert.equal(fromResponse.outcome, "verified", fromResponse.reason);
        assert.equal(fromResponse.signer, "O=vmsh test, CN=vmsh test TSA");
        assert.equal(fromResponse.policy, "1.3.6.1.4.1.99999.1");
        assert.equal(fromResponse.imprintAlgorithm, "sha256");
        assert.ok(fromResponse.genTime instanceof Date && Math.abs(fromResponse.genTime.getTime() - Date.now()) < 3_600_000);
        assert.match(fromResponse.serialNumber ?? "", /^[0-9a-f]+$/);
        const bare = await verifyTimestampToken(tokenOfResponse(response), { data }, trust());
        assert.deepEqual(bare, fromResponse);
      });
    }
  }

  test("verify: accepts the bare token openssl writes with -token_out", async () => {
    const result = await verifyTimestampToken(tsa.mint(data, { bareToken: true }), { data }, trust());
    assert.equal(result.outcome, "verified", result.reason);
  });

  for (const imprint of ["sha1", "sha384", "sha512"] as const) {
    test(`verify: hashes expected data with the token's own imprint algorithm (${imprint})`, async () => {
      const response = tsa.mint(data, { imprint });
      const byData = await verifyTimestampToken(response, { data }, trust());
      assert.equal(byData.outcome, "verified", byData.reason);
      assert.equal(byData.imprintAlgorithm, imprint);
      const digest = Uint8Array.from(createHash(imprint).update(data).digest());
      assert.equal((await verifyTimestampToken(response, { digest }, trust())).outcome, "verified");
    });
  }

  test("verify: accepts an RSASSA-PSS SignerInfo", async () => {
    const token = tsa.signTstInfo(tstInfoOf(tokenOfResponse(tsa.mint(data))), { signer: "rsa", pss: true });
    // id-RSASSA-PSS 1.2.840.113549.1.1.10 must really be the token's signature algorithm.
    assert.ok(Buffer.from(token).includes(Buffer.from("06092a864886f70d01010a", "hex")));
    const result = await verifyTimestampToken(token, { data }, trust());
    assert.equal(result.outcome, "verified", result.reason);
  });
});

describe("verifyTimestampToken: signer named by subjectKeyIdentifier", () => {
  test("verify: accepts a SignerInfo whose sid is the signer's subjectKeyIdentifier", async () => {
    const token = tsa.signTstInfo(tstInfoOf(tokenOfResponse(tsa.mint(data, { signer: "ecdsa" }))), { signer: "ecdsa", keyId: true });
    const result = await verifyTimestampToken(token, { data }, trust());
    assert.equal(result.outcome, "verified", result.reason);
  });

  test("verify: rejects it when no certificate carries that key identifier", async () => {
    const token = tsa.signTstInfo(tstInfoOf(tokenOfResponse(tsa.mint(data))), { signer: "rsa", keyId: true, embedCerts: false });
    const result = await verifyTimestampToken(token, { data }, { ...trust(), intermediatesPem: tsa.issuingPem + tsa.certPem("ecdsa") });
    assert.match(result.reason!, /^no signer certificate/);
  });
});

describe("verifyTimestampToken: rejections", () => {
  test("verify: rejects a token for other data, and a wrong digest", async () => {
    const response = tsa.mint(data);
    const other = await verifyTimestampToken(response, { data: new TextEncoder().encode("other") }, trust());
    assert.equal(other.outcome, "rejected");
    assert.match(other.reason!, /messageImprint \(sha256\) does not match/);
    assert.equal(other.genTime, undefined, "no unverified field comes back with a rejection");
    const short = await verifyTimestampToken(response, { digest: new Uint8Array(20) }, trust());
    assert.match(short.reason!, /messageImprint/);
  });

  test("verify: rejects a token whose chain ends at a root that is not trusted", async () => {
    const result = await verifyTimestampToken(tsa.mint(data), { data }, { trustPem: tsa.otherRootPem });
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /no certificate chain .* to a trusted root/);
  });

  test("verify: accepts the same token when the bundle holds the right root among others", async () => {
    const result = await verifyTimestampToken(tsa.mint(data), { data }, { trustPem: tsa.otherRootPem + tsa.rootPem });
    assert.equal(result.outcome, "verified", result.reason);
  });

  test("verify: rejects a signer certificate without the timeStamping extendedKeyUsage", async () => {
    const token = tsa.signTstInfo(tstInfoOf(tokenOfResponse(tsa.mint(data))), { signer: "no-eku" });
    const result = await verifyTimestampToken(token, { data }, trust());
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /lacks the extendedKeyUsage timeStamping/);
  });

  test("verify: rejects a signer certificate whose timeStamping extendedKeyUsage is not critical", async () => {
    const token = tsa.signTstInfo(tstInfoOf(tokenOfResponse(tsa.mint(data))), { signer: "noncritical-eku" });
    const result = await verifyTimestampToken(token, { data }, trust());
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /extendedKeyUsage is not critical/);
  });

  test("verify: rejects a signer certificate that expired before genTime, or was not yet valid", async () => {
    for (const signer of ["expired", "not-yet-valid"] as const) {
      const result = await verifyTimestampToken(tsa.mint(data, { signer }), { data }, trust());
      assert.equal(result.outcome, "rejected", signer);
      assert.match(result.reason!, /^signer certificate "O=vmsh test, CN=vmsh test TSA" is not valid at /);
    }
  });

  test("verify: rejects a signer certificate with a critical extension it does not understand", async () => {
    const result = await verifyTimestampToken(tsa.mint(data, { signer: "unknown-critical" }), { data }, trust());
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /unsupported critical extension 1\.3\.6\.1\.4\.1\.99999\.7$/);
  });

  test("verify: rejects a signature by an RSA key shorter than 2048 bits", async () => {
    const result = await verifyTimestampToken(tsa.mint(data, { signer: "rsa-1024" }), { data }, trust());
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /1024 bits, fewer than 2048/);
  });

  test("verify: checks validity at genTime by default and at options.at when given", async () => {
    const response = tsa.mint(data);
    const later = new Date(Date.now() + 10 * 365 * 86_400_000);
    const result = await verifyTimestampToken(response, { data }, { ...trust(), at: later });
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /not valid at/);
  });

  for (const essCertId of ["v1", "v2"] as const) {
    test(`verify: rejects a token whose signer certificate is swapped for a twin the SigningCertificate${essCertId === "v2" ? "V2" : ""} does not name`, async () => {
      // The twin has the signer's key, issuer, serial and subject and chains to the same root:
      // only the ESS certificate hash tells them apart (RFC 5035 §1, substitution).
      const token = tokenOfResponse(tsa.mint(data, { essCertId }));
      const [signerDer, ...rest] = certificatesOf(token);
      assert.deepEqual(signerDer, pemToDer(tsa.certPem("rsa")));
      const control = await verifyTimestampToken(tsa.mint(data, { signer: "twin", essCertId }), { data }, trust());
      assert.equal(control.outcome, "verified", "the twin itself is a valid TSA certificate");
      const swapped = withCertificates(token, [pemToDer(tsa.certPem("twin")), ...rest]);
      const result = await verifyTimestampToken(swapped, { data }, trust());
      assert.equal(result.outcome, "rejected");
      assert.match(result.reason!, /SigningCertificate(V2)? names another certificate/);
    });
  }

  test("verify: rejects a re-certified signer key from another trusted root: the sid names the original issuer", async () => {
    const token = tokenOfResponse(tsa.mint(data));
    const swapped = withCertificates(token, [pemToDer(tsa.certPem("rehomed"))]);
    const result = await verifyTimestampToken(swapped, { data }, { trustPem: tsa.otherRootPem + tsa.rootPem });
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /^no signer certificate/);
  });

  test("verify: rejects a token whose TSTInfo was altered after signing", async () => {
    const token = tokenOfResponse(tsa.mint(data));
    const tst = Buffer.from(tstInfoOf(token));
    const tstAt = Buffer.from(token).indexOf(tst);
    // genTime (GeneralizedTime, tag 0x18, "YYYYMMDDhhmmssZ") lies inside the eContent; change its
    // last seconds digit so that the TSTInfo stays well-formed DER and only the messageDigest binds it.
    const genAt = tst.indexOf(Buffer.from([0x18, 0x0f]));
    assert.ok(tstAt > 0 && genAt > 0 && /^\d{14}Z$/.test(tst.subarray(genAt + 2, genAt + 17).toString("latin1")));
    const digitAt = tstAt + genAt + 2 + 13;
    const altered = Uint8Array.from(token);
    altered[digitAt] = altered[digitAt] === 0x30 ? 0x31 : 0x30;
    const result = await verifyTimestampToken(altered, { data }, trust());
    assert.equal(result.outcome, "rejected");
    assert.match(result.reason!, /messageDigest attribute does not match/);
  });

  test("verify: certificates injected into the token change nothing", async () => {
    const token = tokenOfResponse(tsa.mint(data));
    const genuine = certificatesOf(token);
    const baseline = await verifyTimestampToken(token, { data }, trust());
    assert.equal(baseline.outcome, "verified", baseline.reason);
    const injected = [pemToDer(tsa.certPem("twin")), pemToDer(tsa.certPem("rehomed")), pemToDer(tsa.otherRootPem), pemToDer(tsa.certPem("expired"))];
    for (const certs of [[...injected, ...genuine], [...genuine, ...injected], [injected[0]!, genuine[1]!, injected[2]!, genuine[0]!]]) {
      assert.deepEqual(await verifyTimestampToken(withCertificates(token, certs), { data }, trust()), baseline);
    }
    const untrusted = await verifyTimestampToken(token, { data }, { trustPem: tsa.otherRootPem });
    const stillUntrusted = await verifyTimestampToken(withCertificates(token, [...injected, ...genuine]), { data }, { trustPem: tsa.otherRootPem });
    assert.equal(untrusted.outcome, "rejected");
    assert.equal(stillUntrusted.outcome, "rejected");
  });

  test("verify: rejects a token without its certificate unless options.intermediatesPem supplies it", async () => {
    const response = tsa.mint(data, { embedCerts: false });
    const bare = await verifyTimestampToken(response, { data }, trust());
    assert.equal(bare.outcome, "rejected");
    assert.match(bare.reason!, /^no signer certificate/);
    const withIssuerOnly = await verifyTimestampToken(response, { data }, { ...trust(), intermediatesPem: tsa.issuingPem });
    assert.match(withIssuerOnly.reason!, /^no signer certificate/);
    const supplied = await verifyTimestampToken(response, { data }, { ...trust(), intermediatesPem: tsa.issuingPem + tsa.certPem("rsa") });
    assert.equal(supplied.outcome, "verified", supplied.reason);
    const noIssuer = await verifyTimestampToken(response, { data }, { ...trust(), intermediatesPem: tsa.certPem("rsa") });
    assert.match(noIssuer.reason!, /no certificate chain/);
  });

  test("verify: never throws on bytes that are not a token", async () => {
    const response = tsa.mint(data);
    const inputs = [new Uint8Array(0), Uint8Array.of(0x30), Uint8Array.of(0x30, 0x00), response.subarray(0, response.length - 1), Uint8Array.of(...response, 0x00), new TextEncoder().encode("not DER at all")];
    for (const input of inputs) {
      const result = await verifyTimestampToken(input, { data }, trust());
      assert.equal(result.outcome, "rejected");
      assert.match(result.reason!, /malformed/);
    }
  });

  test("verify: a caller's mistake throws ArgumentError naming the parameter", async () => {
    const response = tsa.mint(data);
    await assert.rejects(verifyTimestampToken("abc" as unknown as Uint8Array, { data }, trust()), (e: unknown) => e instanceof ArgumentError && /^token:/.test(e.message));
    await assert.rejects(verifyTimestampToken(response, {} as { data: Uint8Array }, trust()), (e: unknown) => e instanceof ArgumentError && /^expected:/.test(e.message));
    await assert.rejects(verifyTimestampToken(response, { data }, { trustPem: "" }), (e: unknown) => e instanceof ArgumentError && /^options\.trustPem:/.test(e.message));
    await assert.rejects(verifyTimestampToken(response, { data }, { ...trust(), at: new Date(Number.NaN) }), (e: unknown) => e instanceof ArgumentError && /^options\.at:/.test(e.message));
  });
});
