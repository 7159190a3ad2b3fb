/**
 * How an EVM JSON-RPC endpoint is named in reasons, and how a failed call is
 * described, without ever repeating credentials: provider URLs often carry an
 * API key in the path or user:pass in the authority, so only scheme, host and
 * port are shown, and viem's own messages (which quote the full URL and the
 * request body) are never passed through.
 */
import { ArgumentError } from "../../errors.js";

/**
 * The printable name of an RPC URL: scheme, host and port only.
 * @example endpointName("https://user:secret@rpc.example.org/v3/KEY") // "https://rpc.example.org"
 */
export function endpointName(rpcUrl: string): string {
  let url: URL;
  try {
    url = new URL(rpcUrl);
  } catch {
    throw new ArgumentError("ctx.rpcUrl", "expected an http(s) URL");
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new ArgumentError("ctx.rpcUrl", `expected an http(s) URL, got scheme ${url.protocol}`);
  return `${url.protocol}//${url.host}`;
}

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  status?: unknown;
  details?: unknown;
  message?: unknown;
  cause?: unknown;
}

function chain(error: unknown): ErrorLike[] {
  const out: ErrorLike[] = [];
  let e: unknown = error;
  while (e !== null && typeof e === "object" && out.length < 10) {
    out.push(e as ErrorLike);
    e = (e as ErrorLike).cause;
  }
  return out;
}

/** Scrubs anything URL-shaped from a node-supplied message and bounds its length. */
function scrub(text: string): string {
  return text.replace(/[a-z][a-z0-9+.-]*:\/\/\S+/gi, "<url>").slice(0, 160);
}

/**
 * One short phrase for why an RPC call failed: a timeout, an HTTP status,
 * a socket error code, or the node's JSON-RPC error code and message.
 * @example describeRpcFailure(err, 10000) // "timed out after 10000 ms"
 */
export function describeRpcFailure(error: unknown, timeoutMs: number): string {
  const links = chain(error);
  if (links.some((e) => e.name === "TimeoutError")) return `timed out after ${timeoutMs} ms`;
  const socket = links.find((e) => typeof e.code === "string" && /^E[A-Z_]+$/.test(e.code));
  if (socket) return socket.code === "ECONNREFUSED" ? "connection refused" : `unreachable (${String(socket.code)})`;
  const http = links.find((e) => typeof e.status === "number" && e.status >= 400);
  if (http) return `HTTP ${String(http.status)}`;
  const rpc = links.find((e) => typeof e.code === "number");
  if (rpc) {
    const detail = typeof rpc.details === "string" ? rpc.details : typeof rpc.message === "string" ? rpc.message : "";
    return `JSON-RPC error ${String(rpc.code)}${detail ? `: ${scrub(detail)}` : ""}`;
  }
  const deepest = links[links.length - 1];
  const why = links.length > 1 && typeof deepest?.message === "string" && deepest.message ? ` (${scrub(deepest.message)})` : "";
  if (links.some((e) => e.name === "HttpRequestError")) return `HTTP request failed${why}`;
  const first = links[0];
  return typeof first?.name === "string" ? `request failed (${scrub(first.name)})` : "request failed";
}
