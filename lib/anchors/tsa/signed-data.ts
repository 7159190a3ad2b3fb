/**
 * CMS ContentInfo → SignedData → SignerInfo (RFC 5652 §3, §5), read strictly
 * into plain values: the eContent octets, the embedded certificates, and each
 * SignerInfo with its signed attributes already re-tagged as the SET that the
 * signature covers (RFC 5652 §5.4).
 */
import { Fields, T, UNIVERSAL, CONTEXT, childrenOf, encodeDer, is, primitive, readInteger, readOctets, readOid, taggedChildren, type Node } from "./der.js";
import { absentOrNull, readAlgorithm, type AlgorithmIdentifier } from "./algorithms.js";
import { demand } from "./rejection.js";
import { forge } from "./forge-asn1.js";

export const OID_SIGNED_DATA = "1.2.840.113549.1.7.2";
export const OID_TST_INFO = "1.2.840.113549.1.9.16.1.4";

export type SignerIdentifier = { kind: "issuerSerial"; issuer: Uint8Array; serial: bigint } | { kind: "keyId"; keyId: Uint8Array };

export interface Attribute {
  oid: string;
  values: Node[];
}

export interface SignerInfo {
  sid: SignerIdentifier;
  digestAlgorithm: AlgorithmIdentifier;
  /** Absent when the SignerInfo has no signedAttrs. */
  signedAttributes: Attribute[] | undefined;
  /** DER of the signed attributes with the SET OF tag (0x31), the bytes the signature covers. */
  signedAttributesDer: Uint8Array | undefined;
  signatureAlgorithm: AlgorithmIdentifier;
  signature: Uint8Array;
}

export interface SignedData {
  digestAlgorithmOids: string[];
  eContentType: string;
  eContent: Uint8Array;
  /** DER of each plain X.509 certificate in `certificates` (other CertificateChoices are skipped). */
  certificates: Uint8Array[];
  signerInfos: SignerInfo[];
}

/**
 * Reads a ContentInfo that must hold SignedData with an encapsulated eContent.
 * @example readSignedData(unwrapResponse(root)).eContentType // "1.2.840.113549.1.9.16.1.4"
 */
export function readSignedData(contentInfo: Node): SignedData {
  const ci = new Fields(childrenOf(contentInfo, T.SEQUENCE, "ContentInfo"), "ContentInfo");
  const contentType = readOid(ci.next("contentType"), "ContentInfo contentType");
  demand(contentType === OID_SIGNED_DATA, `token content type is ${contentType}, not signedData`);
  const wrapped = taggedChildren(ci.next("content"), 0, "ContentInfo content");
  ci.end();
  demand(wrapped.length === 1, "malformed ContentInfo content");

  const sd = new Fields(childrenOf(wrapped[0], T.SEQUENCE, "SignedData"), "SignedData");
  const version = readInteger(sd.next("version"), "SignedData version");
  // RFC 5652 §5.1: eContentType other than id-data makes the version 3 (4 and 5 only add other certificate formats).
  demand(version >= 3n && version <= 5n, `malformed SignedData: version ${version}`);
  const digestAlgorithmOids = childrenOf(sd.next("digestAlgorithms"), T.SET, "digestAlgorithms").map((n) => {
    const alg = readAlgorithm(n, "digestAlgorithms");
    demand(absentOrNull(alg.parameters), "malformed digestAlgorithms: unexpected parameters");
    return alg.oid;
  });

  const eci = new Fields(childrenOf(sd.next("encapContentInfo"), T.SEQUENCE, "encapContentInfo"), "encapContentInfo");
  const eContentType = readOid(eci.next("eContentType"), "eContentType");
  const eContentNode = eci.optional((n) => is(n, CONTEXT, 0));
  eci.end();
  demand(eContentNode !== undefined, "token has no encapsulated eContent");
  const eContentWrap = taggedChildren(eContentNode, 0, "eContent");
  demand(eContentWrap.length === 1, "malformed eContent");
  const eContent = readOctets(eContentWrap[0], "eContent");

  const certs = sd.optional((n) => is(n, CONTEXT, 0) && n.constructed);
  const certificates = certs === undefined ? [] : (certs.value as Node[]).filter((n) => is(n, UNIVERSAL, T.SEQUENCE)).map(encodeDer);
  sd.optional((n) => is(n, CONTEXT, 1) && n.constructed);
  const signerInfos = childrenOf(sd.next("signerInfos"), T.SET, "signerInfos").map(readSignerInfo);
  sd.end();
  return { digestAlgorithmOids, eContentType, eContent, certificates, signerInfos };
}

function readSignerInfo(node: Node): SignerInfo {
  const f = new Fields(childrenOf(node, T.SEQUENCE, "SignerInfo"), "SignerInfo");
  const version = readInteger(f.next("version"), "SignerInfo version");
  const sidNode = f.next("sid");
  let sid: SignerIdentifier;
  if (is(sidNode, CONTEXT, 0)) {
    sid = { kind: "keyId", keyId: primitive(sidNode, 0, "subjectKeyIdentifier", CONTEXT) };
    demand(version === 3n, `malformed SignerInfo: version ${version} with a subjectKeyIdentifier (RFC 5652 §5.3 wants 3)`);
  } else {
    const ias = new Fields(childrenOf(sidNode, T.SEQUENCE, "issuerAndSerialNumber"), "issuerAndSerialNumber");
    const issuerNode = ias.next("issuer");
    childrenOf(issuerNode, T.SEQUENCE, "issuer");
    const issuer = encodeDer(issuerNode);
    const serial = readInteger(ias.next("serialNumber"), "serialNumber");
    ias.end();
    sid = { kind: "issuerSerial", issuer, serial };
    demand(version === 1n, `malformed SignerInfo: version ${version} with issuerAndSerialNumber (RFC 5652 §5.3 wants 1)`);
  }
  const digestAlgorithm = readAlgorithm(f.next("digestAlgorithm"), "SignerInfo digestAlgorithm");
  const attrsNode = f.optional((n) => is(n, CONTEXT, 0));
  let signedAttributes: Attribute[] | undefined;
  let signedAttributesDer: Uint8Array | undefined;
  if (attrsNode !== undefined) {
    const items = taggedChildren(attrsNode, 0, "signedAttrs");
    signedAttributes = items.map(readAttribute);
    signedAttributesDer = encodeDer(forge.asn1.create(UNIVERSAL, T.SET, true, items));
  }
  const signatureAlgorithm = readAlgorithm(f.next("signatureAlgorithm"), "SignerInfo signatureAlgorithm");
  const signature = readOctets(f.next("signature"), "signature");
  f.optional((n) => is(n, CONTEXT, 1) && n.constructed);
  f.end();
  return { sid, digestAlgorithm, signedAttributes, signedAttributesDer, signatureAlgorithm, signature };
}

function readAttribute(node: Node): Attribute {
  const f = new Fields(childrenOf(node, T.SEQUENCE, "attribute"), "attribute");
  const oid = readOid(f.next("attrType"), "attrType");
  const values = childrenOf(f.next("attrValues"), T.SET, `attribute ${oid} values`);
  f.end();
  demand(values.length > 0, `malformed attribute ${oid}: no values`);
  return { oid, values };
}
