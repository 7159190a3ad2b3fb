/**
 * The ESS SigningCertificate (RFC 2634 §5.4, ESSCertID with SHA-1) and
 * SigningCertificateV2 (RFC 5035 §3, ESSCertIDv2, default SHA-256) signed
 * attributes: they bind the signature to one certificate, so that another
 * certificate for the same key cannot be substituted (RFC 3161 §2.4.1 requires one).
 */
import { createHash } from "node:crypto";
import { Fields, T, UNIVERSAL, CONTEXT, childrenOf, encodeDer, is, readInteger, readOctets, type Node } from "./der.js";
import { digestOf, readAlgorithm, type DigestName } from "./algorithms.js";
import type { Certificate } from "./certificate.js";
import type { Attribute } from "./signed-data.js";
import { bytesEqual } from "../../digest.js";
import { demand } from "./rejection.js";

export const OID_SIGNING_CERTIFICATE = "1.2.840.113549.1.9.16.2.12";
export const OID_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47";

/**
 * Throws a rejection unless every SigningCertificate(V2) attribute present names
 * `signer` in its first ESSCertID, and at least one of them is present.
 * @example checkSigningCertificate(signerInfo.signedAttributes, signerCert)
 */
export function checkSigningCertificate(attributes: Attribute[], signer: Certificate): void {
  const v1 = attributes.filter((a) => a.oid === OID_SIGNING_CERTIFICATE);
  const v2 = attributes.filter((a) => a.oid === OID_SIGNING_CERTIFICATE_V2);
  demand(v1.length + v2.length > 0, "no SigningCertificate or SigningCertificateV2 signed attribute (RFC 3161 §2.4.1)");
  demand(v1.length <= 1 && v2.length <= 1, "SigningCertificate attribute appears more than once");
  if (v1[0] !== undefined) checkOne(v1[0], signer, false);
  if (v2[0] !== undefined) checkOne(v2[0], signer, true);
}

function checkOne(attribute: Attribute, signer: Certificate, v2: boolean): void {
  const name = v2 ? "SigningCertificateV2" : "SigningCertificate";
  demand(attribute.values.length === 1, `malformed ${name}: more than one value`);
  const f = new Fields(childrenOf(attribute.values[0], T.SEQUENCE, name), name);
  const certs = childrenOf(f.next("certs"), T.SEQUENCE, `${name} certs`);
  f.optional((n) => is(n, UNIVERSAL, T.SEQUENCE));
  f.end();
  demand(certs.length > 0, `malformed ${name}: empty certs`);
  // RFC 2634 §5.4 / RFC 5035 §3: the first ESSCertID identifies the signing certificate.
  const id = new Fields(childrenOf(certs[0], T.SEQUENCE, "ESSCertID"), "ESSCertID");
  let hash: DigestName = "sha1";
  if (v2) {
    const algNode = id.optional((n) => is(n, UNIVERSAL, T.SEQUENCE));
    hash = algNode === undefined ? "sha256" : digestOf(readAlgorithm(algNode, "ESSCertIDv2 hashAlgorithm"), "ESSCertIDv2 hashAlgorithm");
  }
  const certHash = readOctets(id.next("certHash"), "ESSCertID certHash");
  const issuerSerial = id.optional((n) => is(n, UNIVERSAL, T.SEQUENCE));
  id.end();
  const actual = Uint8Array.from(createHash(hash).update(signer.der).digest());
  demand(bytesEqual(certHash, actual), `${name} names another certificate: its ${hash} hash does not match the signer certificate`);
  if (issuerSerial !== undefined) checkIssuerSerial(issuerSerial, signer, name);
}

// IssuerSerial ::= SEQUENCE { issuer GeneralNames, serialNumber }; directoryName is GeneralName [4] EXPLICIT Name.
function checkIssuerSerial(node: Node, signer: Certificate, name: string): void {
  const f = new Fields(childrenOf(node, T.SEQUENCE, "IssuerSerial"), "IssuerSerial");
  const names = childrenOf(f.next("issuer"), T.SEQUENCE, "IssuerSerial issuer");
  const serial = readInteger(f.next("serialNumber"), "IssuerSerial serialNumber");
  f.end();
  const directoryNames = names.filter((n) => is(n, CONTEXT, 4) && n.constructed && (n.value as Node[]).length === 1).map((n) => encodeDer((n.value as Node[])[0]!));
  demand(serial === signer.serial && directoryNames.some((d) => bytesEqual(d, signer.issuer)), `${name} issuerSerial does not name the signer certificate's issuer and serial`);
}
