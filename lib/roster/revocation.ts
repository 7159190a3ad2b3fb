/**
 * Revoked origins and witnesses (docs/FEDERATION_SEMANTICS.md §Roster revocation): a member that
 * held a role in one roster and lost it (removed, role dropped, or its key replaced by one that
 * was not its announced `keys.next`) in a later one is revoked from that later serial. Promoting
 * the announced next key is a rotation, not a revocation. Pure: computed from the rosters a node holds.
 */
import { parseKeyLine } from "../identity/did.js";
import type { MemberRole, Roster } from "./document.js";

export interface Revocation {
  did: string;
  /** The key that stopped counting. */
  key: string;
  /** The serial that removed it, and that roster's `issuedAt`. */
  serial: number;
  at: number;
  /** The member stayed but its key was replaced: only what the old key signed is revoked. */
  keyOnly: boolean;
}

const hex = (line: string) => Buffer.from(parseKeyLine(line) as Uint8Array).toString("hex");

/**
 * Members whose `role` was revoked, and not given back with the same key by the roster in force.
 * @example revoked(held.valid, "origin").get("did:vm:node:e")?.serial // 3
 */
export function revoked(history: readonly Roster[], role: MemberRole): Map<string, Revocation> {
  const out = new Map<string, Revocation>();
  for (let i = 1; i < history.length; i++) {
    const before = history[i - 1]!;
    const after = history[i]!;
    const now = new Map(after.members.map((m) => [m.did, m]));
    for (const m of before.members) {
      if (!m.roles.includes(role)) continue;
      const n = now.get(m.did);
      const promoted = n !== undefined && m.keys.next !== undefined && hex(n.keys.verify) === hex(m.keys.next);
      if (n === undefined || !n.roles.includes(role) || (hex(n.keys.verify) !== hex(m.keys.verify) && !promoted)) {
        if (!out.has(m.did)) out.set(m.did, { did: m.did, key: m.keys.verify, serial: after.serial, at: after.issuedAt, keyOnly: n !== undefined && n.roles.includes(role) });
      }
    }
  }
  const last = history.at(-1);
  for (const m of last?.members ?? []) {
    const r = out.get(m.did);
    if (r !== undefined && m.roles.includes(role) && hex(m.keys.verify) === hex(r.key)) out.delete(m.did);
  }
  return out;
}
