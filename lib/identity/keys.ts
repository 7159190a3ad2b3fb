/**
 * Ed25519 key pairs through node:crypto (OpenSSL): about 60× faster than tweetnacl
 * here (docs/BENCHMARKS.md §What each row measures), which is why the hot path uses it. Keys are the same bytes in both.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { ArgumentError } from "../errors.js";

export interface NodeKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The raw 32-byte public key. */
  publicKeyBytes: Uint8Array;
}

/**
 * A fresh Ed25519 key pair.
 * @example const key = generateNodeKey(); key.publicKeyBytes.length // 32
 */
export function generateNodeKey(): NodeKey {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  return { privateKey, publicKey, publicKeyBytes: rawPublicKey(publicKey) };
}

/** PKCS#8 PEM of the private key, as written to the key file. */
export function exportPrivateKeyPem(key: NodeKey): string {
  return key.privateKey.export({ format: "pem", type: "pkcs8" }).toString();
}

/**
 * Loads a key from PKCS#8 PEM text; throws ArgumentError if it is not an Ed25519 private key.
 * @example importPrivateKeyPem(exportPrivateKeyPem(generateNodeKey()))
 */
export function importPrivateKeyPem(pem: string): NodeKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: "pem" });
  } catch (cause) {
    throw new ArgumentError("pem", `not a PEM private key (${(cause as Error).message})`);
  }
  if (privateKey.asymmetricKeyType !== "ed25519") throw new ArgumentError("pem", `expected an Ed25519 key, got ${privateKey.asymmetricKeyType ?? "unknown"}`);
  const publicKey = createPublicKey(privateKey);
  return { privateKey, publicKey, publicKeyBytes: rawPublicKey(publicKey) };
}

/** The 32 raw bytes of an Ed25519 public key (the JWK `x` member). */
export function rawPublicKey(publicKey: KeyObject): Uint8Array {
  const jwk = publicKey.export({ format: "jwk" });
  if (typeof jwk.x !== "string") throw new ArgumentError("publicKey", "not an Ed25519 public key");
  return Uint8Array.from(Buffer.from(jwk.x, "base64url"));
}

/** A node:crypto public key from the raw 32 bytes of peers.yaml. */
export function publicKeyFromRaw(raw: Uint8Array): KeyObject {
  if (raw.length !== 32) throw new ArgumentError("raw", `expected 32 bytes, got ${raw.length}`);
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(raw).toString("base64url") }, format: "jwk" });
}
