/**
 * The identity of a TSA anchor: the SHA-256 of its time-stamp token (docs/ANCHORS.md
 * "TSA names"). The token is the CMS ContentInfo, whether the anchor's `sig` carries it bare
 * or inside a TimeStampResp, and whatever line breaks the base64 has; so one token under two
 * `rfc3161:<name>` labels or two `tx` strings has one digest, and is one anchor.
 */
import { createHash } from "node:crypto";
import { decodeDer, encodeDer } from "./der.js";
import { TSA_BUDGET } from "./budget.js";
import { unwrapResponse } from "./response.js";

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The token bytes of a TSA anchor's base64 `sig`, or why there are none. Over-long text is
 * refused before it is decoded (docs/ANCHORS.md §Budgets).
 * @example decodeTokenSig("MIIB…") // { token: Uint8Array }
 */
export function decodeTokenSig(sig: unknown, maxTokenBytes = TSA_BUDGET.maxTokenBytes): { token: Uint8Array } | { reason: string } {
  if (typeof sig !== "string" || sig.length === 0) return { reason: "TSA anchor has no sig (base64 time-stamp token)" };
  // Whitespace may at most double the text (a line break every 64 characters adds 1/64).
  if (sig.length > Math.ceil(maxTokenBytes / 3) * 4 * 2) return { reason: `TSA anchor sig is ${sig.length} characters; a token of at most ${maxTokenBytes} bytes is read (budget)` };
  const compact = sig.replace(/\s+/g, "");
  if (!BASE64.test(compact)) return { reason: "TSA anchor sig is not base64" };
  const token = Uint8Array.from(Buffer.from(compact, "base64"));
  if (token.length > maxTokenBytes) return { reason: `time-stamp token is ${token.length} bytes; at most ${maxTokenBytes} are read (budget)` };
  return { token };
}

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
