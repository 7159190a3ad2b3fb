/**
 * Asking a peer's `GET /health` whether it is up and is who peers.yaml says it is: used by
 * `status` and by the explorer's peer view, so both report a peer the same way.
 */
import type { PeerClient } from "./peer-client.js";

export interface PeerHealth {
  /** /health answered `status: "ok"` as this very DID. */
  reachable: boolean;
  /** Why it is not reachable, or the status it answered. */
  detail: string;
  latencyMs?: number;
}

/**
 * Probes `peer` once. Never throws for the peer's faults: they become `reachable: false` with the reason.
 * @example const h = await peerHealth(client, peer, 3_000); if (!h.reachable) console.log(h.detail)
 */
export async function peerHealth(client: Pick<PeerClient, "getJson">, peer: { did: string; url: string }, timeoutMs: number): Promise<PeerHealth> {
  const h = await client.getJson(peer, "/health", { timeoutMs });
  if (!h.ok) return { reachable: false, detail: `${h.code}: ${h.message}` };
  const body = h.body as { node?: unknown; status?: unknown } | undefined;
  const detail = body?.node !== peer.did ? `answers as ${String(body?.node)}, not ${peer.did}` : String(body?.status);
  return { reachable: body?.status === "ok" && body.node === peer.did, detail, latencyMs: h.latencyMs };
}
