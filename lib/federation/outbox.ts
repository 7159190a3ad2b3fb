/**
 * The outbox: signed messages (Announces) waiting for a peer, kept in the store so that an
 * announcement survives the peer being down and this node restarting. Each peer has its own
 * sequential lane; lanes run in parallel, so a peer that hangs only holds up its own queue,
 * and only until the client's timeout. Every clock and random source is injectable.
 */
import { ArgumentError } from "../errors.js";
import { messageDigest } from "../messages/canonical.js";
import type { Store } from "../store/index.js";
import { backoffDelayMs, type BackoffOptions } from "./backoff.js";
import * as q from "./outbox-queue.js";
import { judge, type DeliverNowResult, type DeliveryReport, type EnqueueResult, type PendingEntry } from "./outbox-report.js";
import type { PeerResponse, PeerTarget, RequestOptions } from "./peer-client.js";

export type { OutboxEntry } from "./outbox-queue.js";
export type { DeliverNowResult, DeliveryReport, EnqueueResult, PendingEntry } from "./outbox-report.js";

/** What the outbox needs of a client: `PeerClient` is one. */
export interface OutboxClient {
  postJson(peer: PeerTarget, path: string, message: unknown, options?: RequestOptions): Promise<PeerResponse>;
}

export interface OutboxOptions {
  /** Milliseconds since the epoch (default Date.now). */
  now?: () => number;
  /** Uniform in [0, 1) for backoff jitter (default Math.random). */
  random?: () => number;
  /** Oldest entries are evicted past this many per peer (default 500). */
  maxEntriesPerPeer?: number;
  /** Entries of peers no longer configured are dropped after this long (default 7 days). */
  maxAgeS?: number;
  /** Deadline of one delivery attempt, ms (default 30 000). */
  requestTimeoutMs?: number;
  /** Bytes of a peer's answer read (default 64 KiB: an Announce answer is `{accepted:true}`). */
  maxResponseBytes?: number;
  /** Backoff base, cap and Retry-After ceiling (lib/federation/backoff.ts). */
  backoff?: Omit<BackoffOptions, "random" | "retryAfterS">;
  /**
   * Makes the message sent on each attempt from the queued one, given unix seconds, e.g.
   * `resignWith(key)`: a receiver refuses a `ts` older than its clock skew (docs/FEDERATION_PROTOCOL.md §Verification order), so a
   * message queued longer than that must be re-signed to be accepted.
   */
  refresh?: (message: unknown, nowS: number) => unknown;
}

/** A per-peer, store-backed delivery queue. */
export class Outbox {
  readonly #store: Pick<Store, "getDoc" | "updateDoc">;
  readonly #client: OutboxClient;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #o: Required<Pick<OutboxOptions, "maxEntriesPerPeer" | "maxAgeS" | "requestTimeoutMs" | "maxResponseBytes">> & Pick<OutboxOptions, "backoff" | "refresh">;
  /**
   * Consecutive retryable failures and the time before which a peer's lane does not run; in
   * memory only. `pushedBack`: the peer answered (429, 503 with Retry-After…) rather than not at all.
   */
  readonly #gates = new Map<string, { failures: number; notBefore: number; pushedBack: boolean }>();
  /** Peers heard from since their lane last ran: every entry of theirs is due (see wake). */
  readonly #woken = new Set<string>();
  readonly #busy = new Set<string>();

  /**
   * @example
   * const outbox = new Outbox(store, client, { refresh: resignWith(key.privateKey) });
   * await outbox.enqueue(peer, "/federation/announce", announce);
   */
  constructor(store: Pick<Store, "getDoc" | "updateDoc">, client: OutboxClient, options: OutboxOptions = {}) {
    if (typeof store?.updateDoc !== "function") throw new ArgumentError("store", "must be an open Store");
    if (typeof client?.postJson !== "function") throw new ArgumentError("client", "must have postJson");
    this.#store = store;
    this.#client = client;
    this.#now = options.now ?? Date.now;
    this.#random = options.random ?? Math.random;
    this.#o = {
      maxEntriesPerPeer: options.maxEntriesPerPeer ?? 500,
      maxAgeS: options.maxAgeS ?? 7 * 24 * 3600,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      maxResponseBytes: options.maxResponseBytes ?? 64 * 1024,
      backoff: options.backoff,
      refresh: options.refresh,
    };
    if (!Number.isInteger(this.#o.maxEntriesPerPeer) || this.#o.maxEntriesPerPeer < 1) throw new ArgumentError("options.maxEntriesPerPeer", "must be an integer ≥ 1");
    if (!(this.#o.maxAgeS > 0)) throw new ArgumentError("options.maxAgeS", "must be a positive number");
  }

  /**
   * Queues `message` for `peer` (a DID or a peer), due now unless `state` says otherwise
   * (deliverNow passes the failed first attempt). Idempotent by message digest.
   * @example (await outbox.enqueue("did:vm:node:b", "/federation/announce", announce)).added
   */
  async enqueue(peer: string | PeerTarget, path: string, message: unknown, state: { attempts?: number; nextAttemptAt?: number; lastError?: string } = {}): Promise<EnqueueResult> {
    const did = typeof peer === "string" ? peer : peer?.did;
    if (typeof did !== "string" || did === "") throw new ArgumentError("peer", "must be a DID or an object with a did");
    if (typeof path !== "string" || !path.startsWith("/")) throw new ArgumentError("path", "must start with /");
    const id = digestOf(message);
    const now = this.#now();
    const entry: q.OutboxEntry = { id, path, message, enqueuedAt: now, attempts: state.attempts ?? 0, nextAttemptAt: state.nextAttemptAt ?? now };
    if (state.lastError !== undefined) entry.lastError = state.lastError;
    let result: EnqueueResult = { id, added: false, evicted: [] };
    // Index first (no queue without an index line after a crash), queue, index again (closes the race with #forget).
    await this.#store.updateDoc<q.OutboxIndex>(q.OUTBOX_INDEX_DOC, (cur) => q.indexWith(q.readIndex(cur), did));
    await this.#store.updateDoc<q.PeerQueue>(q.queueDocName(did), (cur) => {
      const r = q.withEntry(q.readQueue(cur, did), entry, this.#o.maxEntriesPerPeer);
      result = { id, added: r.added, evicted: r.evicted.map((e) => e.id) };
      return r.queue;
    });
    await this.#store.updateDoc<q.OutboxIndex>(q.OUTBOX_INDEX_DOC, (cur) => q.indexWith(q.readIndex(cur), did));
    return result;
  }

  /**
   * Queued entries of one peer, or of every peer, oldest first.
   * @example (await outbox.pending("did:vm:node:b")).length
   */
  async pending(peerDid?: string): Promise<PendingEntry[]> {
    const dids = peerDid === undefined ? q.readIndex(await this.#store.getDoc(q.OUTBOX_INDEX_DOC)).peers : [peerDid];
    const out: PendingEntry[] = [];
    for (const did of dids) for (const e of (await this.#queue(did)).entries) out.push({ ...e, peer: did });
    return out.sort((a, b) => a.enqueuedAt - b.enqueuedAt || (a.id < b.id ? -1 : 1));
  }

  /**
   * Delivers every due entry of the configured `peers`, one lane per peer in parallel, and
   * drops entries of peers no longer configured once older than maxAgeS. A lane still running
   * from an earlier call, or waiting out a peer's backoff, is skipped.
   * @example setInterval(async () => log(await outbox.deliverDue([...config.peers.values()])), 5000)
   */
  async deliverDue(peers: readonly PeerTarget[]): Promise<DeliveryReport[]> {
    if (!Array.isArray(peers)) throw new ArgumentError("peers", "must be an array");
    const configured = new Map(peers.map((p) => [p.did, p]));
    const queued = q.readIndex(await this.#store.getDoc(q.OUTBOX_INDEX_DOC)).peers;
    const lanes = queued.map((did) => {
      const peer = configured.get(did);
      return peer === undefined ? this.#expire(did) : this.#lane(peer);
    });
    return (await Promise.all(lanes)).flat();
  }

  /**
   * Sends once now (the CLI's `announce`); a retryable failure queues the message for the
   * daemon, a non-retryable one is returned as refused and not queued.
   * @example for (const p of routed) report.push(await outbox.deliverNow(p, "/federation/announce", announce))
   */
  async deliverNow(peer: PeerTarget, path: string, message: unknown): Promise<DeliverNowResult> {
    const id = digestOf(message);
    const response = await this.#post(peer, path, message);
    const v = judge(response);
    if (v.kind === "retry") {
      const nextAttemptAt = this.#now() + backoffDelayMs(1, { ...this.#o.backoff, random: this.#random, retryAfterS: v.retryAfterS });
      await this.enqueue(peer, path, message, { attempts: 1, nextAttemptAt, lastError: v.reason });
      return { peer: peer.did, id, outcome: "queued", response, reason: v.reason, nextAttemptAt };
    }
    if ((await this.#queue(peer.did)).entries.some((e) => e.id === id)) await this.#settle(peer.did, [id], undefined);
    return v.kind === "delivered" ? { peer: peer.did, id, outcome: "delivered", response } : { peer: peer.did, id, outcome: "refused", response, reason: v.reason };
  }

  /**
   * `did` was heard from (it sent this node an authenticated message, or took a delivery): it is
   * reachable again, so its lane runs at the next delivery round with every entry due, instead
   * of waiting out each entry's backoff (docs/ANTI_ENTROPY.md §Rounds). A peer that answered and
   * pushed back (429, Retry-After) keeps its wait. Returns whether its lane was waiting on a
   * failure, so the caller may run a delivery round now.
   * @example if (outbox.wake(did)) await outbox.deliverDue(peers)
   */
  wake(did: string): boolean {
    const gate = this.#gates.get(did);
    if (gate?.pushedBack === true && gate.notBefore > this.#now()) return false;
    this.#woken.add(did);
    this.#gates.delete(did);
    return gate !== undefined;
  }

  async #queue(did: string): Promise<q.PeerQueue> {
    return q.readQueue(await this.#store.getDoc(q.queueDocName(did)), did);
  }

  async #post(peer: PeerTarget, path: string, message: unknown): Promise<PeerResponse> {
    try {
      return await this.#client.postJson(peer, path, message, { timeoutMs: this.#o.requestTimeoutMs, maxResponseBytes: this.#o.maxResponseBytes });
    } catch (e) {
      // A client is not supposed to throw for peer faults; if one does, the entry waits rather than vanishes.
      return { ok: false, code: "CLIENT_ERROR", message: e instanceof Error ? e.message : String(e), retryable: true };
    }
  }

  async #lane(peer: PeerTarget): Promise<DeliveryReport[]> {
    const gate = this.#gates.get(peer.did);
    if (this.#busy.has(peer.did) || (gate !== undefined && gate.notBefore > this.#now())) return [];
    this.#busy.add(peer.did);
    try {
      const reports: DeliveryReport[] = [];
      const woken = this.#woken.delete(peer.did);
      for (const entry of q.dueEntries(await this.#queue(peer.did), woken ? Number.POSITIVE_INFINITY : this.#now())) {
        const report = await this.#attempt(peer, entry);
        reports.push(report);
        // The peer is down or pushing back: the rest of its queue waits for the backoff.
        if (report.outcome === "retry") break;
      }
      return reports;
    } finally {
      this.#busy.delete(peer.did);
    }
  }

  async #attempt(peer: PeerTarget, entry: q.OutboxEntry): Promise<DeliveryReport> {
    const base = { peer: peer.did, id: entry.id, path: entry.path };
    let message = entry.message;
    if (this.#o.refresh !== undefined) {
      try {
        message = this.#o.refresh(entry.message, Math.floor(this.#now() / 1000));
      } catch (e) {
        await this.#settle(peer.did, [entry.id], undefined);
        return { ...base, outcome: "dropped", attempts: entry.attempts, reason: `dropped: REFRESH_FAILED ${(e as Error).message}` };
      }
    }
    const response = await this.#post(peer, entry.path, message);
    const status = response.status === undefined ? {} : { status: response.status };
    const v = judge(response);
    if (v.kind !== "retry") {
      this.#gates.delete(peer.did);
      await this.#settle(peer.did, [entry.id], undefined);
      return v.kind === "delivered" ? { ...base, ...status, outcome: "delivered", attempts: entry.attempts + 1 } : { ...base, ...status, outcome: "dropped", attempts: entry.attempts + 1, reason: v.reason };
    }
    const failures = (this.#gates.get(peer.did)?.failures ?? 0) + 1;
    const attempts = entry.attempts + 1;
    const nextAttemptAt = this.#now() + backoffDelayMs(Math.max(attempts, failures), { ...this.#o.backoff, random: this.#random, retryAfterS: v.retryAfterS });
    this.#gates.set(peer.did, { failures, notBefore: nextAttemptAt, pushedBack: response.status !== undefined });
    await this.#settle(peer.did, [], { id: entry.id, attempts, nextAttemptAt, lastError: v.reason });
    return { ...base, ...status, outcome: "retry", attempts, reason: v.reason, nextAttemptAt };
  }

  async #expire(did: string): Promise<DeliveryReport[]> {
    const now = this.#now();
    const old = (await this.#queue(did)).entries.filter((e) => now - e.enqueuedAt > this.#o.maxAgeS * 1000);
    if (old.length > 0) await this.#settle(did, old.map((e) => e.id), undefined);
    else if ((await this.#queue(did)).entries.length === 0) await this.#forget(did);
    return old.map((e) => ({
      peer: did, id: e.id, path: e.path, outcome: "dropped" as const, attempts: e.attempts,
      reason: `dropped: EXPIRED peer ${did} is no longer configured and the entry was queued ${Math.round((now - e.enqueuedAt) / 1000)} s ago`,
    }));
  }

  /** Removes `ids` and/or applies a retry patch under the store lock; forgets an emptied queue. */
  async #settle(did: string, ids: readonly string[], patch: { id: string; attempts: number; nextAttemptAt: number; lastError: string } | undefined): Promise<void> {
    const after = await this.#store.updateDoc<q.PeerQueue>(q.queueDocName(did), (cur) => {
      let queue = q.withoutEntries(q.readQueue(cur, did), new Set(ids));
      if (patch !== undefined) queue = q.withPatch(queue, patch.id, patch);
      return queue;
    });
    if (after.entries.length === 0) await this.#forget(did);
  }

  async #forget(did: string): Promise<void> {
    await this.#store.updateDoc<q.OutboxIndex>(q.OUTBOX_INDEX_DOC, (cur) => q.indexWithout(q.readIndex(cur), did));
    // An enqueue from another process may have landed between the two writes: keep its index line.
    if ((await this.#queue(did)).entries.length > 0) await this.#store.updateDoc<q.OutboxIndex>(q.OUTBOX_INDEX_DOC, (cur) => q.indexWith(q.readIndex(cur), did));
  }
}

function digestOf(message: unknown): string {
  if (typeof message !== "object" || message === null || Array.isArray(message)) throw new ArgumentError("message", "must be a message object");
  return messageDigest(message as { sig?: unknown });
}
