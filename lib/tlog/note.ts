/**
 * Signed notes (c2sp.org/signed-note; docs/FEDERATION_PROTOCOL.md §Origin log): a text ending in
 * a newline, a blank line, then one or more lines `— <key name> base64(key ID || signature)`.
 * Key IDs, verifier keys (vkeys) and Ed25519 note signatures (type 0x01). Pure: keys and text
 * come in as parameters. Text from outside never throws out of `openNote`: it is rejected with a
 * reason.
 */
import { createPrivateKey, sign as edSign, verify as edVerify, type KeyObject } from "node:crypto";
import { sha256 } from "../digest.js";
import { ArgumentError } from "../errors.js";
import { publicKeyFromRaw } from "../identity/keys.js";

/** signed-note §Signature types. */
export const SIGNATURE_TYPE_ED25519 = 0x01;
/** Verifiers must accept at least 16 signatures (signed-note §Format); we cap at 100 like Go's note. */
export const MAX_NOTE_SIGNATURES = 100;
/** The largest note we read: a bound against a hostile sender (16 signatures fit many times over). */
export const MAX_NOTE_BYTES = 64 * 1024;

const EM_DASH = "\u2014";

/** Something that signs a note's text under one key name and key ID. */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  /** The signature bytes that follow the 4-byte key ID on the signature line. */
  sign(text: Uint8Array): Uint8Array;
}

/** Something that verifies signatures of one key name and key ID. */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  verify(text: Uint8Array, signature: Uint8Array): boolean;
}

/** One signature line of a note, decoded but not verified. */
export interface NoteSignature {
  name: string;
  keyId: number;
  /** The bytes after the key ID. */
  signature: Uint8Array;
  /** The line as it appeared, with its final newline. */
  line: string;
}

export type OpenedNote =
  | { outcome: "verified"; text: string; verified: NoteSignature[]; unknown: NoteSignature[] }
  | { outcome: "rejected"; reason: string };

/**
 * Whether `name` may be a key name: non-empty, no Unicode space, no `+` (signed-note §Format).
 * @example isKeyName("example.com/foo") // true
 */
export function isKeyName(name: string): boolean {
  return name.length > 0 && !/[\s+\u0000-\u001f\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u.test(name);
}

/**
 * The recommended key ID: SHA-256(name || 0x0A || type || public key)[:4], big-endian
 * (signed-note §Signatures).
 * @example noteKeyId("example.com/foo", 0x01, pub).toString(16) // "530d903a" for the spec's example key
 */
export function noteKeyId(name: string, type: number, publicKey: Uint8Array): number {
  if (!isKeyName(name)) throw new ArgumentError("name", `not a key name: ${JSON.stringify(name.slice(0, 80))}`);
  const h = sha256(new TextEncoder().encode(name), Uint8Array.of(0x0a, type), publicKey);
  return ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0;
}

function keyIdHex(keyId: number): string {
  return keyId.toString(16).padStart(8, "0");
}

/**
 * A verifier key `<name>+<hex key ID>+base64(type || public key)` (signed-note §Verifier keys).
 * @example formatVerifierKey("example.com/foo", 0x01, pub) // "example.com/foo+530d903a+AekyeRrm…"
 */
export function formatVerifierKey(name: string, type: number, publicKey: Uint8Array): string {
  const keyId = noteKeyId(name, type, publicKey);
  return `${name}+${keyIdHex(keyId)}+${Buffer.from(Uint8Array.of(type, ...publicKey)).toString("base64")}`;
}

/**
 * Decodes a verifier key; `undefined` when it is malformed or its key ID is not the one its
 * name, type and key give.
 * @example parseVerifierKey("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")?.type // 1
 */
export function parseVerifierKey(vkey: string): { name: string; keyId: number; type: number; publicKey: Uint8Array } | undefined {
  const parts = vkey.split("+");
  if (parts.length !== 3) return undefined;
  const [name, idHex, b64] = parts as [string, string, string];
  if (!isKeyName(name) || !/^[0-9a-f]{8}$/.test(idHex)) return undefined;
  const raw = decodeBase64(b64);
  if (raw === undefined || raw.length < 2) return undefined;
  const type = raw[0]!;
  const publicKey = raw.subarray(1);
  const keyId = parseInt(idHex, 16);
  if (noteKeyId(name, type, publicKey) !== keyId) return undefined;
  return { name, keyId, type, publicKey };
}

/** Strict standard base64 (RFC 4648 §4, padded): undefined when `text` is anything else. */
export function decodeBase64(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, "base64");
  // Non-canonical padding bits would decode to the same bytes from two texts.
  if (bytes.toString("base64") !== text) return undefined;
  return Uint8Array.from(bytes);
}

/**
 * An Ed25519 note signer (signed-note §Ed25519 signatures).
 * @example signNote("hello\n", [ed25519NoteSigner("example.com/me", key.privateKey, key.publicKeyBytes)])
 */
export function ed25519NoteSigner(name: string, privateKey: KeyObject, publicKey: Uint8Array): NoteSigner {
  const keyId = noteKeyId(name, SIGNATURE_TYPE_ED25519, publicKey);
  return { name, keyId, sign: (text) => Uint8Array.from(edSign(null, text, privateKey)) };
}

/**
 * An Ed25519 note verifier for one name and 32-byte public key.
 * @example openNote(text, [ed25519NoteVerifier("example.com/me", pub)])
 */
export function ed25519NoteVerifier(name: string, publicKey: Uint8Array): NoteVerifier {
  const keyId = noteKeyId(name, SIGNATURE_TYPE_ED25519, publicKey);
  const key = publicKeyFromRaw(publicKey);
  return { name, keyId, verify: (text, sig) => sig.length === 64 && edVerify(null, text, key, sig) };
}

/** An Ed25519 private key from its 32-byte seed (test vectors give seeds). */
export function ed25519PrivateKeyFromSeed(seed: Uint8Array): KeyObject {
  if (seed.length !== 32) throw new ArgumentError("seed", `expected 32 bytes, got ${seed.length}`);
  const pkcs8 = Buffer.concat([Buffer.from("302e020100300506032b657004220420", "hex"), seed]);
  return createPrivateKey({ key: pkcs8, format: "der", type: "pkcs8" });
}

/** One signature line for `text` by `signer`, with its final newline. */
export function noteSignatureLine(text: string, signer: NoteSigner): string {
  const sig = signer.sign(new TextEncoder().encode(text));
  const id = Uint8Array.of(signer.keyId >>> 24, (signer.keyId >>> 16) & 0xff, (signer.keyId >>> 8) & 0xff, signer.keyId & 0xff);
  return `${EM_DASH} ${signer.name} ${Buffer.concat([id, sig]).toString("base64")}\n`;
}

/**
 * Signs `text` (which must end in a newline) with every signer, one line each.
 * @example signNote("example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", [signer])
 */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  const problem = textProblem(text);
  if (problem !== undefined) throw new ArgumentError("text", problem);
  if (signers.length === 0) throw new ArgumentError("signers", "a note needs at least one signature");
  return `${text}\n${signers.map((s) => noteSignatureLine(text, s)).join("")}`;
}

function textProblem(text: string): string | undefined {
  if (!text.endsWith("\n")) return "the note text must end with a newline";
  // signed-note §Format: no control characters other than newline.
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text)) return "the note text contains a control character";
  if (text.includes("\uFFFD")) return "the note text is not valid UTF-8";
  return undefined;
}

/**
 * Splits a note into its text and its decoded signature lines, without verifying anything.
 * @example parseNote(noteText).signatures.map((s) => s.name)
 */
export function parseNote(note: string): { text: string; signatures: NoteSignature[] } | { reason: string } {
  if (note.length > MAX_NOTE_BYTES) return { reason: `the note is over ${MAX_NOTE_BYTES} bytes` };
  // The text ends at the last blank line (signed-note §Format).
  const split = note.lastIndexOf("\n\n");
  if (split < 0) return { reason: "the note has no blank line before its signatures" };
  const text = note.slice(0, split + 1);
  const problem = textProblem(text);
  if (problem !== undefined) return { reason: problem };
  const rest = note.slice(split + 2);
  if (!rest.endsWith("\n")) return { reason: "the last signature line does not end with a newline" };
  if (/[\u0000-\u0009\u000b-\u001f]/.test(rest)) return { reason: "a signature line contains a control character" };
  const lines = rest.slice(0, -1).split("\n");
  if (lines.length > MAX_NOTE_SIGNATURES) return { reason: `the note has more than ${MAX_NOTE_SIGNATURES} signatures` };
  const signatures: NoteSignature[] = [];
  for (const line of lines) {
    const m = /^\u2014 (\S+) (\S+)$/u.exec(line);
    if (m === null) return { reason: `not a signature line: ${JSON.stringify(line.slice(0, 80))}` };
    const [, name, b64] = m as unknown as [string, string, string];
    if (!isKeyName(name)) return { reason: `not a key name: ${JSON.stringify(name.slice(0, 80))}` };
    const raw = decodeBase64(b64);
    if (raw === undefined || raw.length < 5) return { reason: `the signature of ${name} is not base64 of a key ID and a signature` };
    const keyId = ((raw[0]! << 24) | (raw[1]! << 16) | (raw[2]! << 8) | raw[3]!) >>> 0;
    signatures.push({ name, keyId, signature: raw.subarray(4), line: `${line}\n` });
  }
  return { text, signatures };
}

/**
 * Verifies a note against known keys (signed-note §Signatures): lines of unknown keys (name and
 * ID not both matching) are ignored; a known key's signature that fails rejects the note; at
 * least one known key must have signed it.
 * @example const opened = openNote(note, [ed25519NoteVerifier(name, pub)]); if (opened.outcome === "verified") use(opened.text)
 */
export function openNote(note: string, verifiers: readonly NoteVerifier[]): OpenedNote {
  const parsed = parseNote(note);
  if ("reason" in parsed) return { outcome: "rejected", reason: parsed.reason };
  const bytes = new TextEncoder().encode(parsed.text);
  const verified: NoteSignature[] = [];
  const unknown: NoteSignature[] = [];
  const seen = new Set<string>();
  for (const sig of parsed.signatures) {
    const known = verifiers.filter((v) => v.name === sig.name && v.keyId === sig.keyId);
    if (known.length === 0) {
      unknown.push(sig);
      continue;
    }
    if (!known.some((v) => v.verify(bytes, sig.signature))) return { outcome: "rejected", reason: `the signature of ${sig.name} (key ${keyIdHex(sig.keyId)}) does not verify` };
    // One key counts once however many lines it has.
    const id = `${sig.name}+${keyIdHex(sig.keyId)}`;
    if (!seen.has(id)) verified.push(sig);
    seen.add(id);
  }
  if (verified.length === 0) return { outcome: "rejected", reason: "no signature from a known key" };
  return { outcome: "verified", text: parsed.text, verified, unknown };
}
