/**
 * A TSA anchor's base64 `sig` read into token bytes, within the budget (docs/ANCHORS.md §Budgets).
 * Apart from the DER reader (./der.js, node-forge), so that the process that hands tokens to
 * the worker thread (./off-thread.js) does not load node-forge itself (docs/BENCHMARKS.md
 * "Fifth pass: bundles").
 */
import { TSA_BUDGET } from "./budget.js";

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
