/**
 * HTTP for the BTC endpoints: every request carries a timeout and a byte limit, credentials are
 * taken out of the URL (sent as HTTP Basic auth, never echoed), and every
 * failure to reach the endpoint becomes a value instead of an exception.
 */
import { AnswerTooLargeError, MAX_ANSWER_BYTES, readCapped } from "../capped-fetch.js";

/** An endpoint URL split into what is fetched, what may be shown, and the Basic auth header. */
export interface EndpointTarget {
  /** URL without user:pass, trailing slash removed. */
  url: string;
  /** The same, for reason texts. */
  label: string;
  authorization?: string;
}

export type HttpAnswer =
  | { ok: true; status: number; body: string }
  | { ok: false; unreachable: string };

/**
 * Splits `rawUrl` into a credential-free URL and an Authorization header; `undefined`
 * when it is not an http(s) URL.
 * @example endpointTarget("http://u:p@127.0.0.1:8332").label // "http://127.0.0.1:8332"
 */
export function endpointTarget(rawUrl: string): EndpointTarget | undefined {
  let u: URL;
  try {
    u = new URL(rawUrl);
  } catch {
    return undefined;
  }
  if (u.protocol !== "http:" && u.protocol !== "https:") return undefined;
  const user = decodeURIComponent(u.username);
  const pass = decodeURIComponent(u.password);
  u.username = "";
  u.password = "";
  u.hash = "";
  const url = u.toString().replace(/\/$/, "");
  const target: EndpointTarget = { url, label: `${u.origin}${u.pathname === "/" ? "" : u.pathname.replace(/\/$/, "")}` };
  if (user !== "" || pass !== "") target.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString("base64")}`;
  return target;
}

function describeNetworkError(error: unknown, timeoutMs: number): string {
  if (error instanceof AnswerTooLargeError) return error.message;
  const e = error as { name?: string; cause?: { code?: string } } | undefined;
  if (e?.name === "TimeoutError" || e?.name === "AbortError") return `no answer within ${timeoutMs} ms`;
  const code = e?.cause?.code;
  if (code === "ECONNREFUSED") return "connection refused";
  if (typeof code === "string") return code;
  return "request failed";
}

/**
 * Sends one request and reads the body (at most `maxBytes`); HTTP 5xx is returned as an
 * answer (Core reports RPC errors with 500), network errors, timeouts and oversize answers
 * as `unreachable`, so the anchor stays pending rather than being judged on a broken answer.
 * @example await sendRequest(target, "/blocks/tip/height", { method: "GET" }, 10_000)
 */
export async function sendRequest(target: EndpointTarget, path: string, init: { method: string; body?: string; contentType?: string }, timeoutMs: number, maxBytes: number = MAX_ANSWER_BYTES): Promise<HttpAnswer> {
  const headers: Record<string, string> = {};
  if (target.authorization !== undefined) headers.authorization = target.authorization;
  if (init.contentType !== undefined) headers["content-type"] = init.contentType;
  try {
    const response = await fetch(`${target.url}${path}`, {
      method: init.method,
      headers,
      ...(init.body === undefined ? {} : { body: init.body }),
      redirect: "error",
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = Buffer.from(await readCapped(response, maxBytes)).toString("utf8");
    return { ok: true, status: response.status, body };
  } catch (error) {
    return { ok: false, unreachable: `btc endpoint ${target.label} unreachable: ${describeNetworkError(error, timeoutMs)}` };
  }
}
