/**
 * Writing answers: JSON bodies, and errors as `{ error: { code, message } }` with the docs/FEDERATION_PROTOCOL.md §Errors
 * status. Only VmshError messages are shown to the peer; anything else is a bug and answers
 * 500 INTERNAL with no detail (the log has it). No stack trace ever leaves the process.
 */
import type { ServerResponse } from "node:http";
import { ProtocolError, VmshError } from "../errors.js";
import { COMPRESS_FROM_BYTES, compressBody, type BodyEncoding } from "./encoding.js";

/** Sends `body` as JSON with `status`. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), "cache-control": "no-store", ...headers });
  res.end(text);
}

/** Bytes written between two pauses of the event loop. */
const WRITE_SLICE = 256 * 1024;

/**
 * Sends `body`, JSON already serialised (a signed answer built in slices), with `status`, a slice
 * at a time: the socket's backpressure is awaited and the event loop yielded between slices.
 * @example await sendJsonBytes(res, 200, body)
 */
export async function sendJsonBytes(res: ServerResponse, status: number, body: Buffer, encoding?: BodyEncoding): Promise<void> {
  if (res.headersSent) return;
  // Compressed on the thread pool when the asker offered it (docs/FEDERATION_PROTOCOL.md §Compression).
  const wire = encoding !== undefined && body.length >= COMPRESS_FROM_BYTES ? await compressBody(body, encoding) : undefined;
  if (wire !== undefined) body = wire;
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": body.length, "cache-control": "no-store", vary: "accept-encoding", ...(wire === undefined ? {} : { "content-encoding": encoding! }) });
  for (let i = 0; i < body.length; i += WRITE_SLICE) {
    if (res.destroyed) return;
    const more = res.write(body.subarray(i, i + WRITE_SLICE));
    await new Promise<void>((resolve) => (more ? setImmediate(resolve) : res.once("drain", resolve).once("close", resolve)));
  }
  res.end();
}

/** Sends an error answer for `error`. */
export function sendError(res: ServerResponse, error: unknown): void {
  if (error instanceof ProtocolError) {
    const headers: Record<string, string> = {};
    if (error.status === 429 && error.details !== undefined) headers["retry-after"] = error.details;
    return sendJson(res, error.status, { error: { code: error.code, message: error.message } }, headers);
  }
  if (error instanceof VmshError) return sendJson(res, 400, { error: { code: error.code, message: error.message } });
  sendJson(res, 500, { error: { code: "INTERNAL", message: "internal error; the node's log has the details" } });
}
