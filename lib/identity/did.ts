/**
 * Node identities: DIDs and the `ed25519:` public-key lines of peers.yaml (docs/FEDERATION_OPERATIONS.md §peers.yaml).
 */
import { ArgumentError } from "../errors.js";
import { weakKeyProblem } from "./weak-key.js";

/** A DID as used for node ids: `did:<method>:<id>`, ASCII, at most 200 characters. */
export const DID_PATTERN = /^did:[a-z0-9]{1,32}:[A-Za-z0-9._%-]+(:[A-Za-z0-9._%-]+)*$/;
export const DID_MAX_LENGTH = 200;

/** True when `value` is a DID this product accepts as a node id. */
export function isDid(value: unknown): value is string {
  return typeof value === "string" && value.length <= DID_MAX_LENGTH && DID_PATTERN.test(value);
}

/**
 * The JWS `kid` a node signs with: `<DID>#key-1` (docs/FEDERATION_PROTOCOL.md §Signatures).
 * @example keyIdFor("did:vm:node:a") // "did:vm:node:a#key-1"
 */
export function keyIdFor(did: string): string {
  return `${did}#key-1`;
}

/**
 * Decodes a peers.yaml key line `ed25519:<base64url or hex of 32 bytes>` into the raw public key.
 * Returns a string describing the problem instead of throwing, so config validation can collect it.
 * A key of small order, or not canonically encoded, binds no one and is refused (lib/identity/weak-key.ts).
 * @example parseKeyLine("ed25519:" + "07".repeat(32)) // Uint8Array(32)
 */
export function parseKeyLine(line: unknown): Uint8Array | string {
  const raw = decodeKeyLine(line);
  if (typeof raw === "string") return raw;
  const weak = weakKeyProblem(raw);
  return weak === undefined ? raw : `the key ${weak}`;
}

/**
 * The 32 bytes of a key line, weak or not: for a caller that words its own refusal of a weak
 * key (lib/proof/trust.ts names the DID). Otherwise use parseKeyLine.
 * @example decodeKeyLine("ed25519:" + "00".repeat(32)) // Uint8Array(32) of zeros
 */
export function decodeKeyLine(line: unknown): Uint8Array | string {
  if (typeof line !== "string") return "expected a string \"ed25519:<base64url or hex of the 32-byte key>\"";
  if (!line.startsWith("ed25519:")) return "expected the prefix \"ed25519:\"";
  const body = line.slice("ed25519:".length);
  let bytes: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(body)) bytes = Buffer.from(body, "hex");
  else if (/^[A-Za-z0-9_-]{43}$/.test(body)) bytes = Buffer.from(body, "base64url");
  if (bytes === undefined || bytes.length !== 32) return "expected 32 key bytes as 64 hex digits or 43 base64url characters";
  return Uint8Array.from(bytes);
}

/**
 * The key line a peer pastes into its peers.yaml for a raw 32-byte Ed25519 public key.
 * @example formatKeyLine(new Uint8Array(32)) // "ed25519:AAAA…"
 */
export function formatKeyLine(publicKey: Uint8Array): string {
  if (publicKey.length !== 32) throw new ArgumentError("publicKey", `expected 32 bytes, got ${publicKey.length}`);
  return `ed25519:${Buffer.from(publicKey).toString("base64url")}`;
}
