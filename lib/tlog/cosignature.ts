/**
 * Timestamped Ed25519 cosignatures, `cosignature/v1` (c2sp.org/tlog-cosignature;
 * docs/FEDERATION_PROTOCOL.md §Witnessed heads): a note signature line whose key ID uses the
 * type byte 0x04 and whose signature is an 8-byte big-endian POSIX timestamp followed by an
 * Ed25519 signature of "cosignature/v1\ntime <T>\n" + the checkpoint text. Pure: the time comes
 * in as a parameter.
 */
import { sign as edSign, verify as edVerify, type KeyObject } from "node:crypto";
import { ArgumentError } from "../errors.js";
import { publicKeyFromRaw } from "../identity/keys.js";
import { noteKeyId, type NoteSigner, type NoteVerifier } from "./note.js";

/** signed-note §Signature types: timestamped Ed25519 checkpoint cosignatures. */
export const SIGNATURE_TYPE_COSIGNATURE_V1 = 0x04;

/**
 * The message a cosignature/v1 signs.
 * @example cosignatureMessage(checkpointText, 1679315147) // "cosignature/v1\ntime 1679315147\n" + checkpointText
 */
export function cosignatureMessage(checkpointText: string, timestamp: number): string {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) throw new ArgumentError("timestamp", `not a POSIX time: ${timestamp}`);
  return `cosignature/v1\ntime ${timestamp}\n${checkpointText}`;
}

/**
 * A cosigner: a NoteSigner whose lines are cosignature/v1 for the time `now()` gives (seconds).
 * @example signNote(checkpointText, [cosignatureSigner("w.example/1", key.privateKey, key.publicKeyBytes, () => 1700000000)])
 */
export function cosignatureSigner(name: string, privateKey: KeyObject, publicKey: Uint8Array, now: () => number): NoteSigner {
  const keyId = noteKeyId(name, SIGNATURE_TYPE_COSIGNATURE_V1, publicKey);
  return {
    name,
    keyId,
    sign(text) {
      const t = now();
      const message = new TextEncoder().encode(cosignatureMessage(new TextDecoder().decode(text), t));
      const out = new Uint8Array(72);
      new DataView(out.buffer).setBigUint64(0, BigInt(t));
      out.set(edSign(null, message, privateKey), 8);
      return out;
    },
  };
}

/**
 * The timestamp of a cosignature's signature bytes (after the key ID); undefined when they are
 * not 8 + 64 bytes or the time exceeds 2^63 − 1.
 * @example cosignatureTime(sig.signature) // 1679315147
 */
export function cosignatureTime(signature: Uint8Array): number | undefined {
  if (signature.length !== 72) return undefined;
  const t = new DataView(signature.buffer, signature.byteOffset, 8).getBigUint64(0);
  if (t > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
  return Number(t);
}

/**
 * A verifier of one cosigner's cosignature/v1 lines.
 * @example openNote(cosignedNote, [logVerifier, cosignatureVerifier("w.example/1", pub)])
 */
export function cosignatureVerifier(name: string, publicKey: Uint8Array): NoteVerifier {
  const keyId = noteKeyId(name, SIGNATURE_TYPE_COSIGNATURE_V1, publicKey);
  const key = publicKeyFromRaw(publicKey);
  return {
    name,
    keyId,
    verify(text, signature) {
      const t = cosignatureTime(signature);
      if (t === undefined) return false;
      const message = new TextEncoder().encode(cosignatureMessage(new TextDecoder().decode(text), t));
      return edVerify(null, message, key, signature.subarray(8));
    },
  };
}
