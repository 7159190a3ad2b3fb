/**
 * TSTInfo, the signed content of a time-stamp token (RFC 3161 §2.4.2): what was
 * stamped (messageImprint), when (genTime), under which policy and serial.
 * accuracy, ordering, nonce and tsa are read for well-formedness and tolerated.
 */
import { Fields, T, UNIVERSAL, CONTEXT, childrenOf, decodeDer, is, readBoolean, readInteger, readOctets, readOid, readTime, type Node } from "./der.js";
import { DIGEST_LENGTH, digestOf, readAlgorithm, type DigestName } from "./algorithms.js";
import { demand } from "./rejection.js";

export interface TstInfo {
  policy: string;
  imprintAlgorithm: DigestName;
  imprint: Uint8Array;
  serialNumber: bigint;
  genTime: Date;
}

/**
 * Parses the eContent octets of a time-stamp token.
 * @example readTstInfo(signedData.eContent).genTime // Date
 */
export function readTstInfo(eContent: Uint8Array): TstInfo {
  const f = new Fields(childrenOf(decodeDer(eContent, "TSTInfo"), T.SEQUENCE, "TSTInfo"), "TSTInfo");
  const version = readInteger(f.next("version"), "TSTInfo version");
  demand(version === 1n, `malformed TSTInfo: version ${version}, expected 1`);
  const policy = readOid(f.next("policy"), "TSTInfo policy");

  const mi = new Fields(childrenOf(f.next("messageImprint"), T.SEQUENCE, "messageImprint"), "messageImprint");
  const imprintAlgorithm = digestOf(readAlgorithm(mi.next("hashAlgorithm"), "messageImprint hashAlgorithm"), "messageImprint hashAlgorithm");
  const imprint = readOctets(mi.next("hashedMessage"), "messageImprint hashedMessage");
  mi.end();
  demand(imprint.length === DIGEST_LENGTH[imprintAlgorithm], `malformed messageImprint: ${imprint.length} bytes for ${imprintAlgorithm}`);

  const serialNumber = readInteger(f.next("serialNumber"), "TSTInfo serialNumber");
  const genNode = f.next("genTime");
  demand(is(genNode, UNIVERSAL, T.GENERALIZEDTIME), "malformed TSTInfo: genTime is not a GeneralizedTime");
  const genTime = readTime(genNode, "TSTInfo genTime");

  const accuracy = f.optional((n) => is(n, UNIVERSAL, T.SEQUENCE));
  if (accuracy !== undefined) readAccuracy(accuracy);
  const ordering = f.optional((n) => is(n, UNIVERSAL, T.BOOLEAN));
  if (ordering !== undefined) readBoolean(ordering, "TSTInfo ordering");
  const nonce = f.optional((n) => is(n, UNIVERSAL, T.INTEGER));
  if (nonce !== undefined) readInteger(nonce, "TSTInfo nonce");
  f.optional((n) => is(n, CONTEXT, 0) && n.constructed);
  const extensions = f.optional((n) => is(n, CONTEXT, 1) && n.constructed);
  if (extensions !== undefined) rejectCriticalExtensions(extensions.value as Node[]);
  f.end();
  return { policy, imprintAlgorithm, imprint, serialNumber, genTime };
}

// Accuracy ::= SEQUENCE { seconds INTEGER OPTIONAL, millis [0] INTEGER OPTIONAL, micros [1] INTEGER OPTIONAL }
function readAccuracy(node: Node): void {
  const f = new Fields(childrenOf(node, T.SEQUENCE, "accuracy"), "accuracy");
  const seconds = f.optional((n) => is(n, UNIVERSAL, T.INTEGER));
  if (seconds !== undefined) readInteger(seconds, "accuracy seconds");
  f.optional((n) => is(n, CONTEXT, 0) && !n.constructed);
  f.optional((n) => is(n, CONTEXT, 1) && !n.constructed);
  f.end();
}

// We understand no TSTInfo extension, so a critical one cannot be honoured (RFC 5280 §4.2 semantics).
function rejectCriticalExtensions(items: Node[]): void {
  for (const ext of items) {
    const f = new Fields(childrenOf(ext, T.SEQUENCE, "TSTInfo extension"), "TSTInfo extension");
    const oid = readOid(f.next("extnID"), "TSTInfo extension id");
    const critical = f.optional((n) => is(n, UNIVERSAL, T.BOOLEAN));
    demand(critical === undefined || !readBoolean(critical, "critical"), `unsupported critical TSTInfo extension ${oid}`);
    readOctets(f.next("extnValue"), "TSTInfo extension value");
    f.end();
  }
}
