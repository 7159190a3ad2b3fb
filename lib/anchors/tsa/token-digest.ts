/**
 * The identity of a TSA anchor: the SHA-256 of its time-stamp token (docs/ANCHORS.md
 * "TSA names"). The token is the CMS ContentInfo, whether the anchor's `sig` carries it bare
 * or inside a TimeStampResp, and whatever line breaks the base64 has; so one token under two
 * `rfc3161:<name>` labels or two `tx` strings has one digest, and is one anchor.
 */
import { createHash } from "node:crypto";
import { decodeDer, encodeDer } from "./der.js";
import { unwrapResponse } from "./response.js";
import { decodeTokenSig } from "./token-sig.js";

export { decodeTokenSig };

/**
 * `sha256:<hex>` of the TimeStampToken a TSA anchor's `sig` carries; undefined when `sig`
 * is not a readable token (such an anchor is rejected by verifyTsaAnchor anyway).
 * @example tsaTokenDigest(anchor.sig) // "sha256:9f…"
 */
export function tsaTokenDigest(sig: unknown): string | undefined {
  const decoded = decodeTokenSig(sig);
  if (!("token" in decoded)) return undefined;
  try {
    const contentInfo = encodeDer(unwrapResponse(decodeDer(decoded.token, "time-stamp token")));
    return `sha256:${createHash("sha256").update(contentInfo).digest("hex")}`;
  } catch {
    return undefined;
  }
}
