/**
 * verifyTimestampToken: every RFC 3161 / RFC 5652 check on one time-stamp, in the
 * order of docs/ANCHORS.md ("RFC 3161 time-stamps"). Bad token bytes never throw:
 * they come back as `{ outcome: "rejected", reason }`.
 */
import { createHash } from "node:crypto";
import { T, UNIVERSAL, decodeDer, is, readOid } from "./der.js";
import { digestOf, signatureScheme, type DigestName, type SignatureScheme } from "./algorithms.js";
import { readCertificate, readPemCertificates, extendedKeyUsage, keyUsageAllows, subjectKeyId, OID_EXT_KEY_USAGE, type Certificate } from "./certificate.js";
import { TSA_BUDGET, type TsaBudget } from "./budget.js";
import { buildChain } from "./chain.js";
import { unwrapResponse } from "./response.js";
import { OID_TST_INFO, readSignedData, type SignerInfo } from "./signed-data.js";
import { checkSigningCertificate } from "./signing-certificate.js";
import { keyMismatch, verifySignature } from "./signature.js";
import { readTstInfo } from "./tst-info.js";
import { TokenRejection, demand } from "./rejection.js";
import { bytesEqual } from "../../digest.js";
import { ArgumentError } from "../../errors.js";

const OID_CONTENT_TYPE = "1.2.840.113549.1.9.3";
const OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4";
const OID_TIME_STAMPING = "1.3.6.1.5.5.7.3.8";

/** What the token must have stamped: the data itself, or its digest under the token's imprint algorithm. */
export type TimestampExpectation = { data: Uint8Array } | { digest: Uint8Array };

export interface TimestampOptions {
  /** PEM of the trust anchors (one or several certificates). */
  trustPem: string;
  /** PEM of extra, untrusted certificates to build the chain with. */
  intermediatesPem?: string;
  /** Time at which the chain must be valid; defaults to the token's genTime. */
  at?: Date;
  /** Limits on the work this token may cost; defaults to {@link TSA_BUDGET}. */
  budget?: TsaBudget;
}

export interface TimestampVerification {
  outcome: "verified" | "rejected";
  reason?: string;
  genTime?: Date;
  /** Subject of the signer certificate, RFC 2253-like, comma separated. */
  signer?: string;
  policy?: string;
  /** TSTInfo serialNumber in lower-case hex. */
  serialNumber?: string;
  imprintAlgorithm?: string;
  /** SHA-256 (lower-case hex) of the DER of the trust anchor the chain ended at. */
  trustAnchor?: string;
}

/**
 * Verifies an RFC 3161 TimeStampResp or bare TimeStampToken (DER) against what it must stamp
 * and a trust bundle.
 * @example
 * const r = await verifyTimestampToken(tsr, { data: rootBytes }, { trustPem });
 * if (r.outcome === "verified") console.log(r.genTime, r.signer);
 */
export async function verifyTimestampToken(token: Uint8Array, expected: TimestampExpectation, options: TimestampOptions): Promise<TimestampVerification> {
  if (!(token instanceof Uint8Array)) throw new ArgumentError("token", "expected a Uint8Array of DER bytes");
  const want = expectation(expected);
  if (options === null || typeof options !== "object") throw new ArgumentError("options", "expected { trustPem }");
  const anchors = readPemCertificates(options.trustPem, "options.trustPem");
  if (anchors.length === 0) throw new ArgumentError("options.trustPem", "holds no certificate");
  const intermediates = options.intermediatesPem === undefined ? [] : readPemCertificates(options.intermediatesPem, "options.intermediatesPem");
  if (options.at !== undefined && !(options.at instanceof Date && !Number.isNaN(options.at.getTime()))) throw new ArgumentError("options.at", "expected a valid Date");
  const budget = options.budget ?? TSA_BUDGET;
  // Bytes read: refused before any parsing (docs/ANCHORS.md §Budgets).
  if (token.length > budget.maxTokenBytes) return { outcome: "rejected", reason: `time-stamp token is ${token.length} bytes; at most ${budget.maxTokenBytes} are read (budget)` };

  try {
    return { outcome: "verified", ...check(token, want, anchors, intermediates, options.at, budget) };
  } catch (error) {
    // Fields read before the failing check are unverified, so none are returned with a rejection.
    if (error instanceof TokenRejection) return { outcome: "rejected", reason: error.message };
    // forge or node:crypto failing on hostile bytes in a way not foreseen here is still the token's fault.
    return { outcome: "rejected", reason: `malformed time-stamp token: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function expectation(expected: TimestampExpectation): (alg: DigestName) => Uint8Array {
  if (expected !== null && typeof expected === "object" && "data" in expected && expected.data instanceof Uint8Array) {
    const data = expected.data;
    return (alg) => Uint8Array.from(createHash(alg).update(data).digest());
  }
  if (expected !== null && typeof expected === "object" && "digest" in expected && expected.digest instanceof Uint8Array) {
    const digest = expected.digest;
    return () => digest;
  }
  throw new ArgumentError("expected", "expected { data: Uint8Array } or { digest: Uint8Array }");
}

type Findings = Omit<TimestampVerification, "outcome" | "reason">;

function check(token: Uint8Array, want: (alg: DigestName) => Uint8Array, anchors: Certificate[], intermediates: Certificate[], at: Date | undefined, budget: TsaBudget): Findings {
  const signedData = readSignedData(unwrapResponse(decodeDer(token, "time-stamp token")));
  demand(signedData.certificates.length <= budget.maxTokenCertificates, `token carries ${signedData.certificates.length} certificates; at most ${budget.maxTokenCertificates} are read (budget)`);
  demand(signedData.eContentType === OID_TST_INFO, `eContentType is ${signedData.eContentType}, not id-ct-TSTInfo`);
  const tst = readTstInfo(signedData.eContent);
  demand(bytesEqual(tst.imprint, want(tst.imprintAlgorithm)), `messageImprint (${tst.imprintAlgorithm}) does not match the expected ${tst.imprintAlgorithm} digest`);

  demand(signedData.signerInfos.length === 1, `token has ${signedData.signerInfos.length} SignerInfos, expected exactly one`);
  const signerInfo = signedData.signerInfos[0]!;
  const digest = digestOf(signerInfo.digestAlgorithm, "SignerInfo digestAlgorithm");
  demand(signedData.digestAlgorithmOids.includes(signerInfo.digestAlgorithm.oid), "SignerInfo digestAlgorithm is not listed in SignedData digestAlgorithms");
  checkSignedAttributes(signerInfo, digest, signedData.eContent);

  const scheme = signatureScheme(signerInfo.signatureAlgorithm, digest);
  const pool = distinct([...signedData.certificates.map(readCertificate).filter((c): c is Certificate => c !== undefined), ...intermediates]);
  const signer = findSigner(signerInfo, scheme, pool);

  const eku = extendedKeyUsage(signer);
  demand(eku !== undefined && eku.includes(OID_TIME_STAMPING), "signer certificate lacks the extendedKeyUsage timeStamping (RFC 3161 §2.3)");
  demand(eku.length === 1, "signer certificate extendedKeyUsage holds purposes other than timeStamping (RFC 3161 §2.3)");
  demand(signer.extensions.get(OID_EXT_KEY_USAGE)!.critical, "signer certificate extendedKeyUsage is not critical (RFC 3161 §2.3)");
  // RFC 5280 §4.2.1.3: a signature key needs digitalSignature or nonRepudiation when keyUsage is present.
  demand(keyUsageAllows(signer, 0) || keyUsageAllows(signer, 1), "signer certificate keyUsage allows neither digitalSignature nor nonRepudiation");

  const chain = buildChain(signer, pool, anchors, at ?? tst.genTime, budget);
  if ("reason" in chain) throw new TokenRejection(chain.reason);
  const root = chain.chain[chain.chain.length - 1]!;
  return {
    genTime: tst.genTime,
    signer: signer.x509.subject.split("\n").join(", "),
    policy: tst.policy,
    serialNumber: tst.serialNumber.toString(16),
    imprintAlgorithm: tst.imprintAlgorithm,
    trustAnchor: createHash("sha256").update(root.der).digest("hex"),
  };
}

// RFC 5652 §5.3/§11: signedAttrs present, exactly one contentType and one messageDigest, each single-valued.
function checkSignedAttributes(signerInfo: SignerInfo, digest: DigestName, eContent: Uint8Array): void {
  const attrs = signerInfo.signedAttributes;
  demand(attrs !== undefined && signerInfo.signedAttributesDer !== undefined, "SignerInfo has no signed attributes");
  const contentType = attrs.filter((a) => a.oid === OID_CONTENT_TYPE);
  demand(contentType.length === 1 && contentType[0]!.values.length === 1, "signed attributes need exactly one single-valued contentType");
  const ct = readOid(contentType[0]!.values[0], "contentType attribute");
  demand(ct === OID_TST_INFO, `signed contentType attribute is ${ct}, not id-ct-TSTInfo`);
  const md = attrs.filter((a) => a.oid === OID_MESSAGE_DIGEST);
  demand(md.length === 1 && md[0]!.values.length === 1, "signed attributes need exactly one single-valued messageDigest");
  const value = md[0]!.values[0]!;
  demand(is(value, UNIVERSAL, T.OCTETSTRING) && !value.constructed && typeof value.value === "string", "malformed messageDigest attribute");
  const actual = Uint8Array.from(createHash(digest).update(eContent).digest());
  demand(bytesEqual(Uint8Array.from(Buffer.from(value.value, "binary")), actual), `messageDigest attribute does not match the ${digest} of the TSTInfo (eContent altered?)`);
}

/**
 * The one certificate that the sid names, whose key verifies the signature, and that the
 * SigningCertificate attribute binds; several may share issuer, serial and key (a re-issued or
 * injected certificate), and only the bound one is the signer (RFC 5035 §1).
 */
function findSigner(signerInfo: SignerInfo, scheme: SignatureScheme, pool: Certificate[]): Certificate {
  const named = pool.filter((c) => namedBySid(signerInfo, c));
  demand(named.length > 0, "no signer certificate: the SignerInfo's sid matches no certificate in the token or options.intermediatesPem");
  const verifying = named.filter((c) => verifySignature(scheme, c, signerInfo.signedAttributesDer!, signerInfo.signature));
  if (verifying.length === 0) {
    const mismatch = keyMismatch(scheme, named[0]!);
    throw new TokenRejection(mismatch === undefined ? `CMS signature does not verify (${scheme.kind}, ${scheme.hash})` : `CMS signature cannot be checked: ${mismatch}`);
  }
  let firstProblem: TokenRejection | undefined;
  for (const cert of verifying) {
    try {
      checkSigningCertificate(signerInfo.signedAttributes!, cert);
      return cert;
    } catch (error) {
      if (!(error instanceof TokenRejection)) throw error;
      firstProblem ??= error;
    }
  }
  throw firstProblem!;
}

function distinct(certs: Certificate[]): Certificate[] {
  return certs.filter((c, i) => certs.findIndex((d) => bytesEqual(c.der, d.der)) === i);
}

function namedBySid(signerInfo: SignerInfo, cert: Certificate): boolean {
  const sid = signerInfo.sid;
  if (sid.kind === "issuerSerial") return sid.serial === cert.serial && bytesEqual(sid.issuer, cert.issuer);
  const keyId = subjectKeyId(cert);
  return keyId !== undefined && bytesEqual(keyId, sid.keyId);
}
