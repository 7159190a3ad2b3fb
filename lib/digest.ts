/**
 * `sha256:<64 hex>` digests as the sealer writes them (docs/FEDERATION_SEMANTICS.md §The sealer's files), and the byte
 * conversions every other module needs. Pure: no I/O.
 */
import { hash } from "node:crypto";
import { ArgumentError } from "./errors.js";

export const DIGEST_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** True when `value` is a lower-case `sha256:<64 hex>` string. */
export function isDigest(value: unknown): value is string {
  return typeof value === "string" && DIGEST_PATTERN.test(value);
}

/**
 * The 32 raw bytes of a `sha256:<hex>` digest.
 * @example digestBytes("sha256:" + "00".repeat(32)).length // 32
 */
export function digestBytes(digest: string, parameter = "digest"): Uint8Array {
  if (!isDigest(digest)) throw new ArgumentError(parameter, `expected "sha256:" followed by 64 lower-case hex digits, got ${JSON.stringify(String(digest).slice(0, 80))}`);
  return Uint8Array.from(Buffer.from(digest.slice(7), "hex"));
}

/**
 * `sha256:<hex>` of 32 raw bytes, as one flat string: a joined string is compared piece by piece
 * every time, and a rebuilt tree's node is compared with the path of every receipt below it
 * (about ten comparisons a receipt at 1,000 leaves; docs/BENCHMARKS.md, import).
 */
export function formatDigest(bytes: Uint8Array): string {
  if (bytes.length !== 32) throw new ArgumentError("bytes", `expected 32 bytes, got ${bytes.length}`);
  const text = `sha256:${Buffer.from(bytes.buffer, bytes.byteOffset, 32).toString("hex")}`;
  // Reading a character makes V8 flatten the joined string once, here.
  text.charCodeAt(70);
  return text;
}

/** SHA-256 of the concatenation of `parts`. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  // One-shot hash of the parts laid side by side: a tree rebuild hashes a node per leaf, and a
  // streaming hash object per node cost half of that rebuild (docs/BENCHMARKS.md, import).
  let input: Uint8Array;
  if (parts.length === 1) input = parts[0]!;
  else {
    let n = 0;
    for (const p of parts) n += p.length;
    if (n > SCRATCH.length) input = Buffer.concat(parts);
    else {
      let o = 0;
      for (const p of parts) {
        SCRATCH.set(p, o);
        o += p.length;
      }
      input = SCRATCH.subarray(0, n);
    }
  }
  const out = hash("sha256", input, "buffer");
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}

/** Where `sha256` lays short parts side by side (a tree node's inputs are at most 65 bytes). */
const SCRATCH = Buffer.alloc(128);

export function bytesToHex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

export function hexToBytes(hex: string, parameter = "hex"): Uint8Array {
  const h = hex.startsWith("0x") ? hex.slice(2) : hex;
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h)) throw new ArgumentError(parameter, "expected an even-length hex string");
  return Uint8Array.from(Buffer.from(h, "hex"));
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
