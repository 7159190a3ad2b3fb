/**
 * Asking a peer's `GET /health` whether it is up and is who peers.yaml says it is: used by
 * `status` and by the explorer's peer view, so both report a peer the same way.
 */
import { escapeControls } from "../bidi.js";
import type { PeerClient } from "./peer-client.js";

export interface PeerHealth {
  /** /health answered `status: "ok"` as this very DID. */
  reachable: boolean;
  /** Why it is not reachable, or the status it answered. */
  detail: string;
  latencyMs?: number;
}

/** Characters of a peer's own words (its /health `node` or `status`) repeated in `detail`. */
const SAID_CHARS = 64;

function said(value: unknown): string {
  const text = String(value);
  return escapeControls(text.length > SAID_CHARS ? `${text.slice(0, SAID_CHARS)}…` : text);
}

/**
 * Probes `peer` once. Never throws for the peer's faults: they become `reachable: false` with the reason.
 * @example const h = await peerHealth(client, peer, 3_000); if (!h.reachable) console.log(h.detail)
 */
export async function peerHealth(client: Pick<PeerClient, "getJson">, peer: { did: string; url: string }, timeoutMs: number): Promise<PeerHealth> {
  const h = await client.getJson(peer, "/health", { timeoutMs });
  if (!h.ok) return { reachable: false, detail: escapeControls(`${h.code}: ${h.message}`) };
  const body = h.body as { node?: unknown; status?: unknown } | undefined;
  const detail = body?.node !== peer.did ? `answers as ${said(body?.node)}, not ${peer.did}` : said(body?.status);
  return { reachable: body?.status === "ok" && body.node === peer.did, detail, latencyMs: h.latencyMs };
}

/** What `status` and the explorer both say of a configured peer (the explorer adds backoff and outbox). */
export interface PeerSummary {
  did: string;
  url: string;
  roles: string[];
  /** Namespaces routed to the peer. */
  namespaces: string[];
  reachable: boolean;
  detail: string;
  latencyMs?: number;
  /** Last successful sync per namespace, unix seconds. */
  lastSync: Record<string, number>;
}

/**
 * Probes `peer` and describes it: roles, routed namespaces, health, last syncs.
 * @example const row = await peerSummary(client, peer, namespaces, syncs.get(peer.did) ?? {}, 3_000)
 */
export async function peerSummary(client: Pick<PeerClient, "getJson">, peer: { did: string; url: string; roles: Iterable<string> }, namespaces: ReadonlyArray<{ name: string; peers: readonly string[] }>, lastSync: Record<string, number>, timeoutMs: number): Promise<PeerSummary> {
  const h = await peerHealth(client, peer, timeoutMs);
  const out: PeerSummary = {
    did: peer.did,
    url: peer.url,
    roles: [...peer.roles].sort(),
    namespaces: namespaces.filter((n) => n.peers.includes(peer.did)).map((n) => n.name),
    reachable: h.reachable,
    detail: h.detail,
    lastSync,
  };
  if (h.latencyMs !== undefined) out.latencyMs = h.latencyMs;
  return out;
}
