/**
 * RFC 8785 (JCS) canonical JSON, the bytes every signature and digest is taken over (docs/FEDERATION_PROTOCOL.md §Signatures).
 */
import canonicalizeModule from "canonicalize";
import { createHash } from "node:crypto";
import { ArgumentError } from "../errors.js";

// canonicalize ships CommonJS typings whose default export shape differs between
// module systems; normalise once here.
const jcs = canonicalizeModule as unknown as (value: unknown) => string | undefined;

/**
 * The JCS serialisation of `value`.
 * @example canonicalJson({ b: 1, a: "x" }) // '{"a":"x","b":1}'
 */
export function canonicalJson(value: unknown): string {
  const text = jcs(value);
  if (text === undefined) throw new ArgumentError("value", "cannot be represented as JSON");
  return text;
}

/** A copy of `message` without its `sig` member: the signed payload. */
export function unsigned<T extends { sig?: unknown }>(message: T): Omit<T, "sig"> {
  const { sig: _sig, ...rest } = message;
  return rest;
}

/**
 * `sha256:<hex>` of the canonical form of a message without `sig`: the message digest
 * used for replay detection and for a Bundle's `request` field.
 * @example messageDigest({ type: "request", v: 1, namespace: "dao:x", ts: 1, signer: "did:vm:node:a" })
 */
export function messageDigest(message: { sig?: unknown }): string {
  return `sha256:${createHash("sha256").update(canonicalJson(unsigned(message)), "utf8").digest("hex")}`;
}
