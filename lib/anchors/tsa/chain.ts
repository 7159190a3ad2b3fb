/**
 * Path building from the TSA's signer certificate to a trust anchor, every link
 * checked with node:crypto (names via checkIssued, signature via verify), every
 * issuer a CA (basicConstraints, keyUsage keyCertSign, pathLenConstraint), every
 * certificate valid at the time-stamp's genTime. Untrusted certificates (those in
 * the token, the configured intermediates) only ever serve as candidate links: one
 * that does not verify is skipped, so injected certificates cannot change the answer.
 */
import type { Certificate } from "./certificate.js";
import { basicConstraints, keyUsageAllows } from "./certificate.js";
import { bytesEqual } from "../../digest.js";

const MAX_DEPTH = 8;
// Extensions whose criticality we honour: keyUsage, basicConstraints, extendedKeyUsage are
// enforced; subjectAltName, subject/authority key ids do not affect a time-stamp's validity.
// Any other critical extension (nameConstraints, policies…) is not processed, so RFC 5280 §4.2 rejects.
const UNDERSTOOD = new Set(["2.5.29.15", "2.5.29.19", "2.5.29.37", "2.5.29.17", "2.5.29.14", "2.5.29.35"]);
const KEY_CERT_SIGN = 5; // RFC 5280 §4.2.1.3

export type ChainResult = { chain: Certificate[] } | { reason: string };

/**
 * `undefined` when `cert` is valid at `at`, else why not.
 * @example validityAt(cert, new Date("2040-01-01")) // "certificate \"CN=…\" is not valid at …"
 */
export function validityAt(cert: Certificate, at: Date): string | undefined {
  if (at < cert.notBefore || at > cert.notAfter) {
    return `certificate "${cert.x509.subject.replace(/\n/g, ", ")}" is not valid at ${at.toISOString()} (valid ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()})`;
  }
  return undefined;
}

function issuedBy(child: Certificate, issuer: Certificate): boolean {
  try {
    return child.x509.checkIssued(issuer.x509) && child.x509.verify(issuer.x509.publicKey);
  } catch {
    return false;
  }
}

/** The first critical extension of `cert` that this verifier does not understand. */
function unknownCritical(cert: Certificate): string | undefined {
  for (const [oid, ext] of cert.extensions) {
    if (ext.critical && !UNDERSTOOD.has(oid)) return `certificate "${cert.x509.subject.replace(/\n/g, ", ")}" has an unsupported critical extension ${oid}`;
  }
  return undefined;
}

/** Why `issuer` may not sign a certificate that has `below` CA certificates under it, or undefined. */
function caProblem(issuer: Certificate, below: number): string | undefined {
  const bc = basicConstraints(issuer);
  const subject = issuer.x509.subject.replace(/\n/g, ", ");
  if (bc === undefined || !bc.ca) return `issuer "${subject}" is not a CA (basicConstraints)`;
  if (bc.pathLen !== undefined && BigInt(below) > bc.pathLen) return `issuer "${subject}" pathLenConstraint exceeded`;
  if (!keyUsageAllows(issuer, KEY_CERT_SIGN)) return `issuer "${subject}" keyUsage lacks keyCertSign`;
  return unknownCritical(issuer);
}

/**
 * A chain `[signer, …, anchor]`, or the most specific reason none exists.
 * @example buildChain(signer, [...tokenCerts, ...intermediates], trustAnchors, genTime)
 */
export function buildChain(signer: Certificate, pool: Certificate[], anchors: Certificate[], at: Date): ChainResult {
  const own = validityAt(signer, at) ?? unknownCritical(signer);
  if (own !== undefined) return { reason: `signer ${own}` };
  if (anchors.some((a) => bytesEqual(a.der, signer.der))) return { chain: [signer] };

  let best: string | undefined;
  const note = (reason: string): void => {
    best ??= reason;
  };
  const extend = (path: Certificate[]): Certificate[] | undefined => {
    const last = path[path.length - 1]!;
    const below = path.length - 1; // CA certificates already under the next issuer
    for (const anchor of anchors) {
      if (!issuedBy(last, anchor)) continue;
      const problem = caProblem(anchor, below) ?? validityAt(anchor, at);
      if (problem === undefined) return [...path, anchor];
      note(problem);
    }
    if (path.length >= MAX_DEPTH) return undefined;
    for (const candidate of pool) {
      if (path.some((c) => bytesEqual(c.der, candidate.der)) || !issuedBy(last, candidate)) continue;
      const problem = caProblem(candidate, below) ?? validityAt(candidate, at);
      if (problem !== undefined) {
        note(problem);
        continue;
      }
      const found = extend([...path, candidate]);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  const chain = extend([signer]);
  if (chain !== undefined) return { chain };
  return { reason: best ?? `no certificate chain from the signer certificate (issuer "${signer.x509.issuer.replace(/\n/g, ", ")}") to a trusted root` };
}
