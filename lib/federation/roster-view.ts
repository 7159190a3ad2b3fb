/**
 * What `status` and the explorer say of the roster in force (docs/FEDERATION_OPERATIONS.md
 * §Running a federation with a roster): its serial, members and routes, and the stored batch
 * versions whose origin a later roster revoked, shown `revoked-origin` (docs/FEDERATION_SEMANTICS.md §Roster revocation).
 */
import type { Roster } from "../roster/document.js";
import type { AppliedRoster } from "../roster/effective.js";
import { revoked } from "../roster/revocation.js";
import type { Store } from "../store/index.js";
import { parseKeyLine } from "../identity/did.js";
import { publicKeyFromRaw } from "../identity/keys.js";
import { verifyCheckpoint } from "../messages/checkpoint.js";

export interface RosterView {
  serial: number;
  federation: string;
  issuedAt: number;
  expiresAt?: number;
  expired: boolean;
  members: Array<{ did: string; url?: string; roles: string[]; key: string; nextKey?: string }>;
  denied: Array<{ did: string; reason: string }>;
  /** Per carried namespace: the pattern that decided it, the peers routed, the routing policy. */
  routes: Array<{ namespace: string; pattern?: string; peers: string[]; routing: Record<string, unknown> }>;
}

export interface RevokedVersion {
  namespace: string;
  batchId: string;
  batchRoot: string;
  origin: string;
  state: "revoked-origin";
  /** The serial that revoked the origin. */
  revokedBy: number;
}

/**
 * The roster in force as status and the explorer show it; undefined without one.
 * @example rosterView(runtime.roster, runtime.rosterApplied, nowS)?.serial
 */
export function rosterView(roster: Roster | undefined, applied: AppliedRoster | undefined, now: number): RosterView | undefined {
  if (roster === undefined) return undefined;
  return {
    serial: roster.serial,
    federation: roster.federation,
    issuedAt: roster.issuedAt,
    ...(roster.expiresAt === undefined ? {} : { expiresAt: roster.expiresAt }),
    expired: roster.expiresAt !== undefined && now >= roster.expiresAt,
    members: roster.members.map((m) => ({ did: m.did, ...(m.url === undefined ? {} : { url: m.url }), roles: [...m.roles], key: m.keys.verify, ...(m.keys.next === undefined ? {} : { nextKey: m.keys.next }) })),
    denied: applied?.denied ?? [],
    routes: [...(applied?.routes ?? [])].map(([namespace, r]) => ({ namespace, ...(r.pattern === undefined ? {} : { pattern: r.pattern }), peers: r.peers, routing: { ...r.routing } })),
  };
}

/**
 * Stored batch versions of `namespaces` whose origin the rosters held revoked.
 * @example await revokedVersions(store, runtime.rosterHistory, ["dao:vaultmesh"])
 */
export async function revokedVersions(store: Pick<Store, "listBatches" | "getBatch">, history: readonly Roster[], namespaces: Iterable<string>): Promise<RevokedVersion[]> {
  const gone = revoked(history, "origin");
  if (gone.size === 0) return [];
  const out: RevokedVersion[] = [];
  for (const namespace of namespaces)
    for (const b of store.listBatches(namespace)) {
      const r = b.origin === undefined ? undefined : gone.get(b.origin);
      if (r === undefined) continue;
      if (r.keyOnly) {
        // The member keeps its place with a new key: only versions its old key signed are revoked.
        const cp = (await store.getBatch(namespace, b.batchId, b.batchRoot, b.origin))?.checkpoint;
        if (cp === undefined || !verifyCheckpoint(cp, new Map([[r.did, publicKeyFromRaw(parseKeyLine(r.key) as Uint8Array)]])).ok) continue;
      }
      out.push({ namespace, batchId: b.batchId, batchRoot: b.batchRoot, origin: b.origin!, state: "revoked-origin", revokedBy: r.serial });
    }
  return out;
}
