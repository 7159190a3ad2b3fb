/**
 * Writing answers: JSON bodies, and errors as `{ error: { code, message } }` with the docs/FEDERATION_PROTOCOL.md §Errors
 * status. Only VmshError messages are shown to the peer; anything else is a bug and answers
 * 500 INTERNAL with no detail (the log has it). No stack trace ever leaves the process.
 */
import type { ServerResponse } from "node:http";
import { ProtocolError, VmshError } from "../errors.js";
import type { ChunkedBody } from "../messages/sign-in-slices.js";
import { COMPRESS_FROM_BYTES, compressChunks, type BodyEncoding } from "./encoding.js";

/** Sends `body` as JSON with `status`. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text), "cache-control": "no-store", ...headers });
  res.end(text);
}

/** Resolves when `res` can take more, or is closed; leaves no listener behind. */
function drainedOrClosed(res: ServerResponse): Promise<void> {
  return new Promise<void>((resolve) => {
    const done = (): void => {
      res.off("drain", done).off("close", done);
      resolve();
    };
    res.once("drain", done).once("close", done);
  });
}

/** Bytes written between two pauses of the event loop. */
const WRITE_SLICE = 256 * 1024;

/**
 * Sends `body`, JSON already serialised in chunks (a signed answer built in slices), with
 * `status`: compressed first when the asker offered an encoding, then written chunk by chunk,
 * the socket's backpressure awaited and the event loop yielded about every WRITE_SLICE bytes.
 * The chunks are let go as they are compressed: `body` is consumed. With `compressed`, `body` is
 * already in `encoding` (a Request's answer, compressed while its answer slot was held).
 * @example await sendJsonChunks(res, 200, signed.body, "br")
 */
export async function sendJsonChunks(res: ServerResponse, status: number, body: ChunkedBody, encoding?: BodyEncoding, compressed = false): Promise<void> {
  if (res.headersSent) return;
  // Compressed on the thread pool when the asker offered it (docs/FEDERATION_PROTOCOL.md §Compression).
  const wire = compressed || encoding === undefined || body.length < COMPRESS_FROM_BYTES ? body : await compressChunks(body.chunks, encoding);
  const encoded = compressed || wire !== body;
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": wire.length, "cache-control": "no-store", vary: "accept-encoding", ...(encoded ? { "content-encoding": encoding! } : {}) });
  let since = 0;
  for (const chunk of wire.chunks) {
    if (res.destroyed) return;
    const more = res.write(chunk);
    since += chunk.length;
    if (!more) await drainedOrClosed(res);
    else if (since >= WRITE_SLICE) await new Promise<void>((resolve) => setImmediate(resolve));
    if (!more || since >= WRITE_SLICE) since = 0;
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
