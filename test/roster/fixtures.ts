/** Rosters, governance keys and member keys for the roster tests. */
import { formatKeyLine } from "../../lib/identity/did.js";
import { generateNodeKey, type NodeKey } from "../../lib/identity/keys.js";
import { proposeRoster, type Roster } from "../../lib/roster/document.js";
import { signRoster } from "../../lib/roster/signature.js";

export const NOW = 1_800_000_000;

export function keys(n: number): NodeKey[] {
  return Array.from({ length: n }, () => generateNodeKey());
}

export const line = (k: NodeKey): string => formatKeyLine(k.publicKeyBytes);

/** An unsigned roster of `members` (DID → key), every member announce/serve/request/origin. */
export function unsignedRoster(serial: number, members: Array<[string, NodeKey]>, extra: Record<string, unknown> = {}): Roster {
  const r = proposeRoster({
    federation: "vm-test",
    serial,
    issuedAt: NOW - 100 + serial,
    members: members.map(([did, k], i) => ({ did, url: `http://127.0.0.1:${9000 + i}`, keys: { verify: line(k) }, roles: ["announce", "serve", "request", "origin"] })),
    ...extra,
  });
  if (!r.ok) throw new Error(r.reason);
  return r.roster;
}

export function signedBy(roster: Roster, signers: NodeKey[]): Roster {
  return signers.reduce((r, k) => signRoster(r, k), roster);
}
