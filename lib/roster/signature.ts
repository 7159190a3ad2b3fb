/**
 * Governance signatures on a roster (docs/FEDERATION_PROTOCOL.md §Roster): each one a §Signatures
 * detached JWS over the canonical form of the roster without `sigs`, its signer named by the
 * governance key line, so the JWS `kid` is `ed25519:<key>#key-1`.
 */
import { createHash, type KeyObject } from "node:crypto";
import { formatKeyLine } from "../identity/did.js";
import type { NodeKey } from "../identity/keys.js";
import { canonicalJson } from "../messages/canonical.js";
import { signDetached, verifyDetached } from "../messages/jws.js";
import type { Roster } from "./document.js";

/** The bytes every governance signature covers: the JCS form of the roster without `sigs`. */
export function rosterPayload(roster: Roster): Buffer {
  const { sigs: _sigs, ...rest } = roster;
  return Buffer.from(canonicalJson(rest), "utf8");
}

/**
 * `sha256:<hex>` of the signed payload: two rosters with one serial and different digests are two
 * different documents.
 */
export function rosterDigest(roster: Roster): string {
  return `sha256:${createHash("sha256").update(rosterPayload(roster)).digest("hex")}`;
}

/**
 * The roster with one more signature, by `key`. A key that already signed is refused by the caller
 * (`roster sign` says so) rather than counted twice.
 * @example const signed = signRoster(unsignedRoster, await readKeyFile("gov1.key"))
 */
export function signRoster(roster: Roster, key: NodeKey): Roster {
  const line = formatKeyLine(key.publicKeyBytes);
  return { ...roster, sigs: [...roster.sigs, { key: line, sig: signDetached(rosterPayload(roster), line, key.privateKey) }] };
}

/** Whether one signature entry verifies with `publicKey`; never throws. */
export function signatureHolds(roster: Roster, entry: { key: string; sig: string }, publicKey: KeyObject): { ok: true } | { ok: false; reason: string } {
  const r = verifyDetached(entry.sig, rosterPayload(roster), entry.key, publicKey);
  return r.ok ? { ok: true } : { ok: false, reason: r.reason };
}
