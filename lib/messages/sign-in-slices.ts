/**
 * Signing a large message without holding the event loop (docs/FEDERATION_PROTOCOL.md §Limits):
 * the canonical form (RFC 8785, as lib/messages/canonical.ts) is built a slice of array
 * elements at a time with a pause in between, the Ed25519 signature is computed on libuv's
 * thread pool, and the wire text is that canonical form with `sig` added, so it is never
 * serialised twice. Same bytes, same signature as `signMessage`.
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

function signAsync(data: Buffer, privateKey: KeyObject): Promise<Buffer> {
  return new Promise((resolve, reject) => cryptoSign(null, data, privateKey, (error, signature) => (error === null ? resolve(signature) : reject(error))));
}

/**
 * Signs `message` (which names its own `signer`) as `signMessage` does, in slices; returns the
 * detached JWS and the JSON text to send (the canonical form with `sig`).
 * @example const { text } = await signMessageInSlices(bundle, key.privateKey, yieldToLoop); sendJsonText(res, 200, text)
 */
export async function signMessageInSlices(message: { signer: string } & Record<string, unknown>, privateKey: KeyObject, pause: Pause = yieldToLoop): Promise<{ sig: string; text: string; bytes: number }> {
  const payload = await canonicalJsonInSlices(message, pause);
  const protectedB64 = Buffer.from(canonicalJson({ alg: "EdDSA", kid: keyIdFor(message.signer) }), "utf8").toString("base64url");
  const signingInput = Buffer.from(`${protectedB64}.${Buffer.from(payload, "utf8").toString("base64url")}`, "ascii");
  await pause();
  const signature = await signAsync(signingInput, privateKey);
  const sig = `${protectedB64}..${signature.toString("base64url")}`;
  const text = `${payload.slice(0, -1)},"sig":${JSON.stringify(sig)}}`;
  return { sig, text, bytes: Buffer.byteLength(text) };
}
