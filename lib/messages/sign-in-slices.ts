/**
 * Signing a large message without holding the event loop (docs/FEDERATION_PROTOCOL.md §Limits):
 * the canonical form (RFC 8785, as lib/messages/canonical.ts) is built a slice of array
 * elements at a time, encoded and base64url-encoded a slice at a time, with a pause between
 * slices; the Ed25519 signature is computed on libuv's thread pool; and the bytes sent are that
 * canonical form with `sig` added, so the message is never serialised twice, and never copied:
 * the body and the signing input are each written once into a buffer of their exact size. Same
 * bytes, same signature as `signMessage`.
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
/** Characters encoded, and bytes base64url-encoded (a multiple of 3), between two pauses. */
const SLICE_CHARS = 256 * 1024;
const SLICE_BYTES = 3 * 64 * 1024;

/**
 * The canonical JSON of `message` (an object whose top-level arrays may be long), built in slices.
 * @example const text = await canonicalJsonInSlices({ receipts, ts: 1 }, yieldToLoop) // same as canonicalJson(...)
 */
export async function canonicalJsonInSlices(message: Record<string, unknown>, pause: Pause): Promise<string> {
  const members: string[] = [];
  for (const key of Object.keys(message).sort()) {
    const value = message[key];
    if (value === undefined || typeof value === "symbol") continue;
    if (!Array.isArray(value) || value.length <= SLICE_ELEMENTS) {
      members.push(`${JSON.stringify(key)}:${canonicalJson(value)}`);
      continue;
    }
    const parts: string[] = [];
    for (let i = 0; i < value.length; i += SLICE_ELEMENTS) {
      parts.push(value.slice(i, i + SLICE_ELEMENTS).map((v: unknown) => canonicalJson(v === undefined || typeof v === "symbol" ? null : v)).join(","));
      await pause();
    }
    members.push(`${JSON.stringify(key)}:[${parts.join(",")}]`);
  }
  return `{${members.join(",")}}`;
}

/** Where to cut `text` near `at` without splitting a surrogate pair. */
function cut(text: string, at: number): number {
  let j = Math.min(text.length, at);
  if (j < text.length && (text.charCodeAt(j) & 0xfc00) === 0xdc00) j--;
  return j;
}

/** The UTF-8 length of `text`, counted a slice at a time. */
async function utf8LengthInSlices(text: string, pause: Pause): Promise<number> {
  let n = 0;
  for (let i = 0; i < text.length; ) {
    const j = cut(text, i + SLICE_CHARS);
    n += Buffer.byteLength(text.slice(i, j), "utf8");
    i = j;
    if (i < text.length) await pause();
  }
  return n;
}

/** Writes the UTF-8 of `text` into `out` from its start, a slice at a time. */
async function writeUtf8InSlices(text: string, out: Buffer, pause: Pause): Promise<void> {
  let offset = 0;
  for (let i = 0; i < text.length; ) {
    const j = cut(text, i + SLICE_CHARS);
    offset += out.write(text.slice(i, j), offset, "utf8");
    i = j;
    if (i < text.length) await pause();
  }
}

/** Writes base64url of `bytes` as ASCII into `out` at `offset`, a slice at a time. */
async function writeBase64UrlInSlices(bytes: Buffer, out: Buffer, offset: number, pause: Pause): Promise<void> {
  for (let i = 0; i < bytes.length; i += SLICE_BYTES) {
    offset += out.write(bytes.subarray(i, i + SLICE_BYTES).toString("base64url"), offset, "ascii");
    if (i + SLICE_BYTES < bytes.length) await pause();
  }
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
 * detached JWS and the JSON bytes to send (the canonical form with `sig`).
 * @example const { body } = await signMessageInSlices(bundle, key.privateKey, yieldToLoop); await sendJsonBytes(res, 200, body)
 */
export async function signMessageInSlices(message: { signer: string } & Record<string, unknown>, privateKey: KeyObject, pause: Pause = yieldToLoop): Promise<{ sig: string; body: Buffer }> {
  const text = await canonicalJsonInSlices(message, pause);
  const protectedB64 = Buffer.from(canonicalJson({ alg: "EdDSA", kid: keyIdFor(message.signer) }), "utf8").toString("base64url");
  // Two buffers in all, each written in place (docs/FEDERATION_PROTOCOL.md §Limits): the body,
  // which holds the canonical form and then, over its closing "}", the `sig` member; and the
  // signing input. No copy of either is made.
  const payloadBytes = await utf8LengthInSlices(text, pause);
  const suffixBytes = `,"sig":"${protectedB64}..`.length + SIGNATURE_CHARS + 2;
  const body = Buffer.allocUnsafe(payloadBytes - 1 + suffixBytes);
  await writeUtf8InSlices(text, body, pause);
  const payload = body.subarray(0, payloadBytes);
  const signingInput = Buffer.allocUnsafe(protectedB64.length + 1 + base64UrlLength(payloadBytes));
  signingInput.write(`${protectedB64}.`, 0, "ascii");
  await writeBase64UrlInSlices(payload, signingInput, protectedB64.length + 1, pause);
  const signature = await signAsync(signingInput, privateKey);
  const sig = `${protectedB64}..${signature.toString("base64url")}`;
  // The canonical form ends with "}": the signed message is it with `sig` added as its last member.
  const written = body.write(`,"sig":${JSON.stringify(sig)}}`, payloadBytes - 1, "utf8");
  if (payloadBytes - 1 + written !== body.length) throw new Error(`signed body is ${payloadBytes - 1 + written} bytes, expected ${body.length}`);
  return { sig, body };
}
