/**
 * Compressed bodies on the federation endpoints (docs/FEDERATION_PROTOCOL.md §Compression):
 * `Accept-Encoding` / `Content-Encoding` with gzip or brotli (node:zlib, on the thread pool so
 * the event loop stays free). Inflating is always bounded: the output may not pass the limit the
 * uncompressed body has, so a small body cannot make this node allocate more than a plain one.
 */
import { promisify } from "node:util";
import { once } from "node:events";
import { brotliCompress, brotliDecompress, constants, createBrotliCompress, createGzip, gunzip, gzip } from "node:zlib";

export type BodyEncoding = "br" | "gzip";

/** Bodies shorter than this go plain: compressing them saves less than the headers cost. */
export const COMPRESS_FROM_BYTES = 1024;
/** What a node sends in Accept-Encoding on its calls to peers. */
export const ACCEPT_ENCODING = "br, gzip";

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
const brotliAsync = promisify(brotliCompress);
const unbrotliAsync = promisify(brotliDecompress);

/**
 * The encoding to answer with for an `Accept-Encoding` header: brotli, then gzip, when offered
 * with a non-zero q; none otherwise.
 * @example chooseEncoding("gzip, br;q=0") // "gzip"
 */
export function chooseEncoding(accept: string | string[] | undefined): BodyEncoding | undefined {
  const text = Array.isArray(accept) ? accept.join(",") : (accept ?? "");
  const offered = new Set<string>();
  for (const part of text.toLowerCase().split(",")) {
    const [name, ...params] = part.split(";").map((x) => x.trim());
    const q = params.find((p) => p.startsWith("q="));
    if (name !== undefined && name !== "" && (q === undefined || Number(q.slice(2)) > 0)) offered.add(name);
  }
  if (offered.has("br")) return "br";
  if (offered.has("gzip")) return "gzip";
  return undefined;
}

/** A `Content-Encoding` value this node inflates, "identity" for none, or undefined when unknown. */
export function knownEncoding(header: string | string[] | undefined): BodyEncoding | "identity" | undefined {
  if (header === undefined) return "identity";
  const value = (Array.isArray(header) ? header.join(",") : header).trim().toLowerCase();
  if (value === "" || value === "identity") return "identity";
  if (value === "gzip" || value === "x-gzip") return "gzip";
  if (value === "br") return "br";
  return undefined;
}

/**
 * Brotli's window: 2^18 bytes (256 KiB). A Bundle's repetition is local (member names, the
 * namespace, a batch id), so a wider window gains under 2 % on a 5 MB answer, while the window
 * sized to the body (4 MiB and more) cost about 3× the resident memory per answer compressed
 * (docs/BENCHMARKS.md, "work budgets").
 */
export const BROTLI_WINDOW_BITS = 18;

/**
 * `body` compressed with `encoding` (brotli at quality 5: near gzip's speed, a better ratio on JSON).
 * @example const wire = await compressBody(Buffer.from(json), "gzip")
 */
export async function compressBody(body: Buffer, encoding: BodyEncoding): Promise<Buffer> {
  if (encoding === "gzip") return gzipAsync(body, { level: GZIP_LEVEL });
  return brotliAsync(body, { params: BROTLI_PARAMS });
}

const GZIP_LEVEL = 6;
const BROTLI_PARAMS = { [constants.BROTLI_PARAM_QUALITY]: 5, [constants.BROTLI_PARAM_LGWIN]: BROTLI_WINDOW_BITS };
/** An empty buffer left in the place of an input chunk compressChunks has handed to zlib. */
const TAKEN = Buffer.alloc(0);

/**
 * The bytes of `chunks` (one body) compressed with `encoding`, as compressBody does, streamed
 * through zlib on the thread pool a chunk at a time; the output comes back in zlib's chunks. Each
 * input chunk is dropped from `chunks` once zlib has it, so the uncompressed body is let go while
 * the compressed one grows (docs/FEDERATION_PROTOCOL.md §Compression).
 * @example const wire = await compressChunks(signed.body.chunks, "br")
 */
export async function compressChunks(chunks: Buffer[], encoding: BodyEncoding): Promise<{ chunks: Buffer[]; length: number }> {
  const z = encoding === "gzip" ? createGzip({ level: GZIP_LEVEL }) : createBrotliCompress({ params: BROTLI_PARAMS });
  const out: Buffer[] = [];
  let length = 0;
  z.on("data", (b: Buffer) => {
    out.push(b);
    length += b.length;
  });
  const ended = once(z, "end");
  // A zlib error rejects both this and a pending wait for "drain": only the first one awaited is reported.
  ended.catch(() => undefined);
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i]!;
    chunks[i] = TAKEN;
    if (!z.write(chunk)) await once(z, "drain");
  }
  z.end();
  await ended;
  return { chunks: out, length };
}

/** Thrown by inflateBody when the inflated body would pass its limit. */
export class InflatedTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the body inflates to more than ${limit} bytes`);
  }
}

/**
 * `body` inflated, refusing (InflatedTooLarge) as soon as the output passes `maxBytes`: zlib
 * stops at the bound, so a zip bomb costs at most `maxBytes` of memory. A corrupt stream throws
 * the zlib error.
 * @example const json = await inflateBody(wire, "br", LIMITS.maxBundleBytes)
 */
export async function inflateBody(body: Buffer, encoding: BodyEncoding, maxBytes: number): Promise<Buffer> {
  try {
    return encoding === "gzip" ? await gunzipAsync(body, { maxOutputLength: maxBytes }) : await unbrotliAsync(body, { maxOutputLength: maxBytes });
  } catch (e) {
    if ((e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE" || e instanceof RangeError) throw new InflatedTooLarge(maxBytes);
    throw e;
  }
}
