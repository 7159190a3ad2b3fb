/**
 * Who may read the explorer (docs/EXPLORER.md §Access): loopback clients always; other
 * clients only when `explorer.public` is true and they present the configured bearer token,
 * compared in constant time. Only the socket's address counts: no forwarding header is trusted.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { ExplorerConfig } from "../config/explorer.js";
import { ProtocolError } from "../errors.js";

/** Exactly the addresses /metrics trusts: other 127/8 addresses are not treated as this machine's own. */
const LOOPBACK = new Set(["127.0.0.1", "::1", "::ffff:127.0.0.1"]);

/** True when the request came over loopback from this machine. */
export function fromLoopback(req: IncomingMessage): boolean {
  return LOOPBACK.has(req.socket.remoteAddress ?? "");
}

/**
 * Equal strings, in time that depends on neither's content: both sides are hashed to 32 bytes
 * first, so the length of the configured token does not leak through an early exit either.
 * @example tokensEqual("a".repeat(32), "a".repeat(32)) // true
 */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given, "utf8").digest();
  const b = createHash("sha256").update(expected, "utf8").digest();
  return timingSafeEqual(a, b);
}

/**
 * Throws 403 for a non-loopback client of a loopback-only explorer, 401 for a missing or wrong
 * token; returns for everyone allowed. `needsToken` is false for the page's static files, which
 * hold no data (the page then asks for the token and sends it with every API call).
 * @example checkAccess(req, config.federation.explorer, { needsToken: true })
 */
export function checkAccess(req: IncomingMessage, config: ExplorerConfig | undefined, options: { needsToken: boolean }): void {
  if (fromLoopback(req)) return;
  if (config?.public !== true || config.token === undefined) {
    throw new ProtocolError("FORBIDDEN", 403, "the explorer answers loopback clients only (set explorer.public and explorer.token in federation.yaml to open it)");
  }
  if (!options.needsToken) return;
  const header = req.headers.authorization ?? "";
  const m = /^Bearer ([\x21-\x7e]{1,512})$/.exec(header);
  if (m === null) throw new ProtocolError("UNAUTHORIZED", 401, "this explorer needs the header Authorization: Bearer <explorer.token>");
  if (!tokensEqual(m[1]!, config.token)) throw new ProtocolError("UNAUTHORIZED", 401, "the bearer token is not this explorer's token");
}
