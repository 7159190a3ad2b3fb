/**
 * Signing a large message without holding the event loop (docs/FEDERATION_PROTOCOL.md §Limits):
 * the canonical form (RFC 8785, as lib/messages/canonical.ts) is written as UTF-8 into chunks of
 * CHUNK_BYTES a slice of array elements at a time and base64url-encoded a chunk at a time, with a
 * pause between slices; the Ed25519 signature is computed on libuv's thread pool; and the bytes
 * sent are those chunks with `sig` added, so the message is never serialised twice. No string or
 * buffer as large as the body is made but the signing input, which Ed25519 takes whole: a 5 MB
 * answer does not pass through the large-object space of the heap (docs/BENCHMARKS.md, "work
 * budgets"). Same bytes, same signature as `signMessage`.
 */
import { sign as cryptoSign, type KeyObject } from "node:crypto";
import { keyIdFor } from "../identity/did.js";
import { canonicalJson } from "./canonical.js";

/** Waits before the next slice: `setImmediate` lets pending I/O (a /health call) run first. */
export type Pause = () => Promise<void>;

/** Yields to the event loop once. */
export const yieldToLoop: Pause = () => new Promise((resolve) => setImmediate(resolve));

/** Array elements canonicalised between two pauses. */
const SLICE_ELEMENTS = 200;
/** Bytes base64url-encoded between two pauses. */
const SLICE_BYTES = 256 * 1024;
/**
 * Size of the chunks a body is written into: under V8's large-object size once base64url-encoded
 * (87 KiB of text), so no step of signing makes a string or a buffer as large as the body.
 */
export const CHUNK_BYTES = 64 * 1024;

/**
 * A JSON body as the bytes of its chunks, in order (docs/FEDERATION_PROTOCOL.md §Limits): a large
 * answer is never held as one string or one buffer, and each chunk can be let go once sent.
 */
export interface ChunkedBody {
  chunks: Buffer[];
  /** Bytes in all the chunks. */
  length: number;
}

/** Appends UTF-8 text to a list of CHUNK_BYTES buffers, each filled before the next is taken. */
class ChunkWriter {
  readonly chunks: Buffer[] = [];
  length = 0;
  #chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  #at = 0;

  write(text: string): void {
    // A UTF-16 code unit is at most 3 bytes of UTF-8: text that surely fits is written in place.
    if (text.length * 3 <= CHUNK_BYTES - this.#at) {
      const n = this.#chunk.write(text, this.#at, "utf8");
      this.#at += n;
      this.length += n;
      return;
    }
    const bytes = Buffer.from(text, "utf8");
    for (let i = 0; i < bytes.length; ) {
      if (this.#at === CHUNK_BYTES) this.#next();
      const n = bytes.copy(this.#chunk, this.#at, i);
      this.#at += n;
      i += n;
    }
    this.length += bytes.length;
  }

  #next(): void {
    this.chunks.push(this.#chunk);
    this.#chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    this.#at = 0;
  }

  /** The chunks written, the last one cut to what it holds. */
  end(): ChunkedBody {
    if (this.#at > 0) this.chunks.push(this.#chunk.subarray(0, this.#at));
    this.#at = CHUNK_BYTES;
    return { chunks: this.chunks, length: this.length };
  }
}

/**
 * The canonical JSON of `message` (an object whose top-level arrays may be long) as UTF-8 in
 * chunks, built a slice of array elements at a time: the bytes of `canonicalJson(message)`.
 * @example const { chunks } = await canonicalBytesInSlices({ receipts, ts: 1 }, yieldToLoop) // Buffer.concat(chunks) is canonicalJson(...)'s UTF-8
 */
export async function canonicalBytesInSlices(message: Record<string, unknown>, pause: Pause): Promise<ChunkedBody> {
  const out = new ChunkWriter();
  out.write("{");
  let first = true;
  for (const key of Object.keys(message).sort()) {
    const value = message[key];
    if (value === undefined || typeof value === "symbol") continue;
    out.write(`${first ? "" : ","}${JSON.stringify(key)}:`);
    first = false;
    if (!Array.isArray(value) || value.length <= SLICE_ELEMENTS) {
      out.write(canonicalJson(value));
      continue;
    }
    out.write("[");
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      out.write(`${i === 0 ? "" : ","}${canonicalJson(v === undefined || typeof v === "symbol" ? null : v)}`);
      if ((i + 1) % SLICE_ELEMENTS === 0 && i + 1 < value.length) await pause();
    }
    out.write("]");
    await pause();
  }
  out.write("}");
  return out.end();
}

/**
 * Writes base64url of the bytes of `chunks` (one byte stream) as ASCII into `out` at `offset`,
 * chunk by chunk: base64 of 3-byte groups concatenates, so the 0–2 bytes left at the end of a
 * chunk are carried into the next.
 */
async function writeBase64UrlInSlices(chunks: readonly Buffer[], out: Buffer, offset: number, pause: Pause): Promise<number> {
  let carry = Buffer.alloc(0);
  let since = 0;
  for (const chunk of chunks) {
    let from = 0;
    if (carry.length > 0) {
      const need = 3 - carry.length;
      if (chunk.length < need) {
        carry = Buffer.concat([carry, chunk]);
        continue;
      }
      offset += out.write(Buffer.concat([carry, chunk.subarray(0, need)]).toString("base64url"), offset, "ascii");
      from = need;
    }
    const whole = from + Math.floor((chunk.length - from) / 3) * 3;
    offset += out.write(chunk.subarray(from, whole).toString("base64url"), offset, "ascii");
    carry = Buffer.from(chunk.subarray(whole));
    since += chunk.length;
    if (since >= SLICE_BYTES) {
      since = 0;
      await pause();
    }
  }
  if (carry.length > 0) offset += out.write(carry.toString("base64url"), offset, "ascii");
  return offset;
}

/** Characters of base64url (unpadded) for `n` bytes. */
const base64UrlLength = (n: number): number => Math.floor(n / 3) * 4 + [0, 2, 3][n % 3]!;

/** Characters of an Ed25519 signature in base64url. */
const SIGNATURE_CHARS = base64UrlLength(64);

function signAsync(data: Buffer, privateKey: KeyObject): Promise<Buffer> {
  return new Promise((resolve, reject) => cryptoSign(null, data, privateKey, (error, signature) => (error === null ? resolve(signature) : reject(error))));
}

/**
 * Signs `message` (which names its own `signer`) as `signMessage` does, in slices; returns the
 * detached JWS and the JSON bytes to send (the canonical form with `sig`), in chunks.
 * @example const { body } = await signMessageInSlices(bundle, key.privateKey, yieldToLoop); await sendJsonChunks(res, 200, body)
 */
export async function signMessageInSlices(message: { signer: string } & Record<string, unknown>, privateKey: KeyObject, pause: Pause = yieldToLoop): Promise<{ sig: string; body: ChunkedBody }> {
  const payload = await canonicalBytesInSlices(message, pause);
  const protectedB64 = Buffer.from(canonicalJson({ alg: "EdDSA", kid: keyIdFor(message.signer) }), "utf8").toString("base64url");
  // The signing input is the one buffer as large as the body (Ed25519 signs it whole), written in
  // place and let go once signed (docs/FEDERATION_PROTOCOL.md §Limits).
  let signingInput: Buffer | undefined = Buffer.allocUnsafe(protectedB64.length + 1 + base64UrlLength(payload.length));
  signingInput.write(`${protectedB64}.`, 0, "ascii");
  const written = await writeBase64UrlInSlices(payload.chunks, signingInput, protectedB64.length + 1, pause);
  if (written !== signingInput.length) throw new Error(`signing input is ${written} bytes, expected ${signingInput.length}`);
  const signature = await signAsync(signingInput, privateKey);
  signingInput = undefined;
  const sig = `${protectedB64}..${signature.toString("base64url")}`;
  // The canonical form ends with "}": the signed message is it with `sig` added as its last member.
  const last = payload.chunks.pop();
  if (last === undefined || last[last.length - 1] !== 0x7d) throw new Error("the canonical form does not end with '}'");
  if (last.length > 1) payload.chunks.push(last.subarray(0, last.length - 1));
  const suffix = Buffer.from(`,"sig":${JSON.stringify(sig)}}`, "utf8");
  payload.chunks.push(suffix);
  return { sig, body: { chunks: payload.chunks, length: payload.length - 1 + suffix.length } };
}
