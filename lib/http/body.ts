/**
 * Reading a request body under the rules of docs/FEDERATION_PROTOCOL.md §Limits and §Errors: JSON content type (415), a byte limit
 * checked against Content-Length before reading and while reading (413), UTF-8 text out.
 */
import type { IncomingMessage } from "node:http";
import { createBrotliDecompress, createGunzip, type Gunzip, type BrotliDecompress } from "node:zlib";
import { ProtocolError } from "../errors.js";
import { knownEncoding } from "./encoding.js";

/**
 * A look at the first bytes of a body that grows past `openBytes`, before any more is read:
 * `check` throws (a ProtocolError) to refuse it unread (docs/FEDERATION_PROTOCOL.md §Limits).
 */
export interface BodyScreen {
  openBytes: number;
  check(head: Buffer): void;
}

/**
 * Reads the whole body of `req` as UTF-8, refusing non-JSON content types and bodies over
 * `maxBytes`; with `screen`, a body past `screen.openBytes` is read on only if its head passes.
 * @example const text = await readJsonBody(req, LIMITS.maxInboundBodyBytes)
 */
export async function readJsonBody(req: IncomingMessage, maxBytes: number, screen?: BodyScreen): Promise<string> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase();
  if (type !== "application/json") throw new ProtocolError("UNSUPPORTED_MEDIA_TYPE", 415, `expected Content-Type application/json, got ${JSON.stringify(type || "(none)")}`);
  const encoding = knownEncoding(req.headers["content-encoding"]);
  if (encoding === undefined) throw new ProtocolError("UNSUPPORTED_MEDIA_TYPE", 415, `Content-Encoding ${JSON.stringify(String(req.headers["content-encoding"]).slice(0, 40))} is not one of gzip, br, identity`);
  if (encoding !== "identity") return readInflated(req, encoding === "gzip" ? createGunzip() : createBrotliDecompress(), maxBytes, screen);
  return readUtf8(req, maxBytes, "MALFORMED_JSON", screen);
}

/**
 * Reads the whole body of `req` as UTF-8 whatever its content type (the C2SP text bodies of
 * `/log/`, docs/FEDERATION_PROTOCOL.md §Origin log), under the same byte limit (413) as
 * readJsonBody; a body that is not UTF-8 is 400 MALFORMED.
 * @example const text = await readTextBody(req, MAX_ADD_CHECKPOINT_BYTES)
 */
export function readTextBody(req: IncomingMessage, maxBytes: number): Promise<string> {
  return readUtf8(req, maxBytes, "MALFORMED");
}

async function readUtf8(req: IncomingMessage, maxBytes: number, malformed: "MALFORMED" | "MALFORMED_JSON", screen?: BodyScreen): Promise<string> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) throw new ProtocolError("BODY_TOO_LARGE", 413, `body of ${declared} bytes is over the limit of ${maxBytes}`);
  const chunks: Buffer[] = [];
  let size = 0;
  // Leave the stream open on refusal: the server drains the rest so the sender can read the 413.
  for await (const chunk of req.iterator({ destroyOnReturn: false })) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) throw new ProtocolError("BODY_TOO_LARGE", 413, `body is over the limit of ${maxBytes} bytes`);
    const before = size - (chunk as Buffer).length;
    chunks.push(chunk as Buffer);
    if (screen !== undefined && before <= screen.openBytes && size > screen.openBytes) screen.check(Buffer.concat(chunks).subarray(0, screen.openBytes));
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.includes("\uFFFD")) throw new ProtocolError(malformed, 400, "body is not valid UTF-8");
  return text;
}

/**
 * A compressed body (docs/FEDERATION_PROTOCOL.md §Compression), inflated as it arrives: the
 * compressed bytes count against `maxBytes` (413 BODY_TOO_LARGE), and so do the inflated ones
 * (413 INFLATED_TOO_LARGE, the inflater stopped at once: a zip bomb costs at most `maxBytes`);
 * `screen` looks at the inflated head.
 */
async function readInflated(req: IncomingMessage, inflater: Gunzip | BrotliDecompress, maxBytes: number, screen: BodyScreen | undefined): Promise<string> {
  const out: Buffer[] = [];
  let size = 0;
  let failure: unknown;
  inflater.on("data", (chunk: Buffer) => {
    if (failure !== undefined) return;
    const before = size;
    size += chunk.length;
    if (size > maxBytes) {
      failure = new ProtocolError("INFLATED_TOO_LARGE", 413, `body inflates to more than the limit of ${maxBytes} bytes`);
      inflater.destroy();
      return;
    }
    out.push(chunk);
    try {
      if (screen !== undefined && before <= screen.openBytes && size > screen.openBytes) screen.check(Buffer.concat(out).subarray(0, screen.openBytes));
    } catch (e) {
      failure = e;
      inflater.destroy();
    }
  });
  inflater.on("error", () => {
    failure ??= new ProtocolError("MALFORMED_JSON", 400, "body is not valid in its Content-Encoding");
  });
  const settle = (start: (done: () => void) => void) =>
    new Promise<void>((resolve) => {
      const done = () => {
        inflater.off("close", done);
        resolve();
      };
      inflater.once("close", done);
      start(done);
    });
  let raw = 0;
  try {
    for await (const chunk of req.iterator({ destroyOnReturn: false })) {
      raw += (chunk as Buffer).length;
      if (raw > maxBytes) throw new ProtocolError("BODY_TOO_LARGE", 413, `body is over the limit of ${maxBytes} bytes`);
      await settle((done) => inflater.write(chunk as Buffer, () => done()));
      if (failure !== undefined) throw failure;
    }
    await settle((done) => {
      inflater.once("end", done);
      inflater.end();
    });
    if (failure !== undefined) throw failure;
  } finally {
    inflater.destroy();
  }
  const text = Buffer.concat(out, size).toString("utf8");
  if (text.includes("\uFFFD")) throw new ProtocolError("MALFORMED_JSON", 400, "body is not valid UTF-8");
  return text;
}
