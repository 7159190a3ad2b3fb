/**
 * JWS compact serialization with a detached payload (RFC 7515 §7.1 and appendix F),
 * EdDSA over Ed25519 (RFC 8037). The compact form is `<protected>..<signature>`: the
 * payload, base64url-encoded, is put back between the dots by the verifier.
 */
import { sign as cryptoSign, verify as cryptoVerify, type KeyObject } from "node:crypto";
import { keyIdFor } from "../identity/did.js";
import { canonicalJson } from "./canonical.js";

export interface JwsHeader {
  alg: "EdDSA";
  kid: string;
}

const B64URL = /^[A-Za-z0-9_-]*$/;

/** Strict base64url: only the URL-safe alphabet, no padding, and the canonical encoding of its bytes. */
function decodeBase64Url(text: string): Buffer | undefined {
  if (!B64URL.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, "base64url");
  return bytes.toString("base64url") === text ? bytes : undefined;
}

/**
 * Signs `payload` (the canonical JSON bytes of a message without `sig`) for `signer`.
 * @example signDetached(Buffer.from('{"a":1}'), "did:vm:node:a", key.privateKey) // "eyJ…..<sig>"
 */
export function signDetached(payload: Uint8Array, signer: string, privateKey: KeyObject): string {
  const header: JwsHeader = { alg: "EdDSA", kid: keyIdFor(signer) };
  const protectedB64 = Buffer.from(canonicalJson(header), "utf8").toString("base64url");
  const signingInput = `${protectedB64}.${Buffer.from(payload).toString("base64url")}`;
  const signature = cryptoSign(null, Buffer.from(signingInput, "ascii"), privateKey);
  return `${protectedB64}..${signature.toString("base64url")}`;
}

export type JwsCheck = { ok: true; header: JwsHeader } | { ok: false; reason: string };

/**
 * Checks a detached compact JWS against `payload` and the signer's public key. The header must
 * be exactly `{alg:"EdDSA", kid:"<signer>#key-1"}`: no other algorithm, no extra members
 * (an unknown `crit` or `b64` would change the meaning of the bytes).
 * Never throws on malformed input.
 * @example verifyDetached(jws, payload, "did:vm:node:a", publicKey) // { ok: true, header }
 */
export function verifyDetached(jws: unknown, payload: Uint8Array, signer: string, publicKey: KeyObject): JwsCheck {
  if (typeof jws !== "string" || jws.length > 1024) return { ok: false, reason: "sig is not a compact JWS" };
  const parts = jws.split(".");
  if (parts.length !== 3) return { ok: false, reason: "sig is not a compact JWS (expected three dot-separated parts)" };
  const [protectedB64, detached, signatureB64] = parts as [string, string, string];
  if (detached !== "") return { ok: false, reason: "sig must have a detached (empty) payload part" };
  const headerBytes = decodeBase64Url(protectedB64);
  const signature = decodeBase64Url(signatureB64);
  if (headerBytes === undefined || signature === undefined) return { ok: false, reason: "sig is not valid base64url" };
  let header: unknown;
  try {
    header = JSON.parse(headerBytes.toString("utf8"));
  } catch {
    return { ok: false, reason: "sig protected header is not JSON" };
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) return { ok: false, reason: "sig protected header is not a JSON object" };
  const h = header as Record<string, unknown>;
  const keys = Object.keys(h).sort();
  if (keys.length !== 2 || keys[0] !== "alg" || keys[1] !== "kid") return { ok: false, reason: "sig protected header must hold exactly alg and kid" };
  if (h.alg !== "EdDSA") return { ok: false, reason: `sig algorithm ${JSON.stringify(h.alg)} is not EdDSA` };
  if (h.kid !== keyIdFor(signer)) return { ok: false, reason: `sig kid ${JSON.stringify(h.kid)} does not name the signer's key ${keyIdFor(signer)}` };
  if (signature.length !== 64) return { ok: false, reason: "sig signature is not 64 bytes" };
  const signingInput = Buffer.from(`${protectedB64}.${Buffer.from(payload).toString("base64url")}`, "ascii");
  let valid = false;
  try {
    valid = cryptoVerify(null, signingInput, publicKey, signature);
  } catch {
    valid = false;
  }
  return valid ? { ok: true, header: { alg: "EdDSA", kid: h.kid } } : { ok: false, reason: "signature does not verify with the signer's key" };
}
