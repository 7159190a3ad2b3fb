/**
 * DNS rebinding (docs/EXPLORER.md §Access): a web page the operator visits can point a name it
 * controls at 127.0.0.1 and read loopback-only endpoints from the browser, which then sends
 * that name in `Host`. The explorer, its API and /metrics answer only a `Host` that names the
 * address the connection came in on, `localhost`, or the host of the configured
 * `explorer.public_url`; anything else is 421 HOST_NOT_ALLOWED. The port is not compared: a
 * rebinding page chooses the name, not the port, and a reverse proxy may use another port.
 */
import type { IncomingMessage } from "node:http";
import { ProtocolError } from "../errors.js";

/** The host name of a `Host` header value, lower-case, without port or IPv6 brackets; undefined when it is not one. */
export function hostName(header: string): string | undefined {
  const h = header.trim().toLowerCase();
  if (h.startsWith("[")) {
    const end = h.indexOf("]");
    if (end < 0 || (end + 1 < h.length && !/^:[0-9]{1,5}$/.test(h.slice(end + 1)))) return undefined;
    return h.slice(1, end);
  }
  const m = /^([^:\s/@]+)(?::[0-9]{1,5})?$/.exec(h);
  return m === null ? undefined : m[1];
}

/** `::ffff:127.0.0.1` → `127.0.0.1`: the form a Host header would give. */
function plainAddress(address: string): string {
  const a = address.toLowerCase();
  return a.startsWith("::ffff:") && a.includes(".") ? a.slice("::ffff:".length) : a;
}

/**
 * Whether `header` names this server: the local address of the connection, `localhost`, or
 * one of `publicHosts`. A request without `Host` (HTTP/1.0; no browser sends one) passes.
 * @example hostAllowed("evil.example:8088", "127.0.0.1", []) // false
 */
export function hostAllowed(header: string | undefined, localAddress: string | undefined, publicHosts: readonly string[]): boolean {
  if (header === undefined) return true;
  const name = hostName(header);
  if (name === undefined) return false;
  if (name === "localhost") return true;
  if (localAddress !== undefined && name === plainAddress(localAddress)) return true;
  return publicHosts.some((p) => p.toLowerCase() === name);
}

/**
 * Throws 421 HOST_NOT_ALLOWED unless the request's `Host` names this server (see hostAllowed);
 * `publicUrl` is `explorer.public_url`, whose host is allowed too.
 * @example checkHost(req, config.federation.explorer?.publicUrl)
 */
export function checkHost(req: IncomingMessage, publicUrl: string | undefined): void {
  const publicHosts: string[] = [];
  if (publicUrl !== undefined) {
    const name = hostName(new URL(publicUrl).host);
    if (name !== undefined) publicHosts.push(name);
  }
  // Node keeps the first of two Host headers and drops the rest; a proxy may keep the last.
  // RFC 9112 §3.2: a request with more than one is refused, whatever they name.
  let hosts = 0;
  for (let i = 0; i < req.rawHeaders.length; i += 2) if (req.rawHeaders[i]!.toLowerCase() === "host") hosts++;
  if (hosts > 1) throw new ProtocolError("HOST_NOT_ALLOWED", 421, `the request carries ${hosts} Host headers; one is allowed (RFC 9112 §3.2): refused against DNS rebinding`);
  const header = req.headers.host;
  if (hostAllowed(header, req.socket.localAddress, publicHosts)) return;
  const shown = JSON.stringify((header ?? "").slice(0, 100));
  throw new ProtocolError("HOST_NOT_ALLOWED", 421, `Host ${shown} is not this node's address, localhost, or explorer.public_url's host: refused against DNS rebinding (set explorer.public_url in federation.yaml to serve another name)`);
}
