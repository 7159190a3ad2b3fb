/**
 * Whether a roster may be put in force (docs/FEDERATION_PROTOCOL.md §Roster): at least k valid
 * signatures by distinct governance keys, not expired, and a serial above the roster in force
 * (no rollback). Pure: the clock comes in as `now`. Nothing here acts on the answer;
 * lib/roster/effective.ts does, and only with a roster that passed.
 */
import { parseKeyLine } from "../identity/did.js";
import { publicKeyFromRaw } from "../identity/keys.js";
import type { Governance } from "../config/types.js";
import type { Roster } from "./document.js";
import { rosterDigest, signatureHolds } from "./signature.js";

export type { Governance };

/** Why a roster was refused; scripts match on these. */
export type RosterRefusal = "ROSTER_SIGNATURES" | "ROSTER_EXPIRED" | "ROSTER_ROLLBACK" | "ROSTER_CONFLICT" | "ROSTER_FEDERATION" | "ROSTER_MALFORMED" | "ROSTER_NO_GOVERNANCE";

export type RosterCheck = { ok: true; signers: string[] } | { ok: false; code: RosterRefusal; reason: string };

const hexOf = (line: string): string | undefined => {
  const raw = parseKeyLine(line);
  return typeof raw === "string" ? undefined : Buffer.from(raw).toString("hex");
};

/**
 * Counts the distinct governance keys whose signature on `roster` verifies.
 * A key listed twice in `sigs`, or one written in hex and once in base64url, counts once.
 * @example checkSignatures(roster, { k: 2, keys: [g1, g2, g3] }) // { ok: true, signers: [g1, g3] }
 */
export function checkSignatures(roster: Roster, governance: Governance): RosterCheck {
  const governing = new Map<string, string>();
  for (const line of governance.keys) {
    const hex = hexOf(line);
    if (hex !== undefined) governing.set(hex, line);
  }
  const counted = new Set<string>();
  const problems: string[] = [];
  for (const [i, entry] of roster.sigs.entries()) {
    const hex = hexOf(entry.key);
    if (hex === undefined || !governing.has(hex)) {
      problems.push(`sigs[${i}] is by ${entry.key}, not a governance key`);
      continue;
    }
    if (counted.has(hex)) {
      problems.push(`sigs[${i}] repeats a signature by ${entry.key}: a key counts once`);
      continue;
    }
    const r = signatureHolds(roster, entry, publicKeyFromRaw(Buffer.from(hex, "hex")));
    if (!r.ok) {
      problems.push(`sigs[${i}] by ${entry.key}: ${r.reason}`);
      continue;
    }
    counted.add(hex);
  }
  if (counted.size < governance.k) {
    const detail = problems.length === 0 ? "" : `; ${problems.slice(0, 4).join("; ")}`;
    return { ok: false, code: "ROSTER_SIGNATURES", reason: `roster serial ${roster.serial} has ${counted.size} valid governance signature${counted.size === 1 ? "" : "s"}, needs ${governance.k}${detail}` };
  }
  return { ok: true, signers: [...counted].map((h) => governing.get(h)!) };
}

/** A roster whose `expiresAt` has come is refused (a roster already in force is kept, flagged expired). */
export function checkExpiry(roster: Roster, now: number): { ok: true } | { ok: false; code: RosterRefusal; reason: string } {
  if (roster.expiresAt !== undefined && now >= roster.expiresAt) return { ok: false, code: "ROSTER_EXPIRED", reason: `roster serial ${roster.serial} expired at ${roster.expiresAt} (now ${now})` };
  return { ok: true };
}

/**
 * Whether `candidate` may replace `current`: same federation, a higher serial. The same serial
 * with the same content is `same`; with other content it is a conflict (two documents signed
 * under one serial), refused.
 * @example checkSuccession(inForce, offered) // { ok: true } | { ok: false, code: "ROSTER_ROLLBACK", … }
 */
export function checkSuccession(current: Roster | undefined, candidate: Roster): { ok: true; same: boolean } | { ok: false; code: RosterRefusal; reason: string } {
  if (current === undefined) return { ok: true, same: false };
  if (candidate.federation !== current.federation) return { ok: false, code: "ROSTER_FEDERATION", reason: `roster is for federation ${JSON.stringify(candidate.federation)}, the roster in force for ${JSON.stringify(current.federation)}` };
  if (candidate.serial < current.serial) return { ok: false, code: "ROSTER_ROLLBACK", reason: `roster serial ${candidate.serial} is older than serial ${current.serial} in force (no rollback)` };
  if (candidate.serial === current.serial) {
    if (rosterDigest(candidate) === rosterDigest(current)) return { ok: true, same: true };
    return { ok: false, code: "ROSTER_CONFLICT", reason: `roster serial ${candidate.serial} differs from the serial ${current.serial} in force: a new roster needs a higher serial` };
  }
  return { ok: true, same: false };
}

/**
 * The whole check: signatures, expiry, succession. `same` means the roster is already in force.
 * @example const r = admitRoster(inForce, offered, config.federation.governance, nowS)
 */
export function admitRoster(current: Roster | undefined, candidate: Roster, governance: Governance | undefined, now: number): { ok: true; same: boolean; signers: string[] } | { ok: false; code: RosterRefusal; reason: string } {
  if (governance === undefined) return { ok: false, code: "ROSTER_NO_GOVERNANCE", reason: "this node has no governance in federation.yaml, so it takes no roster" };
  const s = checkSignatures(candidate, governance);
  if (!s.ok) return s;
  const e = checkExpiry(candidate, now);
  if (!e.ok) return e;
  const c = checkSuccession(current, candidate);
  if (!c.ok) return c;
  return { ok: true, same: c.same, signers: s.signers };
}
