/**
 * Test-side edits of time-stamp tokens, done with node-forge independently of the
 * verifier's own reader: take the token out of a response, read the TSTInfo,
 * replace the (unsigned) certificate set, locate fields by structure rather than
 * by hard-coded offsets.
 */
import forge from "node-forge";

type Node = forge.asn1.Asn1;

const parse = (der: Uint8Array): Node => forge.asn1.fromDer(forge.util.createBuffer(Buffer.from(der).toString("binary")));
const encode = (node: Node): Uint8Array => Uint8Array.from(Buffer.from(forge.asn1.toDer(node).getBytes(), "binary"));
const kids = (node: Node): Node[] => node.value as Node[];

/** DER of the first certificate in a PEM string. */
export function pemToDer(pem: string): Uint8Array {
  const m = /-----BEGIN CERTIFICATE-----([^-]+)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new Error("no certificate in PEM");
  return Uint8Array.from(Buffer.from(m[1]!.replace(/\s+/g, ""), "base64"));
}

/** The TimeStampToken (ContentInfo) inside a TimeStampResp. */
export function tokenOfResponse(response: Uint8Array): Uint8Array {
  const token = kids(parse(response))[1];
  if (token === undefined) throw new Error("response carries no token");
  return encode(token);
}

function signedDataOf(contentInfo: Node): Node {
  return kids(kids(contentInfo)[1]!)[0]!;
}

/** The eContent octets (DER TSTInfo) of a bare token. */
export function tstInfoOf(token: Uint8Array): Uint8Array {
  const eci = kids(signedDataOf(parse(token)))[2]!;
  return Uint8Array.from(Buffer.from(kids(kids(eci)[1]!)[0]!.value as string, "binary"));
}

/** A bare token whose SignedData `certificates` field holds exactly `certs` (none: field removed). */
export function withCertificates(token: Uint8Array, certs: Uint8Array[]): Uint8Array {
  const ci = parse(token);
  const sd = signedDataOf(ci);
  const fields = kids(sd).filter((n) => !(n.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && n.type === 0));
  if (certs.length > 0) {
    const set = forge.asn1.create(forge.asn1.Class.CONTEXT_SPECIFIC, 0, true, certs.map(parse));
    fields.splice(3, 0, set);
  }
  sd.value = fields;
  return encode(ci);
}

/** DER of each certificate embedded in a bare token. */
export function certificatesOf(token: Uint8Array): Uint8Array[] {
  const set = kids(signedDataOf(parse(token))).find((n) => n.tagClass === forge.asn1.Class.CONTEXT_SPECIFIC && n.type === 0);
  return set === undefined ? [] : kids(set).map(encode);
}

/** Offset of the PKIStatus INTEGER's single content byte in a TimeStampResp (`30 L 30 03 02 01 <status>`). */
export function statusByteOffset(response: Uint8Array): number {
  const lengthBytes = response[1]! < 0x80 ? 1 : 1 + (response[1]! & 0x7f);
  const at = 1 + lengthBytes;
  const expect = [0x30, 0x03, 0x02, 0x01];
  if (!expect.every((b, i) => response[at + i] === b)) throw new Error("PKIStatusInfo is not the bare `30 03 02 01 xx` form");
  return at + 4;
}

/** Offset of the signature OCTET STRING's content in a SignerInfo, and its length. */
export function signatureSpan(token: Uint8Array): { offset: number; length: number } {
  const sd = signedDataOf(parse(token));
  const signerInfo = kids(kids(sd)[kids(sd).length - 1]!)[0]!;
  const sigNode = kids(signerInfo).find((n, i, all) => n.type === forge.asn1.Type.OCTETSTRING && n.tagClass === forge.asn1.Class.UNIVERSAL && i >= all.length - 2)!;
  const signature = Buffer.from(sigNode.value as string, "binary");
  const offset = Buffer.from(token).lastIndexOf(signature);
  if (offset < 0) throw new Error("signature bytes not found");
  return { offset, length: signature.length };
}

/** A copy of `bytes` with `bytes[index] ^= mask`. */
export function flipped(bytes: Uint8Array, index: number, mask = 0xff): Uint8Array {
  const copy = Uint8Array.from(bytes);
  copy[index] = copy[index]! ^ mask;
  return copy;
}
