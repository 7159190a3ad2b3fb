/**
 * The CMS signature check itself, with node:crypto: RSA PKCS#1 v1.5, RSASSA-PSS,
 * and ECDSA on P-256/P-384/P-521, over the DER of the signed attributes
 * (RFC 5652 §5.4). forge is not used here: it verifies neither PKCS#7 nor ECDSA.
 */
import { constants, verify as cryptoVerify } from "node:crypto";
import type { SignatureScheme } from "./algorithms.js";
import type { Certificate } from "./certificate.js";

const CURVES = new Set(["prime256v1", "secp384r1", "secp521r1"]);
// NIST SP 800-131A: RSA keys under 2048 bits are disallowed for signatures.
const MIN_RSA_BITS = 2048;

/**
 * Why `cert`'s key cannot check a signature of `scheme`, or `undefined` when it can.
 * @example keyMismatch({ kind: "ecdsa", hash: "sha256" }, rsaCert) // "… is an rsa key, the signature is ecdsa"
 */
export function keyMismatch(scheme: SignatureScheme, cert: Certificate): string | undefined {
  const key = cert.x509.publicKey;
  const type = key.asymmetricKeyType ?? "unknown";
  if (scheme.kind === "ecdsa") {
    if (type !== "ec") return `signer key is ${type}, the signature is ECDSA`;
    const curve = key.asymmetricKeyDetails?.namedCurve ?? "unknown";
    return CURVES.has(curve) ? undefined : `unsupported ECDSA curve ${curve}`;
  }
  if (type !== "rsa" && !(type === "rsa-pss" && scheme.kind === "rsa-pss")) return `signer key is ${type}, the signature is ${scheme.kind}`;
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  return bits >= MIN_RSA_BITS ? undefined : `signer RSA key has ${bits} bits, fewer than ${MIN_RSA_BITS}`;
}

/**
 * True when `signature` over `message` verifies with `cert`'s public key under `scheme`.
 * Never throws: a signature node:crypto cannot parse does not verify.
 * @example verifySignature({ kind: "rsa-pkcs1", hash: "sha256" }, cert, signedAttrsDer, signature) // true
 */
export function verifySignature(scheme: SignatureScheme, cert: Certificate, message: Uint8Array, signature: Uint8Array): boolean {
  if (keyMismatch(scheme, cert) !== undefined) return false;
  const key = cert.x509.publicKey;
  try {
    if (scheme.kind === "rsa-pss") {
      return cryptoVerify(scheme.hash, message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength }, signature);
    }
    if (scheme.kind === "rsa-pkcs1") {
      return cryptoVerify(scheme.hash, message, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
    }
    return cryptoVerify(scheme.hash, message, { key, dsaEncoding: "der" }, signature);
  } catch {
    return false;
  }
}
