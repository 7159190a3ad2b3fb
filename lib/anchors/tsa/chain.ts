/**
 * Path building from the TSA's signer certificate to a trust anchor, every link
 * checked with node:crypto (names via checkIssued, signature via verify), every
 * issuer a CA (basicConstraints, keyUsage keyCertSign, pathLenConstraint), every
 * certificate valid at the time-stamp's genTime. Untrusted certificates (those in
 * the token, the configured intermediates) only ever serve as candidate links: one
 * that does not verify is skipped, so injected certificates cannot change the answer.
 *
 * The work is bounded (docs/ANCHORS.md §Budgets): each (child, issuer) signature is
 * verified at most once, a certificate that led nowhere at a given depth is not explored
 * again at that depth, and the number of signature checks has a ceiling. Without the last
 * two, certificates that all share one name and key (each "issuing" every other) make
 * the search try every ordering of them.
 */
import type { Certificate } from "./certificate.js";
import { basicConstraints, keyUsageAllows } from "./certificate.js";
import { TSA_BUDGET } from "./budget.js";
import { bytesEqual } from "../../digest.js";

// Extensions whose criticality we honour: keyUsage, basicConstraints, extendedKeyUsage are
// enforced; subjectAltName, subject/authority key ids do not affect a time-stamp's validity.
// Any other critical extension (nameConstraints, policies…) is not processed, so RFC 5280 §4.2 rejects.
const UNDERSTOOD = new Set(["2.5.29.15", "2.5.29.19", "2.5.29.37", "2.5.29.17", "2.5.29.14", "2.5.29.35"]);
const KEY_CERT_SIGN = 5; // RFC 5280 §4.2.1.3

/** The answer, with the work it took (what the budgets bound). */
export type ChainResult = ({ chain: Certificate[] } | { reason: string }) & { signatureChecks: number; visits: number };

export interface ChainLimits {
  /** Most untrusted certificates in a chain, the signer included. */
  maxChainDepth: number;
  /** Most certificate signatures verified during the search. */
  maxSignatureChecks: number;
}

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

class OverBudget extends Error {}

/**
 * A chain `[signer, …, anchor]`, or the most specific reason none exists.
 * @example buildChain(signer, [...tokenCerts, ...intermediates], trustAnchors, genTime)
 */
export function buildChain(signer: Certificate, pool: Certificate[], anchors: Certificate[], at: Date, limits: ChainLimits = TSA_BUDGET): ChainResult {
  let signatureChecks = 0;
  let visits = 0;
  const own = validityAt(signer, at) ?? unknownCritical(signer);
  if (own !== undefined) return { reason: `signer ${own}`, signatureChecks, visits };
  if (anchors.some((a) => bytesEqual(a.der, signer.der))) return { chain: [signer], signatureChecks, visits };

  // One verify per (child, issuer) pair, whatever path leads to it again.
  const issuedCache = new Map<Certificate, Map<Certificate, boolean>>();
  const issuedBy = (child: Certificate, issuer: Certificate): boolean => {
    let row = issuedCache.get(child);
    if (row === undefined) issuedCache.set(child, (row = new Map()));
    const known = row.get(issuer);
    if (known !== undefined) return known;
    let ok = false;
    try {
      if (child.x509.checkIssued(issuer.x509)) {
        if (++signatureChecks > limits.maxSignatureChecks) throw new OverBudget();
        ok = child.x509.verify(issuer.x509.publicKey);
      }
    } catch (error) {
      if (error instanceof OverBudget) throw error;
      ok = false;
    }
    row.set(issuer, ok);
    return ok;
  };
  // A certificate from which no anchor was reached with `below` CAs under it stays a dead end at
  // that depth: the search from it is the same whatever came before, except for the certificates
  // already on the path, and a chain needing one of those has a shorter form found from there.
  const deadEnds = new Map<Certificate, Set<number>>();

  let best: string | undefined;
  const note = (reason: string): void => {
    best ??= reason;
  };
  const extend = (path: Certificate[]): Certificate[] | undefined => {
    visits++;
    const last = path[path.length - 1]!;
    const below = path.length - 1; // CA certificates already under the next issuer
    for (const anchor of anchors) {
      if (!issuedBy(last, anchor)) continue;
      const problem = caProblem(anchor, below) ?? validityAt(anchor, at);
      if (problem === undefined) return [...path, anchor];
      note(problem);
    }
    if (path.length >= limits.maxChainDepth) return undefined;
    for (const candidate of pool) {
      if (deadEnds.get(candidate)?.has(path.length)) continue;
      if (path.some((c) => c === candidate || bytesEqual(c.der, candidate.der)) || !issuedBy(last, candidate)) continue;
      const problem = caProblem(candidate, below) ?? validityAt(candidate, at);
      if (problem !== undefined) {
        note(problem);
        continue;
      }
      const found = extend([...path, candidate]);
      if (found !== undefined) return found;
      let depths = deadEnds.get(candidate);
      if (depths === undefined) deadEnds.set(candidate, (depths = new Set()));
      depths.add(path.length);
    }
    return undefined;
  };
  try {
    const chain = extend([signer]);
    if (chain !== undefined) return { chain, signatureChecks, visits };
  } catch (error) {
    if (!(error instanceof OverBudget)) throw error;
    return { reason: `certificate chain building stopped after ${limits.maxSignatureChecks} signature checks (budget; docs/ANCHORS.md §Budgets)`, signatureChecks: limits.maxSignatureChecks, visits };
  }
  return { reason: best ?? `no certificate chain from the signer certificate (issuer "${signer.x509.issuer.replace(/\n/g, ", ")}") to a trusted root`, signatureChecks, visits };
}
