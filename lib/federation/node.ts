/**
 * The running federation node behind `serve`: inbound messages through the authentication
 * chain and the rate limits (docs/FEDERATION_PROTOCOL.md §Verification order), the Announce →
 * pull → import → relay flow, answering Requests, the pending re-check, and the outbox. It runs
 * on a NodeRuntime (lib/federation/runtime.ts) and calls the same lib/ functions as the CLI;
 * HTTP lives in lib/http/server.ts and timers in lib/federation/daemon.ts.
 */
import type { NamespaceLimits, NodeConfig, PeerConfig } from "../config/types.js";
import { ProtocolError } from "../errors.js";
import { claimDigest } from "../conflict/index.js";
import { authenticate, signMessage } from "../messages/authenticate.js";
import { messageDigest } from "../messages/canonical.js";
import { LIMITS } from "../messages/limits.js";
import { parseAnnounce, parseRequest, type Announce, type Bundle, type Request } from "../messages/schema.js";
import { isDeepStrictEqual } from "node:util";
import { importBundle } from "../pipeline/bundle.js";
import type { BatchReport } from "../pipeline/import.js";
import { reverifyStored } from "../pipeline/reverify.js";
import { authenticateReconcile, parseReconcile, reconcileEnvelope, reconcileParts, type ReconcileMessage } from "../reconcile/message.js";
import { respondInSlices } from "../reconcile/session.js";
import type { Store } from "../store/index.js";
import { answerRequest, wireLeaves } from "./answer-request.js";
import { announceToPeers, pullBatch, versionPages, type Delivery } from "./gossip.js";
import type { Logger } from "./log.js";
import { Metrics } from "./metrics.js";
import type { PeerDirectory } from "./peers.js";
import { RateLimiter } from "../http/rate-limit.js";
import { parsePeerJsonInSlices } from "../messages/json-slices.js";
import { signMessageInSlices, yieldToLoop, type ChunkedBody } from "../messages/sign-in-slices.js";
import { COMPRESS_FROM_BYTES, compressChunks, type BodyEncoding } from "../http/encoding.js";
import { WorkBudget } from "../http/work-budget.js";
import { answerRate, budgetRefusal, busyRefusal, replyCap, RECONCILE_SLICE_WORK, reconcileRate, AnswerSlots } from "./budgets.js";
import type { NodeRuntime } from "./runtime.js";
import { reconcileOptions, syncWithPeer, type PeerSyncReport } from "./sync.js";
import { AntiEntropyRounds, askedAgainAfterRestart } from "./anti-entropy-rounds.js";
import { checkpointHolds } from "./checkpoint-trust.js";
import { refetchCheckpoints } from "./checkpoint-migrate.js";
import { readStoreGauges } from "./node-gauges.js";
import { peerHealth } from "./peer-health.js";
import { RecheckFailureLog } from "./recheck-log.js";
import type { Cosignature } from "../messages/cosignature.js";
import { cosignatureDigest } from "../quorum/merge.js";
import { cosignChanged, cosignVersion, takeCosignatures, witnessKeysFor, type VersionQuorum } from "./witness.js";
import { oldestAwaiting, readMetricExtras } from "./metric-extras.js";
import { originLogMetrics } from "./origin-log.js";
import { quorumReport, type QuorumReport } from "./quorum-report.js";

/** Per namespace, for GET /metrics: versions by quorum state, contested roots, witness faults. */
export type QuorumCounts = Record<"final" | "awaiting" | "disputed" | "contested" | "witnessFaults", number>;
import { rosterMetrics, type RosterKeeper } from "./roster-keeper.js";

/** Seconds GET /metrics may report quorum counts computed earlier, for changes made by another process. */
const QUORUM_COUNTS_TTL_S = 30;


/** How long a backed-off peer's `GET /health` may take before this round gives up on it. */
const BACKOFF_PROBE_MS = 2_000;
export interface FederationNodeOptions {
  log: Logger;
  version: string;
  /** Least seconds between two log lines about failed re-checks of one namespace and chain (default 600). */
  recheckLogEveryS?: number;
}

export interface Reply {
  status: number;
  body: unknown;
  /** `body` already serialised (a signed answer built in slices), in chunks. */
  bytes?: ChunkedBody;
  /** How `bytes` are already compressed, when they are (docs/FEDERATION_PROTOCOL.md §Compression). */
  encoding?: BodyEncoding;
}

export class FederationNode {
  readonly metrics = new Metrics();
  readonly startedAtMs = Date.now();
  readonly runtime: NodeRuntime;
  readonly version: string;
  readonly #log: Logger;
  readonly #rate = new RateLimiter();
  /** Bytes answered and reconcile work, per peer (docs/FEDERATION_PROTOCOL.md §Limits). */
  readonly #work = new WorkBudget();
  /** "<kind> <signer>" of the Requests and reconcile rounds being answered now: one each per peer. */
  readonly #inFlight = new Set<string>();
  /** Request answers being built now, all peers, and the Requests waiting their turn (one per peer). */
  readonly #answerSlots = new AnswerSlots();
  readonly #background = new Set<Promise<unknown>>();
  /** Batch versions being pulled now, so two announces of one batch cause one pull. */
  readonly #pulling = new Set<string>();
  /** Announces that arrived while their version was being pulled, by version key, then by announcer. */
  readonly #announcedDuringPull = new Map<string, Map<string, Announce>>();
  /** GET /metrics' quorum counts and when they were computed; dropped whenever this node changes a version. */
  #quorumCounts: { at: number; counts: Map<string, QuorumCounts> } | undefined;
  /** Namespace → sealing time of its oldest version awaiting its quorum, refreshed with #quorumCounts. */
  readonly #awaitingSince = new Map<string, number>();
  /** Cosignatures that came with announces of a version while it was being pulled: taken once it is stored. */
  readonly #heldBack = new Map<string, Cosignature[]>();
  /** When anti-entropy runs and with whom (lib/federation/anti-entropy-rounds.ts). */
  readonly #rounds: AntiEntropyRounds<PeerSyncReport>;
  /** The cosign-and-relay step after each anti-entropy session, one at a time. */
  #afterSync: Promise<void> = Promise.resolve();
  #stopping = false;
  readonly #recheckFailures: RecheckFailureLog;
  /** The roster's exchange, set by the daemon (lib/federation/roster-keeper.ts). */
  rosterKeeper: RosterKeeper | undefined;

  constructor(runtime: NodeRuntime, options: FederationNodeOptions) {
    this.runtime = runtime;
    this.#log = options.log;
    this.version = options.version;
    this.#recheckFailures = new RecheckFailureLog(options.log, this.metrics, options.recheckLogEveryS);
    this.#rounds = new AntiEntropyRounds<PeerSyncReport>({
      namespaces: () => [...this.config.federation.namespaces.keys()],
      // A routing policy spreads anti-entropy over the healthy peers (docs/FEDERATION_OPERATIONS.md §Routing policies).
      select: (namespace) => this.runtime.select(namespace, "sync", this.#peers.routed(namespace, "serve")),
      routed: (namespace) => this.#peers.routed(namespace, "serve"),
      session: (peer, namespace) => this.#syncSession(peer, namespace),
      probe: async (peer) => (await peerHealth(this.runtime.client, peer, BACKOFF_PROBE_MS)).reachable,
      intervalS: () => this.config.federation.antiEntropy.intervalS,
      now: () => this.now(),
      answeredRetry: askedAgainAfterRestart,
      failed: (peer, namespace, r, retryInS) => this.#log.warn("anti-entropy failed", { peer: peer.did, namespace, error: r.error, retryInS }),
      reconnecting: (peer, namespace) => this.#log.info("anti-entropy: a peer in back-off was heard from, reconciling now", { peer: peer.did, namespace }),
      // Not waited for by a stop, as the timed rounds never were: a session cut short loses nothing (atomic writes).
      background: (work) => void work.catch((e: unknown) => this.#log.error("anti-entropy session failed", { error: (e as Error).message })),
    });
  }

  get config(): NodeConfig {
    return this.runtime.config;
  }

  /** Anti-entropy back-off by "<peer DID> <namespace>", read by the explorer (docs/EXPLORER.md). */
  syncBackoffs(): ReadonlyMap<string, { failures: number; until: number }> {
    return this.#rounds.backoffs();
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  /**
   * Before a large body is read on (docs/FEDERATION_PROTOCOL.md §Limits): 401 for a `signer` not
   * in this node's allowlist (the peer directory), 429 for one whose work budgets for `kind` are
   * in debt. Nothing is charged: the body is not yet authenticated.
   */
  screen(kind: "announce" | "request" | "reconcile", signer: string): ProtocolError | undefined {
    if (!this.#peers.known.has(signer)) return new ProtocolError("SIGNER_UNKNOWN", 401, `signer ${signer.slice(0, 80)} is not in peers.yaml`);
    if (kind === "announce") return undefined;
    const limits = [...this.config.federation.namespaces.values()].map((ns) => ns.limits);
    const now = Date.now();
    const bytes = this.#work.wait(`bytes ${signer}`, answerRate(limits), now);
    const work = kind === "reconcile" ? this.#work.wait(`reconcile ${signer}`, reconcileRate(limits), now) : 0;
    if (bytes > 0 || work > 0) {
      this.metrics.rateLimited++;
      this.metrics.message(kind, "BUDGET_EXHAUSTED");
      return budgetRefusal(signer, work >= bytes ? "reconcile work" : "bytes answered", Math.max(bytes, work));
    }
    return undefined;
  }

  get #store(): Store {
    return this.runtime.store;
  }

  get #peers(): PeerDirectory {
    return this.runtime.peers;
  }

  now(): number {
    return this.runtime.now();
  }

  /**
   * Handles a POST body for `kind`: parse, authenticate, rate-limit, then act. Throws
   * ProtocolError for every refusal; the caller turns it into the error answer.
   */
  async receive(kind: "announce" | "request" | "reconcile", text: string, accepted?: BodyEncoding): Promise<Reply> {
    if (this.#stopping) throw new ProtocolError("SHUTTING_DOWN", 503, "this node is shutting down; try another peer or again shortly");
    // In slices: a body of up to 4 MiB must not hold the loop (docs/FEDERATION_PROTOCOL.md §Answering without holding the event loop).
    const json = await parsePeerJsonInSlices(text);
    let message: Announce | Request | ReconcileMessage;
    try {
      message = kind === "announce" ? parseAnnounce(json) : kind === "request" ? parseRequest(json) : parseReconcile(json, LIMITS.maxReconcilePayloadBytes);
    } catch (e) {
      this.metrics.message(kind, (e as ProtocolError).code ?? "MALFORMED");
      throw e;
    }
    const auth = message.type === "reconcile" ? authenticateReconcile(message, this.runtime.authContext()) : authenticate(message, this.runtime.authContext());
    if (!auth.ok) {
      this.metrics.message(kind, auth.error.code);
      throw auth.error;
    }
    this.#heardFrom(message.signer);
    const namespaces = message.type === "reconcile" ? message.namespaces.map((n) => n.namespace) : [message.namespace];
    const limitsOf = namespaces.map((ns) => this.config.federation.namespaces.get(ns)!.limits);
    // Work budgets first, so a refused message takes no count token (docs/FEDERATION_PROTOCOL.md §Limits).
    // Not acted on, so the sender may send this very message again once the budget allows.
    const refuseOverBudget = (): void => {
      const refusal = message.type === "announce" ? undefined : this.#budgetRefusal(message.type, message.signer, limitsOf);
      if (refusal === undefined) return;
      this.runtime.replay.forget(auth.digest);
      this.metrics.rateLimited++;
      this.metrics.message(kind, refusal.code);
      throw refusal;
    };
    refuseOverBudget();
    for (const namespace of namespaces) {
      const ns = this.config.federation.namespaces.get(namespace)!;
      const perMinute = kind === "announce" ? ns.limits.maxAnnounceRatePerMin : ns.limits.maxRequestRatePerMin;
      // Reconcile rounds count against the request allowance: they are pulls.
      const wait = this.#rate.take(`${kind === "announce" ? "announce" : "request"} ${namespace} ${message.signer}`, perMinute, Date.now());
      if (wait > 0) {
        // Not acted on, so the sender may send this very message again once the wait is over.
        this.runtime.replay.forget(auth.digest);
        this.metrics.rateLimited++;
        this.metrics.message(kind, "RATE_LIMITED");
        throw new ProtocolError("RATE_LIMITED", 429, `more than ${perMinute} ${kind === "announce" ? "announce" : "request"} messages a minute from ${message.signer} for ${namespace}; retry in ${wait} s`, { details: String(wait) });
      }
    }
    // Saved before acting, so that no crash can let this message in again (docs/FEDERATION_PROTOCOL.md §Replay across restarts).
    await this.runtime.horizon.admit(message.signer, message.ts).catch((e: unknown) => {
      this.runtime.replay.forget(auth.digest);
      throw e;
    });
    // Again after that write's await: another message of this signer may have taken its answer
    // slot, or put it in debt, meanwhile (docs/FEDERATION_PROTOCOL.md §Limits).
    refuseOverBudget();
    this.metrics.message(kind, "accepted");
    if (message.type === "announce") {
      this.track(this.onAnnounce(message));
      return { status: 202, body: { accepted: true } };
    }
    const slot = `${message.type} ${message.signer}`;
    this.#inFlight.add(slot);
    let release: (() => void) | undefined;
    try {
      if (message.type === "reconcile") return await this.#reconcileInSlices(message, auth.digest, text.length, limitsOf);
      // Waits its turn for an answer slot rather than being refused while other peers' answers are built (lib/federation/budgets.ts AnswerSlots).
      release = await this.#answerSlots.take();
      return await this.#answerInSlices(message, limitsOf, accepted);
    } finally {
      release?.();
      this.#inFlight.delete(slot);
    }
  }

  /**
   * Why `signer` may not have a `kind` message answered now, if it may not: its byte or work
   * budget is in debt, or an answer to its earlier message is being built or waiting its turn.
   */
  #budgetRefusal(kind: "request" | "reconcile", signer: string, limits: readonly NamespaceLimits[]): ProtocolError | undefined {
    const now = Date.now();
    const bytes = this.#work.wait(`bytes ${signer}`, answerRate(limits), now);
    const work = kind === "reconcile" ? this.#work.wait(`reconcile ${signer}`, reconcileRate(limits), now) : 0;
    if (bytes > 0 || work > 0) return budgetRefusal(signer, work >= bytes ? "reconcile work" : "bytes answered", Math.max(bytes, work));
    if (this.#inFlight.has(`${kind} ${signer}`)) return busyRefusal(`an answer to an earlier ${kind} from ${signer} is still being built`);
    return undefined;
  }

  /** A Request's signed Bundle as wire text, built in slices and charged to the peer's byte budget. */
  async #answerInSlices(request: Request, limits: readonly NamespaceLimits[], accepted: BodyEncoding | undefined): Promise<Reply> {
    const signed = await signMessageInSlices((await this.#answerBody(request)) as Omit<Bundle, "sig"> & Record<string, unknown>, this.runtime.me.privateKey, yieldToLoop);
    this.#work.charge(`bytes ${request.signer}`, signed.body.length, answerRate(limits), Date.now());
    this.metrics.answerBytes += signed.body.length;
    // Compressed while the answer slot is held, so at most one uncompressed answer is in memory
    // at a time, all peers together (docs/FEDERATION_PROTOCOL.md §Limits).
    if (accepted === undefined || signed.body.length < COMPRESS_FROM_BYTES) return { status: 200, body: undefined, bytes: signed.body };
    return { status: 200, body: undefined, bytes: await compressChunks(signed.body.chunks, accepted), encoding: accepted };
  }

  /** One reconcile round answered in slices; its work and reply bytes are charged to the peer. */
  async #reconcileInSlices(message: ReconcileMessage, digest: string, requestBytes: number, limits: readonly NamespaceLimits[]): Promise<Reply> {
    await this.#prepareReconcile(message);
    const r = await respondInSlices((ns) => (this.config.federation.namespaces.has(ns) ? this.runtime.indexes.get(ns) : undefined), reconcileParts(message), reconcileOptions(), { work: RECONCILE_SLICE_WORK, pause: yieldToLoop, cap: replyCap(requestBytes) });
    this.#work.charge(`reconcile ${message.signer}`, r.work, reconcileRate(limits), Date.now());
    this.metrics.reconcileWork += r.work;
    if (!r.ok) throw new ProtocolError("MALFORMED", 400, `reconcile payload refused: ${r.reason}`);
    const envelope = reconcileEnvelope({ aud: message.signer, round: message.round, parts: r.reply, ts: this.now(), signer: this.runtime.me.did, request: digest });
    const signed = await signMessageInSlices(envelope as unknown as { signer: string } & Record<string, unknown>, this.runtime.me.privateKey, yieldToLoop);
    this.#work.charge(`bytes ${message.signer}`, signed.body.length, answerRate(limits), Date.now());
    this.metrics.answerBytes += signed.body.length;
    return { status: 200, body: undefined, bytes: signed.body };
  }

  async #prepareReconcile(message: ReconcileMessage): Promise<void> {
    await this.#store.refresh();
    // Attachment items (checkpoints, claims) of versions written since the last round (docs/ANTI_ENTROPY.md §Attachment items).
    for (const { namespace } of message.namespaces) if (this.config.federation.namespaces.has(namespace)) await this.runtime.indexes.prepare(namespace);
  }

  /**
   * Anti-entropy with every serving routed peer of every namespace (serve's timer): the sessions
   * run a few at a time, and a peer that failed waits 2, 4, 8… intervals (at most 32) unless it
   * is heard from or answers its /health probe first (docs/ANTI_ENTROPY.md §Rounds).
   */
  async syncAll(): Promise<PeerSyncReport[]> {
    return this.#rounds.round();
  }

  /** One anti-entropy session with `peer`, then cosigning and relaying what it brought in. */
  async #syncSession(peer: PeerConfig, namespace: string): Promise<PeerSyncReport> {
    const before = this.#activeVersions(namespace);
    const listed = this.#store.listBatches(namespace);
    // Versions whose cosignatures this session stored are relayed, as after an Announce that brought them.
    const cosigned = new Set<string>();
    const r = await syncWithPeer({ ...this.runtime.syncContext(), onCosignaturesStored: (stored) => stored.forEach((c) => cosigned.add(`${c.batchId}\u0000${c.batchRoot}\u0000${c.origin}`)) }, peer, namespace);
    this.metrics.peerContact(peer.did, r.ok);
    this.runtime.observePeer(peer.did, { ok: r.ok });
    if (r.ok) this.#heardFrom(peer.did);
    // Sessions run side by side: what follows compares store snapshots, so one at a time.
    const done = this.#afterSync.then(async () => {
      // Versions anti-entropy brought in are cosigned like announced ones, and announced so the cosignature spreads.
      if (r.ok && (r.imported > 0 || r.itemsHere > 0)) {
        this.#quorumCounts = undefined;
        for (const c of await cosignChanged(this.#store, this.runtime.me, this.config, namespace, listed, this.now())) {
          this.#log.info("cosigned batch", { namespace, batch: c.batchId, root: c.batchRoot, winner: `${c.winner.chain}/${c.winner.tx}` });
          await this.announce(namespace, c.batchId, c.batchRoot, new Set(), c.origin);
        }
      }
      if (r.imported > 0 || r.itemsHere > 0) await this.#relayLearnt(namespace, before, peer.did, cosigned);
    });
    this.#afterSync = done.catch(() => undefined);
    await done;
    if (r.ok && (r.missingHere > 0 || r.missingThere > 0 || r.itemsHere > 0 || r.itemsThere > 0)) this.#log.info("anti-entropy closed a gap", { peer: peer.did, namespace, fetched: r.fetched, imported: r.imported, itemsHere: r.itemsHere, itemsThere: r.itemsThere, itemsRefused: r.itemsRefused, claimsOverCap: r.claimsOverCap, announced: r.announced, bytes: r.bytes, roundTrips: r.roundTrips });
    return r;
  }

  /**
   * A peer that reached this node with an authenticated message, or took a delivery, is reachable
   * again: its anti-entropy back-off ends and, if it was in back-off, it is reconciled with at
   * once; Announces queued for it go at once rather than when their retry time comes
   * (docs/ANTI_ENTROPY.md §Rounds).
   */
  #heardFrom(did: string): void {
    if (this.#stopping) return;
    this.#rounds.heardFrom(did);
    if (this.runtime.outbox.wake(did)) this.track(this.deliverOutbox());
  }

  /** Active versions with a checkpoint, by (batchId, batchRoot, origin), with their receipt counts. */
  #activeVersions(namespace: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const b of this.#store.listBatches(namespace)) if (b.origin !== undefined && b.outcomes.verified > 0) out.set(`${b.batchId}\u0000${b.batchRoot}\u0000${b.origin}`, `${b.receiptCount} ${b.outcomes.verified}`);
    return out;
  }

  /**
   * Relays the versions an anti-entropy round made active here, added receipts to, gained a
   * verified anchor in or stored a witness's cosignature of (items, docs/ANTI_ENTROPY.md §Attachment items), as an import
   * after an Announce does. Anti-entropy compares one copy per receipt id, so a second origin's
   * version of a root whose ids a peer already holds is invisible to it; an Announce is how that
   * peer learns of it (docs/FEDERATION_SEMANTICS.md §5).
   */
  async #relayLearnt(namespace: string, before: ReadonlyMap<string, string>, from: string, cosigned: ReadonlySet<string> = new Set()): Promise<void> {
    for (const [key, now] of this.#activeVersions(namespace)) {
      if (before.get(key) === now && !cosigned.has(key)) continue;
      const [batchId, batchRoot, origin] = key.split("\u0000") as [string, string, string];
      await this.announce(namespace, batchId, batchRoot, new Set([from]), origin);
    }
  }

  /** A signed Bundle answering `request`. */
  async answer(request: Request): Promise<Bundle> {
    return signMessage<Bundle>(await this.#answerBody(request), this.runtime.me.privateKey);
  }

  /** The Bundle answering `request`, unsigned. */
  async #answerBody(request: Request): Promise<Omit<Bundle, "sig">> {
    // A CLI command may have just written to the same state (announce, then the peer pulls at once).
    await this.#store.refresh();
    // A `want` may name attachment items as well as receipts (docs/FEDERATION_PROTOCOL.md §Messages).
    if (request.want !== undefined) await this.runtime.indexes.prepare(request.namespace);
    const { checkpoints, receipts, anchors, cosignatures, leaves } = await answerRequest(this.#store, request, (ns, ids) => this.runtime.indexes.items(ns, ids));
    const body = { type: "bundle" as const, namespace: request.namespace, aud: request.signer, request: messageDigest(request), checkpoints, receipts, anchors, ts: this.now(), signer: this.runtime.me.did };
    // A version 3 Request is answered with version 4, whole versions as leaves (docs/FEDERATION_PROTOCOL.md §Leaves).
    if (request.v === 3) return { ...body, v: 4, ...(cosignatures.length === 0 ? {} : { cosignatures }), leaves: wireLeaves(checkpoints, leaves) };
    // Message version 3 only when cosignatures travel (docs/FEDERATION_PROTOCOL.md §Cosignature).
    return cosignatures.length === 0 ? { ...body, v: 2 } : { ...body, v: 3, cosignatures };
  }

  /** Prometheus text for GET /metrics. */
  async renderMetrics(): Promise<string> {
    const gauges = await readStoreGauges(this.#store);
    const quorum = await this.quorumCounts();
    const extras = await readMetricExtras(this.#store, this.config, this.now());
    return this.metrics.render(this.#store.counts(), Math.floor((Date.now() - this.startedAtMs) / 1000), { gauges, version: this.version, quorum, awaitingSince: this.#awaitingSince, extras, now: this.now() }) + (await originLogMetrics(this.runtime)) + rosterMetrics(this.runtime.roster?.serial, this.rosterKeeper, this.runtime.selections);
  }

  /**
   * Batch versions by quorum state, per configured namespace (for GET /metrics). With a quorum
   * policy every version's file is read, so the counts are kept until this node changes what
   * they depend on, or QUORUM_COUNTS_TTL_S (a CLI's write, a reload) has passed.
   */
  async quorumCounts(): Promise<Map<string, QuorumCounts>> {
    const now = this.now();
    if (this.#quorumCounts !== undefined && now - this.#quorumCounts.at < QUORUM_COUNTS_TTL_S) return this.#quorumCounts.counts;
    const out = new Map<string, QuorumCounts>();
    for (const ns of this.config.federation.namespaces.keys()) {
      const c = { final: 0, awaiting: 0, disputed: 0, contested: 0, witnessFaults: 0 };
      const report = await this.trustOf(ns);
      for (const q of report.quorum) c[q.state]++;
      c.contested = report.contested.length;
      c.witnessFaults = report.witnessFaults.length;
      out.set(ns, c);
      const since = oldestAwaiting(report.quorum, this.#store.listBatches(ns));
      if (since === undefined) this.#awaitingSince.delete(ns);
      else this.#awaitingSince.set(ns, since);
    }
    this.#quorumCounts = { at: now, counts: out };
    return out;
  }

  /** The quorum state of a namespace's stored batch versions (all, or one batch id's). */
  async quorumOf(namespace: string, batchId?: string): Promise<VersionQuorum[]> {
    return (await this.trustOf(namespace, batchId)).quorum;
  }

  /** Quorum states, contested roots and witness faults of a namespace (all, or one batch id's): docs/FEDERATION_SEMANTICS.md §8. Quorum. */
  trustOf(namespace: string, batchId?: string): Promise<QuorumReport> {
    const keys = witnessKeysFor(this.config, { did: this.runtime.me.did, publicKey: this.runtime.key.publicKey });
    return quorumReport(this.#store, this.config, keys, this.runtime.me.did, namespace, batchId);
  }

  /** Runs `work` in the background, logged, and waited for by `drain`. */
  track(work: Promise<unknown>): void {
    const p = work.catch((e: unknown) => this.#log.error("background work failed", { error: (e as Error).message })).finally(() => this.#background.delete(p));
    this.#background.add(p);
  }

  /** Announce received: pull the batch from the announcer (or another serving peer), import, relay once it is verified. */
  /**
   * An Announce of a held version whose checkpoint is another shape its origin signed of it: the
   * shape is kept with the version, and becomes its checkpoint if it is the primary
   * (docs/FEDERATION_SEMANTICS.md §6. Threat model). Nothing else of the Announce is taken here.
   */
  async #takeShape(announce: Announce): Promise<void> {
    const { namespace, batchId, batchRoot, checkpoint } = announce;
    const held = await this.#store.getBatch(namespace, batchId, batchRoot, checkpoint.origin);
    if (held?.checkpoint === undefined || [held.checkpoint, ...(held.shapes ?? [])].some((c) => isDeepStrictEqual(c, checkpoint))) return;
    if (!checkpointHolds(announce, this.runtime.importContext(namespace).origins).ok) return;
    await importBundle(namespace, [], [], this.runtime.importContext(namespace), [checkpoint]);
    this.#quorumCounts = undefined;
    const primary = (await this.#store.getBatch(namespace, batchId, batchRoot, checkpoint.origin))?.checkpoint;
    this.#log.warn("origin signed another shape of a held version", { namespace, batch: batchId, origin: checkpoint.origin, from: announce.signer, createdAt: checkpoint.createdAt, size: checkpoint.size, primaryCreatedAt: primary?.createdAt });
  }

  async onAnnounce(announce: Announce): Promise<void> {
    const { namespace, batchId, batchRoot } = announce;
    // A batch version is (namespace, origin, batchId, batchRoot): another origin's checkpoint of
    // this root, held first, never stands in for the announced one (docs/STATE.md §Layout).
    const origin = announce.checkpoint.origin;
    const key = `${namespace}\u0000${batchId}\u0000${batchRoot}\u0000${origin}`;
    if (this.#pulling.has(key)) {
      // Announces of a version being pulled wait for that pull, one per announcer: a peer that keeps a
      // pull busy (a slow or hostile server) cannot make this node drop another peer's Announce of it.
      let waiting = this.#announcedDuringPull.get(key);
      if (waiting === undefined) this.#announcedDuringPull.set(key, (waiting = new Map()));
      if (waiting.has(announce.signer) || waiting.size < this.#peers.routed(namespace).length) waiting.set(announce.signer, announce);
      if (announce.cosignatures !== undefined) this.#heldBack.set(key, [...(this.#heldBack.get(key) ?? []), ...announce.cosignatures].slice(-LIMITS.maxCosignaturesPerAnnounce));
      return;
    }
    await this.#store.refresh();
    const known = this.#store.batchVersions(namespace, batchId, batchRoot).find((b) => b.origin === origin);
    // Held complete and verified: the receipts are here. Only anchors this node has not seen are
    // worth anything (an upstream writer adds one rail at a time, docs/FEDERATION_SEMANTICS.md
    // §7. Convergence); without any, there is nothing to pull and nothing to relay. A version a
    // peer delivered without (all) its genuine receipts is pulled again (docs/FEDERATION_SEMANTICS.md §6. Threat model).
    if (known !== undefined && known.outcomes.verified > 0 && known.size !== undefined && known.receiptCount >= known.size) {
      await this.#takeShape(announce);
      return this.#onNewAnchors(announce);
    }
    // Nothing is pulled for a batch no origin of the namespace vouches for (docs/FEDERATION_SEMANTICS.md §Origins).
    const vouched = checkpointHolds(announce, this.runtime.importContext(namespace).origins);
    if (!vouched.ok) {
      this.#log.warn("announce refused: checkpoint not from an origin", { namespace, batch: batchId, from: announce.signer, reason: vouched.reason });
      return;
    }
    this.#pulling.add(key);
    let bundles: Bundle[] | undefined;
    let report: BatchReport | undefined;
    let heldBack: Cosignature[] = [];
    try {
      const sources = this.runtime.select(namespace, "pull", this.#peers.routed(namespace, "serve").sort((a, b) => (a.did === announce.signer ? -1 : b.did === announce.signer ? 1 : 0)));
      for (const [i, peer] of sources.entries()) {
        const started = performance.now();
        try {
          // Whole versions stay leaves, so the store keeps them so (docs/STATE.md §Leaves form): a later claim or cosignature rewrites ~45 B a receipt, not a path each.
          const got = await pullBatch(this.runtime.client, this.runtime.me, this.runtime.authContext(), peer, namespace, batchId, batchRoot, () => this.now(), origin, "leaves");
          this.runtime.observePeer(peer.did, { ok: true, latencyMs: performance.now() - started });
          this.runtime.countSelection("pull", peer.did);
          // A routing policy may ask a peer other than the announcer first: one that holds none of it is passed over.
          const pages = versionPages(got, batchId, batchRoot);
          if (i < sources.length - 1 && peer.did !== announce.signer && pages.receipts.length + pages.leaves.length === 0) continue;
          bundles = got;
          break;
        } catch (e) {
          this.runtime.observePeer(peer.did, { ok: false });
          this.#log.warn("pull failed", { peer: peer.did, namespace, batch: batchId, error: (e as Error).message });
        }
      }
      if (bundles === undefined) {
        this.#log.warn("no serving peer delivered the announced batch", { namespace, batch: batchId, from: announce.signer, tried: sources.length });
        return;
      }
      const { receipts, leaves } = versionPages(bundles, batchId, batchRoot);
      const anchors = [...announce.anchors, ...bundles.flatMap((b) => b.anchors.filter((a) => a.batchId === batchId && a.batchRoot === batchRoot))];
      const checkpoints = [announce.checkpoint, ...bundles.flatMap((b) => b.checkpoints)];
      const reports = await importBundle(namespace, receipts, anchors, this.runtime.importContext(namespace), checkpoints, leaves);
      this.metrics.bundlesImported++;
      this.#quorumCounts = undefined;
      report = reports.find((r) => r.batchId === batchId && r.batchRoot === batchRoot && r.origin === origin);
      // What was refused, and why, is what an operator needs to tell an attack from a bug (docs/FEDERATION_SEMANTICS.md §6. Threat model).
      const refused = [...(report?.rejectedReceipts ?? []).map((r) => `receipt ${r.id}: ${r.reason}`), ...(report?.ignoredClaims ?? []).map((c) => `claim ${c.chain}/${c.tx}: ${c.reason}`)].slice(0, 4);
      this.#log.info("imported announced batch", { namespace, batch: batchId, from: announce.signer, origin, status: report?.status ?? "nothing", receipts: report?.receiptsStored ?? 0, winner: report?.winner ?? "none", ...(refused.length === 0 ? {} : { refused }) });
    } finally {
      // From here on an Announce of this version is handled as one of a held batch, its cosignatures taken at once.
      heldBack = this.#heldBack.get(key) ?? [];
      this.#pulling.delete(key);
      this.#heldBack.delete(key);
      const waiting = this.#announcedDuringPull.get(key);
      this.#announcedDuringPull.delete(key);
      if (!this.#stopping) for (const next of waiting?.values() ?? []) this.track(this.onAnnounce(next));
    }
    const heard = [...(announce.cosignatures ?? []), ...bundles.flatMap((b) => b.cosignatures ?? []), ...heldBack];
    const gained = await this.#takeCosignatures(namespace, announce.signer, heard);
    const cosigned = await this.#cosign(namespace, batchId, batchRoot, origin);
    if (report?.status === "active" || gained > 0 || cosigned) await this.announce(namespace, batchId, batchRoot, (await this.#lacksNothing(announce)) ? new Set([announce.signer]) : new Set(), origin);
  }

  /**
   * Stores the cosignatures a peer sent, for versions this node holds, each verified against
   * its witness key; a refused one is logged, never stored. Returns how many were new.
   */
  async #takeCosignatures(namespace: string, from: string, cosignatures: readonly Cosignature[]): Promise<number> {
    if (cosignatures.length === 0) return 0;
    const keys = witnessKeysFor(this.config, { did: this.runtime.me.did, publicKey: this.runtime.key.publicKey });
    const r = await takeCosignatures(this.#store, keys, namespace, cosignatures);
    if (r.stored.length > 0) this.#quorumCounts = undefined;
    for (const x of r.refused) this.#log.warn("cosignature ignored", { namespace, batch: x.batchId, from, signer: x.signer, reason: x.reason });
    if (r.stored.length > 0) this.#log.info("cosignatures stored", { namespace, from, signers: [...new Set(r.stored.map((c) => c.signer))] });
    return r.stored.length;
  }

  /** Cosigns a version when this node is a witness of its namespace and its view of the winner is new (docs/FEDERATION_SEMANTICS.md §8. Quorum). */
  async #cosign(namespace: string, batchId: string, batchRoot: string, origin?: string): Promise<boolean> {
    const c = await cosignVersion(this.#store, this.runtime.me, this.config, namespace, batchId, batchRoot, this.now(), origin);
    if (c !== undefined) this.#quorumCounts = undefined;
    if (c !== undefined) this.#log.info("cosigned batch", { namespace, batch: batchId, root: batchRoot, winner: `${c.winner.chain}/${c.winner.tx}` });
    return c !== undefined;
  }

  /**
   * An Announce of a batch this node holds verified: imports the announced anchor claims it
   * does not hold yet and relays the batch when one of them verified, so a rail added later
   * reaches every node and every node ends with the same winner.
   */
  async #onNewAnchors(announce: Announce): Promise<void> {
    const { namespace, batchId, batchRoot } = announce;
    const origin = announce.checkpoint.origin;
    const newCosignatures = await this.#takeCosignatures(namespace, announce.signer, announce.cosignatures ?? []);
    // Claims are told apart by their digest (docs/STATE.md §Anchor claims), not by (chain, tx).
    const stored = new Set(((await this.#store.getBatch(namespace, batchId, batchRoot, origin))?.anchors ?? []).map((a) => a.digest ?? claimDigest(a)));
    const fresh = announce.anchors.filter((a) => a.batchId === batchId && a.batchRoot === batchRoot && !stored.has(claimDigest(a)));
    let gained = 0;
    if (fresh.length > 0) {
      // The announce's checkpoint names the version the anchors are for.
      const [report] = await importBundle(namespace, [], fresh, this.runtime.importContext(namespace), [announce.checkpoint]);
      this.#quorumCounts = undefined;
      const freshKeys = new Set(fresh.map((a) => claimDigest(a)));
      gained = report?.anchors.filter((a) => a.outcome === "verified" && freshKeys.has(a.digest)).length ?? 0;
      this.#log.info("imported new anchors of a held batch", { namespace, batch: batchId, from: announce.signer, anchors: fresh.length, verified: gained, winner: report?.winner ?? "none" });
    }
    // A new winner is a new view: re-cosign (docs/FEDERATION_SEMANTICS.md §8. Quorum).
    const cosigned = await this.#cosign(namespace, batchId, batchRoot, origin);
    // New cosignatures are relayed like new anchors, so every witness's reaches every node.
    if (gained > 0 || newCosignatures > 0 || cosigned) await this.announce(namespace, batchId, batchRoot, (await this.#lacksNothing(announce)) ? new Set([announce.signer]) : new Set(), origin);
  }

  /**
   * True when the announcer already sent every cosignature this node holds for the batch: the
   * relay need not go back to it. Otherwise (this node's own, or a third witness's) it does.
   */
  async #lacksNothing(announce: Announce): Promise<boolean> {
    const theirs = new Set((announce.cosignatures ?? []).map(cosignatureDigest));
    const held = (await this.#store.getBatchVersions(announce.namespace, announce.batchId)).flatMap((v) => v.cosignatures ?? []);
    return held.every((c) => theirs.has(cosignatureDigest(c)));
  }

  /**
   * Sends this node's Announce of a stored batch to every routed peer except `except`,
   * queueing it for peers that cannot take it now. Returns delivery per peer.
   */
  async announce(namespace: string, batchId: string, batchRoot: string, except: ReadonlySet<string> = new Set(), origin?: string): Promise<Delivery[]> {
    return announceToPeers(this.#store, this.runtime.outbox, this.runtime.me, this.runtime.select(namespace, "announce", this.#peers.routed(namespace).filter((p) => !except.has(p.did))), namespace, batchId, batchRoot, this.now(), (d) => {
      if (d.outcome === "delivered") {
        this.metrics.deliveriesSucceeded++;
        this.#heardFrom(d.peer);
      } else this.metrics.deliveriesFailed++;
      this.metrics.peerContact(d.peer, d.outcome !== "queued");
    }, origin);
  }

  /** Re-checks pending anchors; batches that became active are announced to their routed peers. */
  async recheckPending(): Promise<void> {
    for (const namespace of this.config.federation.namespaces.keys()) {
      const result = await reverifyStored({ namespace, outcomes: ["pending"] }, this.runtime.importContext(namespace));
      if (result.anchors.some((a) => a.was !== a.outcome)) this.#quorumCounts = undefined;
      this.#recheckFailures.note(result.anchors, this.now());
      const nowActive = new Set(result.anchors.filter((a) => a.was === "pending" && a.outcome === "verified").map((a) => `${a.batchId}\u0000${a.batchRoot}\u0000${a.origin ?? ""}`));
      for (const key of nowActive) {
        const [batchId, batchRoot, origin] = key.split("\u0000") as [string, string, string];
        this.#log.info("pending anchor verified", { namespace, batch: batchId, ...(origin === "" ? {} : { origin }) });
        await this.#cosign(namespace, batchId, batchRoot, origin === "" ? undefined : origin);
        await this.announce(namespace, batchId, batchRoot, new Set(), origin === "" ? undefined : origin);
      }
    }
  }

  /**
   * Versions stored by 0.1.0 without a checkpoint: reported, and re-fetched from serving peers
   * that can supply their origin's checkpoint (docs/STATE.md §Upgrading from 0.1.0).
   */
  async adoptCheckpoints(): Promise<void> {
    const results = await refetchCheckpoints(
      {
        store: this.#store,
        sources: (ns) => this.#peers.routed(ns, "serve"),
        pull: (peer, ns, batchId, batchRoot) => pullBatch(this.runtime.client, this.runtime.me, this.runtime.authContext(), peer, ns, batchId, batchRoot, () => this.now()),
        importContext: (ns) => this.runtime.importContext(ns),
      },
      this.config.federation.namespaces.keys(),
    );
    for (const r of results) {
      if (r.origin !== undefined) this.#log.info("0.1.0 batch now held against its origin's checkpoint", { namespace: r.version.namespace, batch: r.version.batchId, origin: r.origin });
      else this.#log.warn("0.1.0 batch without checkpoint: its receipts are not served until one arrives (run announce again if this node sealed it)", { namespace: r.version.namespace, batch: r.version.batchId, root: r.version.batchRoot, receipts: r.version.receipts, problem: r.problem });
    }
  }

  /** Delivers queued announces whose retry time has come. */
  async deliverOutbox(): Promise<void> {
    const reports = await this.runtime.outbox.deliverDue([...this.config.peers.values()]);
    // A refused entry (dropped) still means the peer answered; a retry means it did not take it.
    for (const r of reports) {
      this.metrics.peerContact(r.peer, r.outcome !== "retry");
      if (r.outcome !== "retry") this.#heardFrom(r.peer);
    }
  }

  /** Stops taking messages and waits (at most `timeoutMs`) for background work to finish. */
  async drain(timeoutMs: number): Promise<boolean> {
    this.#stopping = true;
    const all = Promise.allSettled([...this.#background]);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const done = await Promise.race([all.then(() => true), timedOut]);
    clearTimeout(timer);
    return done;
  }
}
