/**
 * The origin-log endpoints under `/log/` (docs/FEDERATION_PROTOCOL.md §Origin log): `GET
 * /log/checkpoint` and `GET /log/tile/…` in the tlog-tiles layout, and the tlog-witness `POST
 * /log/add-checkpoint`. Their bodies are the C2SP text and byte formats, not JSON; refusals
 * before a witness decision use the JSON error shape of §Errors.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { ProtocolError } from "../errors.js";
import { readTextBody } from "./body.js";

/** What the server needs of the origin log and the witness (lib/federation implements it). */
export interface ServedLog {
  /** The answer to `GET /log/<rest>`, or undefined for 404. */
  get(rest: string): Promise<{ contentType: string; body: Uint8Array | string; immutable: boolean } | undefined>;
  /** The answer to a tlog-witness add-checkpoint body. */
  addCheckpoint(body: string): Promise<{ status: number; contentType: string; body: string }>;
}

/** An add-checkpoint body: 63 proof lines and a note with its signatures fit many times over. */
export const MAX_ADD_CHECKPOINT_BYTES = 64 * 1024;

/**
 * Serves `path` (which starts with `/log/`).
 * @example if (path.startsWith("/log/") && options.log) return serveLog(req, res, path, options.log)
 */
export async function serveLog(req: IncomingMessage, res: ServerResponse, path: string, log: ServedLog): Promise<void> {
  const rest = path.slice("/log/".length);
  if (rest === "add-checkpoint") {
    if (req.method !== "POST") throw new ProtocolError("METHOD_NOT_ALLOWED", 405, `${req.method} is not allowed on ${path}; use POST`);
    const answer = await log.addCheckpoint(await readTextBody(req, MAX_ADD_CHECKPOINT_BYTES));
    res.writeHead(answer.status, { "content-type": answer.contentType, "content-length": Buffer.byteLength(answer.body), "cache-control": "no-store" });
    res.end(answer.body);
    return;
  }
  if (req.method !== "GET" && req.method !== "HEAD") throw new ProtocolError("METHOD_NOT_ALLOWED", 405, `${req.method} is not allowed on ${path}; use GET`);
  const found = await log.get(rest);
  if (found === undefined) throw new ProtocolError("NOT_FOUND", 404, `no such log resource ${path}`);
  const body = typeof found.body === "string" ? Buffer.from(found.body, "utf8") : Buffer.from(found.body);
  // tlog-tiles: the checkpoint is mutable (cache a few seconds at most), tiles are immutable.
  res.writeHead(200, { "content-type": found.contentType, "content-length": body.length, "cache-control": found.immutable ? "public, max-age=31536000, immutable" : "no-cache" });
  res.end(req.method === "HEAD" ? undefined : body);
}
