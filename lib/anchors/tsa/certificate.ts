/**
 * X.509 certificates as the TSA checks need them: node:crypto's X509Certificate
 * for signatures and names, plus the few DER fields it does not expose (exact
 * issuer/subject bytes, validity as Dates, each extension with its critical flag).
 */
import { X509Certificate } from "node:crypto";
import { Fields, T, UNIVERSAL, CONTEXT, childrenOf, decodeDer, encodeDer, is, readBoolean, readInteger, readOctets, readOid, readTime, taggedChildren } from "./der.js";
import { ArgumentError } from "../../errors.js";

export interface Extension {
  critical: boolean;
  value: Uint8Array;
}

export interface Certificate {
  der: Uint8Array;
  x509: X509Certificate;
  issuer: Uint8Array;
  subject: Uint8Array;
  serial: bigint;
  notBefore: Date;
  notAfter: Date;
  extensions: ReadonlyMap<string, Extension>;
}

export const OID_EXT_KEY_USAGE = "2.5.29.37";
export const OID_BASIC_CONSTRAINTS = "2.5.29.19";
export const OID_KEY_USAGE = "2.5.29.15";
export const OID_SUBJECT_KEY_ID = "2.5.29.14";

/**
 * Reads one DER certificate; `undefined` when either forge or node:crypto cannot read it.
 * @example readCertificate(der)?.x509.subject // "CN=…"
 */
export function readCertificate(der: Uint8Array): Certificate | undefined {
  try {
    const cert = childrenOf(decodeDer(der, "certificate"), T.SEQUENCE, "certificate");
    const tbs = new Fields(childrenOf(cert[0], T.SEQUENCE, "tbsCertificate"), "tbsCertificate");
    tbs.optional((n) => is(n, CONTEXT, 0));
    const serial = readInteger(tbs.next("serialNumber"), "serialNumber");
    tbs.next("signature");
    const issuerNode = tbs.next("issuer");
    const validity = childrenOf(tbs.next("validity"), T.SEQUENCE, "validity");
    const subjectNode = tbs.next("subject");
    tbs.next("subjectPublicKeyInfo");
    tbs.optional((n) => is(n, CONTEXT, 1));
    tbs.optional((n) => is(n, CONTEXT, 2));
    const extNode = tbs.optional((n) => is(n, CONTEXT, 3));
    tbs.end();
    const extensions = new Map<string, Extension>();
    if (extNode !== undefined) {
      const list = taggedChildren(extNode, 3, "extensions");
      for (const ext of childrenOf(list[0], T.SEQUENCE, "extensions")) {
        const f = new Fields(childrenOf(ext, T.SEQUENCE, "extension"), "extension");
        const oid = readOid(f.next("extnID"), "extnID");
        const criticalNode = f.optional((n) => is(n, UNIVERSAL, T.BOOLEAN));
        const value = readOctets(f.next("extnValue"), "extnValue");
        f.end();
        if (extensions.has(oid)) return undefined; // RFC 5280 §4.2: at most one instance per extension
        extensions.set(oid, { critical: criticalNode !== undefined && readBoolean(criticalNode, "critical"), value });
      }
    }
    return {
      der,
      x509: new X509Certificate(der),
      issuer: encodeDer(issuerNode),
      subject: encodeDer(subjectNode),
      serial,
      notBefore: readTime(validity[0], "notBefore"),
      notAfter: readTime(validity[1], "notAfter"),
      extensions,
    };
  } catch {
    return undefined;
  }
}

/**
 * Every certificate in a PEM string; a block that does not parse is the caller's mistake.
 * @example readPemCertificates(trustPem, "options.trustPem").length // 1
 */
export function readPemCertificates(pem: string, parameter: string): Certificate[] {
  if (typeof pem !== "string") throw new ArgumentError(parameter, "expected a PEM string");
  const blocks = [...pem.matchAll(/-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]*?)-----END CERTIFICATE-----/g)];
  return blocks.map((m, i) => {
    const cert = readCertificate(Uint8Array.from(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64")));
    if (cert === undefined) throw new ArgumentError(parameter, `certificate #${i + 1} does not parse as DER X.509`);
    return cert;
  });
}

/**
 * The OIDs of the extendedKeyUsage extension, or `undefined` when absent or unreadable.
 * @example extendedKeyUsage(signer) // ["1.3.6.1.5.5.7.3.8"]
 */
export function extendedKeyUsage(cert: Certificate): string[] | undefined {
  const ext = cert.extensions.get(OID_EXT_KEY_USAGE);
  if (ext === undefined) return undefined;
  try {
    return childrenOf(decodeDer(ext.value, "extendedKeyUsage"), T.SEQUENCE, "extendedKeyUsage").map((n) => readOid(n, "KeyPurposeId"));
  } catch {
    return undefined;
  }
}

/**
 * basicConstraints as { ca, pathLen }; `ca` false when the extension is absent (RFC 5280 §4.2.1.9);
 * `undefined` when the extension does not parse.
 * @example basicConstraints(issuingCa) // { ca: true, pathLen: 0n }
 */
export function basicConstraints(cert: Certificate): { ca: boolean; pathLen: bigint | undefined } | undefined {
  const ext = cert.extensions.get(OID_BASIC_CONSTRAINTS);
  if (ext === undefined) return { ca: false, pathLen: undefined };
  try {
    const f = new Fields(childrenOf(decodeDer(ext.value, "basicConstraints"), T.SEQUENCE, "basicConstraints"), "basicConstraints");
    const caNode = f.optional((n) => is(n, UNIVERSAL, T.BOOLEAN));
    const lenNode = f.optional((n) => is(n, UNIVERSAL, T.INTEGER));
    f.end();
    return { ca: caNode !== undefined && readBoolean(caNode, "cA"), pathLen: lenNode === undefined ? undefined : readInteger(lenNode, "pathLenConstraint") };
  } catch {
    return undefined;
  }
}

/**
 * keyUsage bit `bit` (RFC 5280 §4.2.1.3 numbering); `true` when the extension is absent.
 * @example keyUsageAllows(issuer, 5) // keyCertSign
 */
export function keyUsageAllows(cert: Certificate, bit: number): boolean {
  const ext = cert.extensions.get(OID_KEY_USAGE);
  if (ext === undefined) return true;
  try {
    const node = decodeDer(ext.value, "keyUsage");
    if (!is(node, UNIVERSAL, T.BITSTRING) || typeof node.value !== "string") return false;
    const bytes = Buffer.from(node.value, "binary");
    const byte = bytes[1 + (bit >> 3)];
    return byte !== undefined && (byte & (0x80 >> (bit & 7))) !== 0;
  } catch {
    return false;
  }
}

/**
 * The subjectKeyIdentifier octets, if the certificate has one.
 * @example subjectKeyId(cert)?.length // 20
 */
export function subjectKeyId(cert: Certificate): Uint8Array | undefined {
  const ext = cert.extensions.get(OID_SUBJECT_KEY_ID);
  if (ext === undefined) return undefined;
  try {
    return readOctets(decodeDer(ext.value, "subjectKeyIdentifier"), "subjectKeyIdentifier");
  } catch {
    return undefined;
  }
}
