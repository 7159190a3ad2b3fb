/**
 * Strict DER reading on top of node-forge's ASN.1 decoder. forge accepts BER
 * (indefinite and long-form lengths, non-minimal integers); a token is accepted
 * only if forge re-encodes it to the very same bytes, so that every sub-structure
 * we hash or verify (signed attributes, eContent, certificates) is exactly the
 * bytes the token carries.
 */
import { forge } from "./forge-asn1.js";
import type forgeTypes from "node-forge";
import { TokenRejection, demand } from "./rejection.js";

export type Node = forgeTypes.asn1.Asn1;

export const UNIVERSAL = forge.asn1.Class.UNIVERSAL;
export const CONTEXT = forge.asn1.Class.CONTEXT_SPECIFIC;
export const T = {
  BOOLEAN: forge.asn1.Type.BOOLEAN,
  INTEGER: forge.asn1.Type.INTEGER,
  BITSTRING: forge.asn1.Type.BITSTRING,
  OCTETSTRING: forge.asn1.Type.OCTETSTRING,
  NULL: forge.asn1.Type.NULL,
  OID: forge.asn1.Type.OID,
  UTF8: forge.asn1.Type.UTF8,
  SEQUENCE: forge.asn1.Type.SEQUENCE,
  SET: forge.asn1.Type.SET,
  UTCTIME: forge.asn1.Type.UTCTIME,
  GENERALIZEDTIME: forge.asn1.Type.GENERALIZEDTIME,
} as const;

const toBinary = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("binary");
const fromBinary = (bin: string): Uint8Array => Uint8Array.from(Buffer.from(bin, "binary"));

/**
 * Decodes `bytes` as one DER value; rejects BER, trailing bytes and anything forge cannot read.
 * @example decodeDer(Uint8Array.of(0x05, 0x00), "parameters").type // 5 (NULL)
 */
export function decodeDer(bytes: Uint8Array, what: string): Node {
  const bin = toBinary(bytes);
  let node: Node;
  try {
    // maxDepth bounds recursion on hostile nesting; no genuine token nests deeper than about 15.
    const options = { strict: true, parseAllBytes: true, decodeBitStrings: false, maxDepth: 64 };
    node = forge.asn1.fromDer(forge.util.createBuffer(bin), options as unknown as boolean);
  } catch (cause) {
    throw new TokenRejection(`malformed ${what}: ${(cause as Error).message}`);
  }
  demand(forge.asn1.toDer(node).getBytes() === bin, `malformed ${what}: not DER (re-encoding differs)`);
  return node;
}

/**
 * The DER bytes of `node` (equal to the input bytes it came from, see {@link decodeDer}).
 * @example encodeDer(decodeDer(Uint8Array.of(0x05, 0x00), "NULL")) // Uint8Array [5, 0]
 */
export function encodeDer(node: Node): Uint8Array {
  return fromBinary(forge.asn1.toDer(node).getBytes());
}

/**
 * True when `node` has the given class and tag number.
 * @example is(node, UNIVERSAL, T.SEQUENCE)
 */
export function is(node: Node | undefined, tagClass: forgeTypes.asn1.Class, type: number): node is Node {
  return node !== undefined && node.tagClass === tagClass && node.type === type;
}

/**
 * The children of a constructed `node` of the expected universal type.
 * @example childrenOf(root, T.SEQUENCE, "TSTInfo").length // 5 or more
 */
export function childrenOf(node: Node | undefined, type: number, what: string): Node[] {
  demand(is(node, UNIVERSAL, type) && node.constructed && Array.isArray(node.value), `malformed ${what}: expected ${type === T.SET ? "SET" : "SEQUENCE"}`);
  return node.value as Node[];
}

/**
 * The children of a constructed context-specific `[tag]` node.
 * @example taggedChildren(contentNode, 0, "ContentInfo content")[0] // the SignedData
 */
export function taggedChildren(node: Node | undefined, tag: number, what: string): Node[] {
  demand(is(node, CONTEXT, tag) && node.constructed && Array.isArray(node.value), `malformed ${what}: expected [${tag}]`);
  return node.value as Node[];
}

/**
 * Raw content octets of a primitive node of universal `type` (or of `[tag]` when `tagClass` is CONTEXT).
 * @example primitive(sidNode, 0, "subjectKeyIdentifier", CONTEXT) // key id bytes
 */
export function primitive(node: Node | undefined, type: number, what: string, tagClass: forgeTypes.asn1.Class = UNIVERSAL): Uint8Array {
  demand(is(node, tagClass, type) && !node.constructed && typeof node.value === "string", `malformed ${what}: expected a primitive of tag ${type}`);
  return fromBinary(node.value as string);
}

/**
 * An OBJECT IDENTIFIER in dotted form.
 * @example readOid(node, "contentType") // "1.2.840.113549.1.7.2"
 */
export function readOid(node: Node | undefined, what: string): string {
  const raw = primitive(node, T.OID, what);
  demand(raw.length > 0 && (raw[raw.length - 1]! & 0x80) === 0, `malformed ${what}: bad OBJECT IDENTIFIER`);
  return forge.asn1.derToOid(toBinary(raw));
}

/**
 * A DER INTEGER as a bigint (two's complement).
 * @example readInteger(versionNode, "version") // 1n
 */
export function readInteger(node: Node | undefined, what: string): bigint {
  const raw = primitive(node, T.INTEGER, what);
  demand(raw.length > 0, `malformed ${what}: empty INTEGER`);
  let value = BigInt("0x" + Buffer.from(raw).toString("hex"));
  if (raw[0]! & 0x80) value -= 1n << BigInt(raw.length * 8);
  return value;
}

/**
 * The content of an OCTET STRING.
 * @example readOctets(node, "signature").length // 256
 */
export function readOctets(node: Node | undefined, what: string): Uint8Array {
  return primitive(node, T.OCTETSTRING, what);
}

/**
 * A DER BOOLEAN (only 0x00 and 0xff are DER).
 * @example readBoolean(criticalNode, "critical") // true
 */
export function readBoolean(node: Node | undefined, what: string): boolean {
  const raw = primitive(node, T.BOOLEAN, what);
  demand(raw.length === 1 && (raw[0] === 0x00 || raw[0] === 0xff), `malformed ${what}: BOOLEAN not DER`);
  return raw[0] === 0xff;
}

// X.690 §11.7 / RFC 5280 §4.1.2.5: DER times are UTC ("Z"), seconds present, no trailing fraction zeros.
const GENERALIZED = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d*[1-9]))?Z$/;
const UTC = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/;

/**
 * A UTCTime or GeneralizedTime as a Date (fractions beyond milliseconds truncated).
 * @example readTime(genTimeNode, "genTime").toISOString() // "2018-05-09T18:48:18.000Z"
 */
export function readTime(node: Node | undefined, what: string): Date {
  const generalized = is(node, UNIVERSAL, T.GENERALIZEDTIME);
  const text = Buffer.from(primitive(node, generalized ? T.GENERALIZEDTIME : T.UTCTIME, what)).toString("latin1");
  const m = (generalized ? GENERALIZED : UTC).exec(text);
  demand(m !== null, `malformed ${what}: time ${JSON.stringify(text)} is not DER`);
  let year = Number(m[1]);
  if (!generalized) year += year < 50 ? 2000 : 1900; // RFC 5280 §4.1.2.5.1
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, "0"));
  const date = new Date(Date.UTC(year, Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]), ms));
  demand(date.getUTCMonth() === Number(m[2]) - 1 && date.getUTCDate() === Number(m[3]) && Number(m[4]) < 24 && Number(m[5]) < 60 && Number(m[6]) < 60, `malformed ${what}: time ${JSON.stringify(text)} out of range`);
  return date;
}

/**
 * Reads the fields of a SEQUENCE in order: required, optional-by-predicate, then nothing left over.
 * @example
 * const f = new Fields(childrenOf(node, T.SEQUENCE, "accuracy"), "accuracy");
 * f.optional((n) => is(n, UNIVERSAL, T.INTEGER)); f.end();
 */
export class Fields {
  private index = 0;
  constructor(private readonly items: Node[], private readonly what: string) {}

  next(field: string): Node {
    const node = this.items[this.index++];
    demand(node !== undefined, `malformed ${this.what}: ${field} missing`);
    return node;
  }

  optional(test: (node: Node) => boolean): Node | undefined {
    const node = this.items[this.index];
    if (node === undefined || !test(node)) return undefined;
    this.index++;
    return node;
  }

  end(): void {
    demand(this.index === this.items.length, `malformed ${this.what}: unexpected extra field`);
  }
}
