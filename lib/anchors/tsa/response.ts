/**
 * The outer layer of a time-stamp: a TimeStampResp (RFC 3161 §2.4.2) carrying a
 * status and a token, or the bare token (a CMS ContentInfo). Tells them apart by
 * the first field: PKIStatusInfo is a SEQUENCE, ContentInfo starts with an OID.
 */
import { Fields, T, UNIVERSAL, childrenOf, is, readInteger, type Node } from "./der.js";
import { demand } from "./rejection.js";

const STATUS_NAMES = ["granted", "grantedWithMods", "rejection", "waiting", "revocationWarning", "revocationNotification"];

/**
 * The ContentInfo (TimeStampToken) inside `root`, after checking that a response's
 * PKIStatus is granted (0) or grantedWithMods (1).
 * @example unwrapResponse(decodeDer(bytes, "time-stamp token")) // ContentInfo node
 */
export function unwrapResponse(root: Node): Node {
  const top = childrenOf(root, T.SEQUENCE, "time-stamp token");
  if (is(top[0], UNIVERSAL, T.OID)) return root;

  const fields = new Fields(top, "TimeStampResp");
  const statusInfo = new Fields(childrenOf(fields.next("status"), T.SEQUENCE, "PKIStatusInfo"), "PKIStatusInfo");
  const status = readInteger(statusInfo.next("status"), "PKIStatus");
  const text = statusInfo.optional((n) => is(n, UNIVERSAL, T.SEQUENCE));
  statusInfo.optional((n) => is(n, UNIVERSAL, T.BITSTRING));
  statusInfo.end();
  const token = fields.optional(() => true);
  fields.end();

  const name = status >= 0n && status < BigInt(STATUS_NAMES.length) ? STATUS_NAMES[Number(status)] : "unknown";
  demand(status === 0n || status === 1n, `time-stamp response status is ${name} (${status})${statusText(text)}, not granted`);
  demand(token !== undefined, "time-stamp response is granted but carries no token");
  return token;
}

// PKIFreeText ::= SEQUENCE OF UTF8String; shown to the operator, never interpreted.
function statusText(node: Node | undefined): string {
  if (node === undefined || !Array.isArray(node.value)) return "";
  const parts = (node.value as Node[]).filter((n) => typeof n.value === "string").map((n) => Buffer.from(n.value as string, "binary").toString("utf8"));
  return parts.length === 0 ? "" : `: ${JSON.stringify(parts.join("; ").slice(0, 200))}`;
}
