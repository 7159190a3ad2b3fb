/**
 * The stored shape of the outbox (docs/STATE.md document area): one small document per peer,
 * `outbox/<peer DID>`, holding that peer's queued messages, and an index document `outbox`
 * listing the peers that have one. The functions here are the pure edits applied inside
 * `store.updateDoc`, so a daemon and a CLI command editing the same queue never lose an entry.
 */
import { StoreError } from "../errors.js";

/** One queued message for one peer. Times are milliseconds since the epoch. */
export interface OutboxEntry {
  /** messageDigest() of the message as enqueued. */
  id: string;
  /** Endpoint path, e.g. "/federation/announce". */
  path: string;
  message: unknown;
  enqueuedAt: number;
  /** Delivery attempts that failed in a retryable way. */
  attempts: number;
  nextAttemptAt: number;
  /** `<code> <message>` of the last retryable failure. */
  lastError?: string;
}

export interface PeerQueue {
  v: 1;
  peer: string;
  entries: OutboxEntry[];
}

export interface OutboxIndex {
  v: 1;
  peers: string[];
}

export const OUTBOX_INDEX_DOC = "outbox";

/**
 * The document name of a peer's queue; the store encodes it into a safe file name.
 * @example queueDocName("did:vm:node:b") // "outbox/did:vm:node:b"
 */
export function queueDocName(did: string): string {
  return `outbox/${did}`;
}

function corrupt(name: string, what: string): StoreError {
  return new StoreError("STATE_CORRUPT", `document ${JSON.stringify(name)}: ${what}`);
}

function isEntry(e: unknown): e is OutboxEntry {
  const o = e as Record<string, unknown> | null;
  return (
    typeof o === "object" && o !== null && typeof o["id"] === "string" && typeof o["path"] === "string" && "message" in o &&
    Number.isFinite(o["enqueuedAt"]) && Number.isInteger(o["attempts"]) && Number.isFinite(o["nextAttemptAt"])
  );
}

/**
 * A peer's queue from its stored value (an empty queue when none is stored). Throws
 * StoreError STATE_CORRUPT when the document is not a queue: never silently replaced.
 * @example readQueue(await store.getDoc(queueDocName(did)), did).entries.length
 */
export function readQueue(value: unknown, did: string): PeerQueue {
  if (value === undefined) return { v: 1, peer: did, entries: [] };
  const q = value as Partial<PeerQueue> | null;
  if (typeof q !== "object" || q === null || q.v !== 1 || q.peer !== did || !Array.isArray(q.entries)) throw corrupt(queueDocName(did), `not an outbox queue of ${did}`);
  const bad = q.entries.findIndex((e) => !isEntry(e));
  if (bad >= 0) throw corrupt(queueDocName(did), `entries[${bad}] is not an outbox entry`);
  return q as PeerQueue;
}

/**
 * The index's peer list (empty when none is stored); throws STATE_CORRUPT on another shape.
 * @example readIndex(await store.getDoc(OUTBOX_INDEX_DOC)).peers
 */
export function readIndex(value: unknown): OutboxIndex {
  if (value === undefined) return { v: 1, peers: [] };
  const i = value as Partial<OutboxIndex> | null;
  if (typeof i !== "object" || i === null || i.v !== 1 || !Array.isArray(i.peers) || !i.peers.every((p) => typeof p === "string")) throw corrupt(OUTBOX_INDEX_DOC, "not an outbox index");
  return i as OutboxIndex;
}

/** Adds `did` to the index (unchanged when present). */
export function indexWith(index: OutboxIndex, did: string): OutboxIndex {
  return index.peers.includes(did) ? index : { v: 1, peers: [...index.peers, did].sort() };
}

/** Removes `did` from the index. */
export function indexWithout(index: OutboxIndex, did: string): OutboxIndex {
  return { v: 1, peers: index.peers.filter((p) => p !== did) };
}

/**
 * Adds `entry` unless an entry with its id is queued; when the queue is full the oldest
 * entries are evicted to make room (anti-entropy, docs/ANTI_ENTROPY.md, closes what they would have told).
 * @example withEntry(queue, entry, 500).added // false when already queued
 */
export function withEntry(queue: PeerQueue, entry: OutboxEntry, maxEntries: number): { queue: PeerQueue; added: boolean; evicted: OutboxEntry[] } {
  if (queue.entries.some((e) => e.id === entry.id)) return { queue, added: false, evicted: [] };
  const byAge = [...queue.entries].sort((a, b) => a.enqueuedAt - b.enqueuedAt || (a.id < b.id ? -1 : 1));
  const evicted = byAge.slice(0, Math.max(0, byAge.length - (maxEntries - 1)));
  const gone = new Set(evicted.map((e) => e.id));
  return { queue: { ...queue, entries: [...queue.entries.filter((e) => !gone.has(e.id)), entry] }, added: true, evicted };
}

/** The queue without the entries whose id is in `ids`. */
export function withoutEntries(queue: PeerQueue, ids: ReadonlySet<string>): PeerQueue {
  return { ...queue, entries: queue.entries.filter((e) => !ids.has(e.id)) };
}

/** The queue with entry `id` changed by `patch` (unchanged when it is no longer queued). */
export function withPatch(queue: PeerQueue, id: string, patch: Partial<Pick<OutboxEntry, "attempts" | "nextAttemptAt" | "lastError">>): PeerQueue {
  return { ...queue, entries: queue.entries.map((e) => (e.id === id ? { ...e, ...patch } : e)) };
}

/**
 * Entries due at `nowMs`, earliest first, ties by enqueue time: the order of a peer's lane.
 * @example dueEntries(queue, Date.now()).map((e) => e.id)
 */
export function dueEntries(queue: PeerQueue, nowMs: number): OutboxEntry[] {
  return queue.entries.filter((e) => e.nextAttemptAt <= nowMs).sort((a, b) => a.nextAttemptAt - b.nextAttemptAt || a.enqueuedAt - b.enqueuedAt || (a.id < b.id ? -1 : 1));
}
