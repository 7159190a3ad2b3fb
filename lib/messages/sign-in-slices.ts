/**
 * Signing a large message without holding the event loop (docs/FEDERATION_PROTOCOL.md §Limits):
 * the canonical form (RFC 8785, as lib/messages/canonical.ts) is built a slice of array
 * elements at a time, encoded and base64url-encoded a slice at a time, with a pause between
 * slices; the Ed25519 signature is computed on libuv's thread pool; and the bytes sent are that
 * canonical form with `sig` added, so the message is never serialised twice. Same bytes, same
 * signature as `signMessage`.
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

/** UTF-8 bytes of `text`, encoded a slice at a time (never splitting a surrogate pair). */
async function utf8InSlices(text: string, pause: Pause): Promise<Buffer> {
  const out: Buffer[] = [];
  for (let i = 0; i < text.length; ) {
    let j = Math.min(text.length, i + SLICE_CHARS);
    if (j < text.length && (text.charCodeAt(j) & 0xfc00) === 0xdc00) j--;
    out.push(Buffer.from(text.slice(i, j), "utf8"));
    i = j;
    if (i < text.length) await pause();
  }
  return Buffer.concat(out);
}

/** base64url of `bytes` as ASCII bytes, a slice at a time. */
async function base64UrlInSlices(bytes: Buffer, pause: Pause): Promise<Buffer> {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += SLICE_BYTES) {
    out.push(Buffer.from(bytes.subarray(i, i + SLICE_BYTES).toString("base64url"), "ascii"));
    if (i + SLICE_BYTES < bytes.length) await pause();
  }
  return Buffer.concat(out);
}

function signAsync(data: Buffer, privateKey: KeyObject): Promise<Buffer> {
  return new Promise((resolve, reject) => cryptoSign(null, data, privateKey, (error, signature) => (error === null ? resolve(signature) : reject(error))));
}

/**
 * Signs `message` (which names its own `signer`) as `signMessage` does, in slices; returns the
 * detached JWS and the JSON bytes to send (the canonical form with `sig`).
 * @example const { body } = await signMessageInSlices(bundle, key.privateKey, yieldToLoop); await sendJsonBytes(res, 200, body)
 */
export async function signMessageInSlices(message: { signer: string } & Record<string, unknown>, privateKey: KeyObject, pause: Pause = yieldToLoop): Promise<{ sig: string; body: Buffer }> {
  const payload = await utf8InSlices(await canonicalJsonInSlices(message, pause), pause);
  const protectedB64 = Buffer.from(canonicalJson({ alg: "EdDSA", kid: keyIdFor(message.signer) }), "utf8").toString("base64url");
  const signingInput = Buffer.concat([Buffer.from(`${protectedB64}.`, "ascii"), await base64UrlInSlices(payload, pause)]);
  const signature = await signAsync(signingInput, privateKey);
  const sig = `${protectedB64}..${signature.toString("base64url")}`;
  // The canonical form ends with "}": the signed message is it with `sig` added as its last member.
  const body = Buffer.concat([payload.subarray(0, payload.length - 1), Buffer.from(`,"sig":${JSON.stringify(sig)}}`, "utf8")]);
  return { sig, body };
}
