/**
 * When serve's anti-entropy runs, and with whom (docs/ANTI_ENTROPY.md §Rounds): a round at start
 * and then every interval; the (peer, namespace) sessions of a round run a few at a time, so a
 * peer that does not answer delays only its own session; a peer whose sessions failed waits in
 * back-off, which ends, and is followed by a session at once, as soon as the peer is heard from
 * or answers the `GET /health` probe each round sends it. What one session does is the caller's
 * (`lib/federation/sync.ts` and the node's cosign and relay); this file only schedules.
 */
import type { PeerConfig } from "../config/types.js";

/** Sessions of one round that run at once: one slow or unreachable peer holds up only its own. */
export const ROUND_CONCURRENCY = 4;

/** What a session reports back to the scheduler. */
export interface SessionOutcome {
  ok: boolean;
  error?: string;
}

export interface RoundHooks<R extends SessionOutcome> {
  /** The namespaces this node carries. */
  namespaces(): string[];
  /** The peers a round reconciles `namespace` with, in order (the routing policy applied). */
  select(namespace: string): PeerConfig[];
  /** Every serving routed peer of `namespace`, chosen or not (the ones that may be in back-off). */
  routed(namespace: string): PeerConfig[];
  /** One anti-entropy session; never throws for the peer's faults. */
  session(peer: PeerConfig, namespace: string): Promise<R>;
  /** Whether `peer` answers its `GET /health` as itself, briefly. */
  probe(peer: PeerConfig): Promise<boolean>;
  /** anti_entropy.interval_s now. */
  intervalS(): number;
  /** Unix seconds. */
  now(): number;
  /** Whether a failed session's peer answered and asked to be sent the message again later: no back-off then. */
  answeredRetry?(outcome: R): boolean;
  /** Called after a failed session with the seconds until the next try (0: the next round). */
  failed?(peer: PeerConfig, namespace: string, outcome: R, retryInS: number): void;
  /** Called when a session starts at once because its peer, in back-off, was heard from. */
  reconnecting?(peer: PeerConfig, namespace: string): void;
  /** Runs work in the background; logs what it throws. */
  background(work: Promise<unknown>): void;
}

/** Consecutive failed sessions with a peer for a namespace, and when to try again (unix seconds). */
export interface Backoff {
  failures: number;
  until: number;
}

/**
 * Schedules anti-entropy sessions; one session per (peer, namespace) at a time.
 * @example const rounds = new AntiEntropyRounds(hooks); await rounds.round(); rounds.heardFrom(did);
 */
export class AntiEntropyRounds<R extends SessionOutcome> {
  readonly #hooks: RoundHooks<R>;
  readonly #concurrency: number;
  /** By "<peer DID> <namespace>". */
  readonly #backoff = new Map<string, Backoff>();
  /** Sessions running now, by "<peer DID> <namespace>". */
  readonly #running = new Set<string>();

  constructor(hooks: RoundHooks<R>, concurrency = ROUND_CONCURRENCY) {
    this.#hooks = hooks;
    this.#concurrency = Math.max(1, concurrency);
  }

  /** Back-off by "<peer DID> <namespace>" (read by the explorer, docs/EXPLORER.md). */
  backoffs(): ReadonlyMap<string, Backoff> {
    return this.#backoff;
  }

  /**
   * One round: probes the peers in back-off, then runs every due session, at most
   * ROUND_CONCURRENCY at once. A session already running (started when its peer was heard from)
   * is not started twice. Resolves the outcomes of the sessions that ended within one interval.
   */
  async round(): Promise<R[]> {
    await this.#probeBackedOff();
    const now = this.#hooks.now();
    const due: Array<{ peer: PeerConfig; namespace: string }> = [];
    for (const namespace of this.#hooks.namespaces()) {
      for (const peer of this.#hooks.select(namespace)) if (!((this.#backoff.get(key(peer.did, namespace))?.until ?? 0) > now)) due.push({ peer, namespace });
    }
    const out: R[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < due.length) {
        const { peer, namespace } = due[next++]!;
        const r = await this.#run(peer, namespace);
        if (r !== undefined) out.push(r);
      }
    };
    const all = Promise.all(Array.from({ length: Math.min(this.#concurrency, due.length) }, worker));
    this.#hooks.background(all);
    // A session that outlasts an interval (a peer trickling its answer) goes on in the background
    // and is skipped by the next rounds while it runs; it does not hold the next round back.
    let timer: NodeJS.Timeout | undefined;
    const interval = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#hooks.intervalS() * 1000)));
    await Promise.race([all, interval]);
    clearTimeout(timer);
    return [...out];
  }

  /**
   * `did` reached this node (an authenticated message, a delivery it took): its back-off ends
   * and, when it was in back-off, its sessions run now rather than at the next round
   * (docs/ANTI_ENTROPY.md §Rounds). Returns whether it was in back-off.
   */
  heardFrom(did: string): boolean {
    const namespaces: string[] = [];
    for (const k of [...this.#backoff.keys()]) {
      if (!k.startsWith(`${did} `)) continue;
      this.#backoff.delete(k);
      namespaces.push(k.slice(did.length + 1));
    }
    for (const namespace of namespaces) this.#startNow(did, namespace);
    return namespaces.length > 0;
  }

  /** Starts the session with `did` for `namespace` in the background, if the peer is still routed and it is not running. */
  #startNow(did: string, namespace: string): void {
    const peer = this.#hooks.routed(namespace).find((p) => p.did === did);
    if (peer === undefined || this.#running.has(key(did, namespace))) return;
    this.#hooks.reconnecting?.(peer, namespace);
    this.#hooks.background(this.#run(peer, namespace));
  }

  /** Runs one session unless it is running already; keeps the back-off. */
  async #run(peer: PeerConfig, namespace: string): Promise<R | undefined> {
    const k = key(peer.did, namespace);
    if (this.#running.has(k)) return undefined;
    this.#running.add(k);
    const before = this.#backoff.get(k);
    try {
      const r = await this.#hooks.session(peer, namespace);
      if (r.ok) this.#backoff.delete(k);
      else if (this.#hooks.answeredRetry?.(r) === true) {
        // The peer is up and asked for the message again later (it restarted after a crash and
        // refuses messages signed before its floor for a few seconds): the next round tries again.
        this.#backoff.delete(k);
        this.#hooks.failed?.(peer, namespace, r, 0);
      } else {
        const failures = (before?.failures ?? 0) + 1;
        const retryInS = this.#hooks.intervalS() * Math.min(32, 2 ** failures);
        this.#backoff.set(k, { failures, until: this.#hooks.now() + retryInS });
        this.#hooks.failed?.(peer, namespace, r, retryInS);
      }
      return r;
    } finally {
      this.#running.delete(k);
    }
  }

  /**
   * Asks every peer in back-off for its `GET /health`, all at once: one that answers as itself
   * is tried in this round. After a partition both sides are in back-off and neither hears from
   * the other, so without this each would wait out its own back-off.
   */
  async #probeBackedOff(): Promise<void> {
    const now = this.#hooks.now();
    const waiting = new Map<string, PeerConfig>();
    for (const namespace of this.#hooks.namespaces()) {
      for (const peer of this.#hooks.routed(namespace)) if ((this.#backoff.get(key(peer.did, namespace))?.until ?? 0) > now) waiting.set(peer.did, peer);
    }
    await Promise.all([...waiting.values()].map(async (peer) => {
      if (!(await this.#hooks.probe(peer))) return;
      for (const [k, b] of this.#backoff) if (k.startsWith(`${peer.did} `)) b.until = now;
    }));
  }
}

const key = (did: string, namespace: string): string => `${did} ${namespace}`;

/**
 * Whether a failed session's peer answered 401 STALE_TIMESTAMP because it restarted after a crash
 * and refuses messages signed before its floor for a few seconds (docs/FEDERATION_PROTOCOL.md
 * §Replay across restarts): it is up, and the next round's message, signed later, is taken.
 * @example askedAgainAfterRestart({ ok: false, error: "… answered /federation/reconcile with 401 STALE_TIMESTAMP: ts 5 is before 9: this node restarted after a crash …" }) // true
 */
export function askedAgainAfterRestart(outcome: SessionOutcome): boolean {
  return / 401 STALE_TIMESTAMP: .*restarted after a crash/.test(outcome.error ?? "");
}
