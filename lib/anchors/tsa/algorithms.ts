/**
 * Digest and signature AlgorithmIdentifiers a time-stamp token may name, mapped to
 * what node:crypto calls them. Only the algorithms listed are accepted: anything
 * else is a rejection naming the OID, never a guess.
 */
import { Fields, T, UNIVERSAL, CONTEXT, childrenOf, is, readInteger, readOid, type Node } from "./der.js";
import { demand } from "./rejection.js";

export type DigestName = "sha1" | "sha256" | "sha384" | "sha512";

// RFC 3370 §2.1, RFC 5754 §2.
const DIGESTS: Readonly<Record<string, DigestName>> = {
  "1.3.14.3.2.26": "sha1",
  "2.16.840.1.101.3.4.2.1": "sha256",
  "2.16.840.1.101.3.4.2.2": "sha384",
  "2.16.840.1.101.3.4.2.3": "sha512",
};

export const DIGEST_LENGTH: Readonly<Record<DigestName, number>> = { sha1: 20, sha256: 32, sha384: 48, sha512: 64 };

const RSA_ENCRYPTION = "1.2.840.113549.1.1.1";
const RSASSA_PSS = "1.2.840.113549.1.1.10";
const MGF1 = "1.2.840.113549.1.1.8";
// RFC 4055 §5, RFC 3279 §2.2.1.
const RSA_WITH: Readonly<Record<string, DigestName>> = {
  "1.2.840.113549.1.1.5": "sha1",
  "1.2.840.113549.1.1.11": "sha256",
  "1.2.840.113549.1.1.12": "sha384",
  "1.2.840.113549.1.1.13": "sha512",
};
// RFC 5758 §3.2; ECDSA with SHA-1 is not accepted.
const ECDSA_WITH: Readonly<Record<string, DigestName>> = {
  "1.2.840.10045.4.3.2": "sha256",
  "1.2.840.10045.4.3.3": "sha384",
  "1.2.840.10045.4.3.4": "sha512",
};

export interface AlgorithmIdentifier {
  oid: string;
  parameters: Node | undefined;
}

/**
 * Splits an AlgorithmIdentifier SEQUENCE into its OID and optional parameters.
 * @example readAlgorithm(node, "digestAlgorithm").oid // "2.16.840.1.101.3.4.2.1"
 */
export function readAlgorithm(node: Node | undefined, what: string): AlgorithmIdentifier {
  const fields = new Fields(childrenOf(node, T.SEQUENCE, what), what);
  const oid = readOid(fields.next("algorithm"), what);
  const parameters = fields.optional(() => true);
  fields.end();
  return { oid, parameters };
}

/**
 * True when AlgorithmIdentifier parameters are absent or an empty NULL, as digest algorithms require (RFC 5754 §2).
 * @example absentOrNull(readAlgorithm(node, "digestAlgorithm").parameters) // true
 */
export const absentOrNull = (p: Node | undefined): boolean => p === undefined || (is(p, UNIVERSAL, T.NULL) && p.value === "");

/**
 * The digest an AlgorithmIdentifier names; its parameters must be absent or NULL (RFC 5754 §2).
 * @example digestOf(readAlgorithm(node, "digestAlgorithm"), "digestAlgorithm") // "sha256"
 */
export function digestOf(alg: AlgorithmIdentifier, what: string): DigestName {
  const name = DIGESTS[alg.oid];
  demand(name !== undefined, `unsupported ${what} ${alg.oid} (accepted: SHA-1, SHA-256, SHA-384, SHA-512)`);
  demand(absentOrNull(alg.parameters), `malformed ${what}: unexpected parameters`);
  return name;
}

export type SignatureScheme =
  | { kind: "rsa-pkcs1"; hash: DigestName }
  | { kind: "rsa-pss"; hash: DigestName; saltLength: number }
  | { kind: "ecdsa"; hash: DigestName };

/**
 * How to check a SignerInfo signature: `signerDigest` is the SignerInfo's digestAlgorithm,
 * used when the signature algorithm is plain rsaEncryption (RFC 3370 §3.2).
 * @example signatureScheme({ oid: "1.2.840.10045.4.3.3", parameters: undefined }, "sha384") // { kind: "ecdsa", hash: "sha384" }
 */
export function signatureScheme(alg: AlgorithmIdentifier, signerDigest: DigestName): SignatureScheme {
  if (alg.oid === RSA_ENCRYPTION || RSA_WITH[alg.oid] !== undefined) {
    demand(absentOrNull(alg.parameters), "malformed signatureAlgorithm: unexpected parameters");
    return { kind: "rsa-pkcs1", hash: RSA_WITH[alg.oid] ?? signerDigest };
  }
  const ecdsaHash = ECDSA_WITH[alg.oid];
  if (ecdsaHash !== undefined) {
    demand(alg.parameters === undefined, "malformed signatureAlgorithm: ECDSA takes no parameters (RFC 5758 §3.2)");
    return { kind: "ecdsa", hash: ecdsaHash };
  }
  demand(alg.oid === RSASSA_PSS, `unsupported signatureAlgorithm ${alg.oid}`);
  return pssScheme(alg.parameters);
}

// RFC 4055 §3.1: RSASSA-PSS-params, every field DEFAULTed (SHA-1, MGF1 with SHA-1, salt 20, trailer 1).
function pssScheme(parameters: Node | undefined): SignatureScheme {
  const fields = new Fields(childrenOf(parameters, T.SEQUENCE, "RSASSA-PSS parameters"), "RSASSA-PSS parameters");
  const explicit = (tag: number): Node | undefined => {
    const node = fields.optional((n) => is(n, CONTEXT, tag) && n.constructed);
    if (node === undefined) return undefined;
    const inner = node.value as Node[];
    demand(inner.length === 1, `malformed RSASSA-PSS parameters: [${tag}]`);
    return inner[0];
  };
  const hashNode = explicit(0);
  const hash = hashNode === undefined ? "sha1" : digestOf(readAlgorithm(hashNode, "PSS hashAlgorithm"), "PSS hashAlgorithm");
  const mgfNode = explicit(1);
  const mgf = mgfNode === undefined ? { oid: MGF1, parameters: undefined } : readAlgorithm(mgfNode, "PSS maskGenAlgorithm");
  demand(mgf.oid === MGF1, `unsupported PSS maskGenAlgorithm ${mgf.oid}`);
  const mgfHash = mgf.parameters === undefined ? "sha1" : digestOf(readAlgorithm(mgf.parameters, "MGF1 hash"), "MGF1 hash");
  // node:crypto derives the MGF1 hash from the signature hash, so only that combination is checkable.
  demand(mgfHash === hash, "unsupported RSASSA-PSS parameters: MGF1 hash differs from the message hash");
  const saltNode = explicit(2);
  const saltLength = saltNode === undefined ? 20 : Number(readInteger(saltNode, "PSS saltLength"));
  demand(saltLength >= 0 && saltLength <= 1024, "malformed RSASSA-PSS parameters: saltLength");
  const trailer = explicit(3);
  demand(trailer === undefined || readInteger(trailer, "PSS trailerField") === 1n, "unsupported RSASSA-PSS trailerField");
  fields.end();
  return { kind: "rsa-pss", hash, saltLength };
}
