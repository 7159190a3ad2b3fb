/**
 * What the outbox tells its caller: the fate of each entry in a delivery round, of an
 * enqueue and of a one-off send; and the rule deciding that fate from a peer's answer.
 */
import type { OutboxEntry } from "./outbox-queue.js";
import type { PeerResponse } from "./peer-client.js";

/** One entry's fate in a delivery round. `reason` is "dropped: <code> <message>" for drops. */
export interface DeliveryReport {
  peer: string;
  id: string;
  path: string;
  outcome: "delivered" | "retry" | "dropped";
  attempts: number;
  status?: number;
  reason?: string;
  nextAttemptAt?: number;
}

export interface EnqueueResult {
  id: string;
  /** False when an entry with this digest was already queued for the peer. */
  added: boolean;
  /** Ids of the oldest entries evicted because the queue was full. */
  evicted: string[];
}

export interface DeliverNowResult {
  peer: string;
  id: string;
  /** delivered; queued for retry (retryable failure); refused (non-retryable, not queued). */
  outcome: "delivered" | "queued" | "refused";
  response: PeerResponse;
  reason?: string;
  nextAttemptAt?: number;
}

export type PendingEntry = OutboxEntry & { peer: string };

export type Verdict = { kind: "delivered" } | { kind: "dropped"; reason: string } | { kind: "retry"; reason: string; retryAfterS?: number };

/**
 * Delivered, dropped (with "dropped: <code> <message>") or worth a retry.
 * @example judge({ ok: false, status: 409, code: "REPLAY", message: "…", retryable: false }).kind // "delivered"
 */
export function judge(r: PeerResponse): Verdict {
  // A 2xx means the peer took the message whatever its answer body; 409 is REPLAY: it already has it (docs/FEDERATION_PROTOCOL.md §Errors).
  if (r.ok || (r.status !== undefined && r.status >= 200 && r.status < 300) || r.status === 409) return { kind: "delivered" };
  const reason = `${r.code} ${r.message}`;
  // A peer that restarted after a crash refuses messages signed before its floor for a few
  // seconds (docs/FEDERATION_PROTOCOL.md §Replay across restarts): each retry is signed afresh.
  if (r.code === "STALE_TIMESTAMP") return r.retryAfterS === undefined ? { kind: "retry", reason } : { kind: "retry", reason, retryAfterS: r.retryAfterS };
  if (!r.retryable) return { kind: "dropped", reason: `dropped: ${reason}` };
  return r.retryAfterS === undefined ? { kind: "retry", reason } : { kind: "retry", reason, retryAfterS: r.retryAfterS };
}
