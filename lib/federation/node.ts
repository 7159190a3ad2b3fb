/**
 * The running federation node behind `serve`: inbound messages through the SPEC §3 chain and
 * the rate limits, the Announce → pull → import → relay flow, answering Requests, the pending
 * re-check, and the outbox. Handlers call the same lib/ functions as the CLI (one path for an
 * import, whoever starts it). HTTP lives in lib/http/server.ts; this file knows no sockets.
 */
import type { AnchorVerifier } from "../anchors/endpoints.js";
import { limitConcurrency, type Limiter } from "../anchors/limit.js";
import type { NodeConfig } from "../config/types.js";
import { ProtocolError } from "../errors.js";
import type { NodeKey } from "../identity/keys.js";
import { authenticate, signMessage, type AuthenticateContext } from "../messages/authenticate.js";
import { messageDigest } from "../messages/canonical.js";
import { parsePeerJson } from "../messages/json.js";
import { LIMITS } from "../messages/limits.js";
import { parseAnnounce, parseRequest, type Announce, type Bundle, type Request } from "../messages/schema.js";
import { ReplayCache } from "../messages/replay.js";
import { importBundle } from "../pipeline/bundle.js";
import type { ImportContext } from "../pipeline/import.js";
import { reverifyStored } from "../pipeline/reverify.js";
import type { Store } from "../store/index.js";
import { answerRequest } from "./answer-request.js";
import { announceToPeers, pullBatch, type AnnounceOutbox, type Delivery, type GossipClient, type Signer } from "./gossip.js";
import type { Logger } from "./log.js";
import { Metrics } from "./metrics.js";
import { peerDirectory, type PeerDirectory } from "./peers.js";
import { RateLimiter } from "../http/rate-limit.js";
import { authenticateReconcile, parseReconcile, reconcileParts, signReconcile, type ReconcileMessage } from "../reconcile/message.js";
import { respond } from "../reconcile/session.js";
import { NamespaceIndexes } from "../reconcile/namespace-indexes.js";
import { reconcileOptions, syncWithPeer, type PeerSyncReport, type SyncContext } from "./sync.js";
import { recordSync } from "./sync-state.js";
import { checkpointHolds, originKeysFor } from "./checkpoint-trust.js";
import { refetchCheckpoints } from "./checkpoint-migrate.js";
import { restoreReplayWindow, saveReplayWindow } from "./replay-window.js";


export interface FederationNodeOptions {
  config: NodeConfig;
  key: NodeKey;
  store: Store;
  log: Logger;
  client: GossipClient;
  outbox: AnnounceOutbox;
  verifiers: (namespace: string) => AnchorVerifier;
  /** Unix seconds. */
  now?: () => number;
  version: string;
}

export interface Reply {
  status: number;
  body: unknown;
}

export class FederationNode {
  readonly metrics = new Metrics();
  readonly replay = new ReplayCache();
  readonly startedAtMs = Date.now();
  #config: NodeConfig;
  #peers: PeerDirectory;
  readonly #opts: FederationNodeOptions;
  readonly #rate = new RateLimiter();
  readonly #limit: Limiter = limitConcurrency(4);
  readonly #background = new Set<Promise<unknown>>();
  /** Batch versions being pulled now, so two announces of one batch cause one pull. */
  readonly #pulling = new Set<string>();
  /** Per "peer namespace": consecutive anti-entropy failures and when to try again. */
  readonly #syncBackoff = new Map<string, { failures: number; until: number }>();
  readonly indexes: NamespaceIndexes;
  #stopping = false;
  /** See AuthenticateContext.notBefore. */
  #notBefore: number | undefined;

  constructor(options: FederationNodeOptions) {
    this.#opts = options;
    this.#config = options.config;
    this.#peers = peerDirectory(options.config);
    this.indexes = new NamespaceIndexes(options.store);
  }

  get config(): NodeConfig {
    return this.#config;
  }

  get stopping(): boolean {
    return this.#stopping;
  }

  get me(): Signer {
    return { did: this.#config.federation.mesh.nodeId, privateKey: this.#opts.key.privateKey };
  }

  now(): number {
    return this.#opts.now?.() ?? Math.floor(Date.now() / 1000);
  }

  authContext(): AuthenticateContext {
    const ctx: AuthenticateContext = { peers: this.#peers.known, isRouted: this.#peers.isRouted, now: () => this.now(), skewS: this.#config.federation.mesh.clockSkewS, replay: this.replay, self: this.me.did };
    if (this.#notBefore !== undefined) ctx.notBefore = this.#notBefore;
    return ctx;
  }

  /** Restores the replay window a clean stop saved, or refuses messages signed before now (docs/FEDERATION_PROTOCOL.md §Verification order). */
  async restoreReplay(): Promise<void> {
    const r = await restoreReplayWindow(this.#opts.store, this.replay, this.now());
    this.#notBefore = r.notBefore;
    if (r.notBefore !== undefined) this.#opts.log.info("the last run stopped without saving its replay window: messages signed before this start are refused", { notBefore: r.notBefore });
  }

  /** Saves the replay window for the next start (after drain). */
  async saveReplay(): Promise<void> {
    await saveReplayWindow(this.#opts.store, this.replay, this.now());
  }

  importContext(namespace: string): ImportContext {
    return { store: this.#opts.store, verify: this.#opts.verifiers(namespace), limit: this.#limit, now: () => this.now(), origins: originKeysFor(this.#config, namespace, { did: this.me.did, publicKey: this.#opts.key.publicKey }) };
  }

  /** Replaces peers.yaml and routing (SIGHUP): a removed peer or key is refused from now on. */
  reload(config: NodeConfig): void {
    this.#config = config;
    this.#peers = peerDirectory(config);
  }

  /**
   * Handles a POST body for `kind`: parse, authenticate, rate-limit, then act. Throws
   * ProtocolError for every refusal; the caller turns it into the error answer.
   */
  async receive(kind: "announce" | "request" | "reconcile", text: string): Promise<Reply> {
    if (this.#stopping) throw new ProtocolError("SHUTTING_DOWN", 503, "this node is shutting down; try another peer or again shortly");
    const json = parsePeerJson(text);
    let message: Announce | Request | ReconcileMessage;
    try {
      message = kind === "announce" ? parseAnnounce(json) : kind === "request" ? parseRequest(json) : parseReconcile(json, LIMITS.maxReconcilePayloadBytes);
    } catch (e) {
      this.metrics.message(kind, (e as ProtocolError).code ?? "MALFORMED");
      throw e;
    }
    const auth = message.type === "reconcile" ? authenticateReconcile(message, this.authContext()) : authenticate(message, this.authContext());
    if (!auth.ok) {
      this.metrics.message(kind, auth.error.code);
      throw auth.error;
    }
    const namespaces = message.type === "reconcile" ? message.namespaces.map((n) => n.namespace) : [message.namespace];
    for (const namespace of namespaces) {
      const ns = this.#config.federation.namespaces.get(namespace)!;
      const perMinute = kind === "announce" ? ns.limits.maxAnnounceRatePerMin : ns.limits.maxRequestRatePerMin;
      // Reconcile rounds count against the request allowance: they are pulls.
      const wait = this.#rate.take(`${kind === "announce" ? "announce" : "request"} ${namespace} ${message.signer}`, perMinute, Date.now());
      if (wait > 0) {
        // Not acted on, so the sender may send this very message again once the wait is over.
        this.replay.forget(auth.digest);
        this.metrics.rateLimited++;
        this.metrics.message(kind, "RATE_LIMITED");
        throw new ProtocolError("RATE_LIMITED", 429, `more than ${perMinute} ${kind === "announce" ? "announce" : "request"} messages a minute from ${message.signer} for ${namespace}; retry in ${wait} s`, { details: String(wait) });
      }
    }
    this.metrics.message(kind, "accepted");
    if (message.type === "announce") {
      this.track(this.onAnnounce(message));
      return { status: 202, body: { accepted: true } };
    }
    if (message.type === "reconcile") return { status: 200, body: await this.reconcileReply(message, auth.digest) };
    return { status: 200, body: await this.answer(message) };
  }

  /** One stateless responder round of range-based reconciliation (SPEC §6). */
  async reconcileReply(message: ReconcileMessage, digest: string): Promise<ReconcileMessage> {
    await this.#opts.store.refresh();
    const r = respond((ns) => (this.#config.federation.namespaces.has(ns) ? this.indexes.get(ns) : undefined), reconcileParts(message), reconcileOptions());
    if (!r.ok) throw new ProtocolError("MALFORMED", 400, `reconcile payload refused: ${r.reason}`);
    return signReconcile({ aud: message.signer, round: message.round, parts: r.reply, ts: this.now(), signer: this.me.did, request: digest }, this.me.privateKey);
  }

  /**
   * Anti-entropy with every serving routed peer of every namespace (serve's timer). A peer
   * that failed waits 2, 4, 8… intervals (at most 32) before it is tried again.
   */
  async syncAll(): Promise<PeerSyncReport[]> {
    const reports: PeerSyncReport[] = [];
    const now = this.now();
    for (const namespace of this.#config.federation.namespaces.keys()) {
      for (const peer of this.#peers.routed(namespace, "serve")) {
        const key = `${peer.did} ${namespace}`;
        const b = this.#syncBackoff.get(key);
        if (b !== undefined && b.until > now) continue;
        const r = await syncWithPeer(this.syncContext(), peer, namespace);
        reports.push(r);
        if (r.ok) {
          this.#syncBackoff.delete(key);
          await recordSync(this.#opts.store, peer.did, namespace, this.now());
          if (r.missingHere > 0 || r.missingThere > 0) this.#opts.log.info("anti-entropy closed a gap", { peer: peer.did, namespace, fetched: r.fetched, imported: r.imported, announced: r.announced, bytes: r.bytes, roundTrips: r.roundTrips });
        } else {
          const failures = (b?.failures ?? 0) + 1;
          const interval = this.#config.federation.antiEntropy.intervalS;
          this.#syncBackoff.set(key, { failures, until: now + interval * Math.min(32, 2 ** failures) });
          this.#opts.log.warn("anti-entropy failed", { peer: peer.did, namespace, error: r.error, retryInS: interval * Math.min(32, 2 ** failures) });
        }
      }
    }
    return reports;
  }

  /** What syncWithPeer needs, bound to this node. */
  syncContext(): SyncContext {
    return {
      store: this.#opts.store,
      client: this.#opts.client,
      me: this.me,
      auth: this.authContext(),
      importContext: (ns) => this.importContext(ns),
      indexes: this.indexes,
      outbox: this.#opts.outbox,
      now: () => this.now(),
    };
  }

  /** A signed Bundle answering `request`. */
  async answer(request: Request): Promise<Bundle> {
    // A CLI command may have just written to the same state (announce, then the peer pulls at once).
    await this.#opts.store.refresh();
    const { checkpoints, receipts, anchors } = await answerRequest(this.#opts.store, request);
    return signMessage<Bundle>({ type: "bundle", v: 2, namespace: request.namespace, aud: request.signer, request: messageDigest(request), checkpoints, receipts, anchors, ts: this.now(), signer: this.me.did }, this.me.privateKey);
  }

  /** Prometheus text for GET /metrics. */
  renderMetrics(): string {
    return this.metrics.render(this.#opts.store.counts(), Math.floor((Date.now() - this.startedAtMs) / 1000));
  }

  /** Runs `work` in the background, logged, and waited for by `drain`. */
  track(work: Promise<unknown>): void {
    const p = work.catch((e: unknown) => this.#opts.log.error("background work failed", { error: (e as Error).message })).finally(() => this.#background.delete(p));
    this.#background.add(p);
  }

  /** Announce received: pull the batch from the announcer (or another serving peer), import, relay once it is verified. */
  async onAnnounce(announce: Announce): Promise<void> {
    const { namespace, batchId, batchRoot } = announce;
    const key = `${namespace}\u0000${batchId}\u0000${batchRoot}`;
    if (this.#pulling.has(key)) return;
    await this.#opts.store.refresh();
    const known = this.#opts.store.listBatches(namespace).find((b) => b.batchId === batchId && b.batchRoot === batchRoot);
    // Already held complete and verified: nothing to pull, nothing to relay. A version a peer
    // delivered without (all) its genuine receipts is pulled again (docs/FEDERATION_SEMANTICS.md §Threat model).
    if (known !== undefined && known.outcomes.verified > 0 && known.size !== undefined && known.receiptCount >= known.size) return;
    // Nothing is pulled for a batch no origin of the namespace vouches for (docs/FEDERATION_SEMANTICS.md §Origins).
    const vouched = checkpointHolds(announce, this.importContext(namespace).origins);
    if (!vouched.ok) {
      this.#opts.log.warn("announce refused: checkpoint not from an origin", { namespace, batch: batchId, from: announce.signer, reason: vouched.reason });
      return;
    }
    this.#pulling.add(key);
    try {
      const sources = this.#peers.routed(namespace, "serve").sort((a, b) => (a.did === announce.signer ? -1 : b.did === announce.signer ? 1 : 0));
      let bundles: Bundle[] | undefined;
      for (const peer of sources) {
        try {
          bundles = await pullBatch(this.#opts.client, this.me, this.authContext(), peer, namespace, batchId, batchRoot, () => this.now());
          break;
        } catch (e) {
          this.#opts.log.warn("pull failed", { peer: peer.did, namespace, batch: batchId, error: (e as Error).message });
        }
      }
      if (bundles === undefined) {
        this.#opts.log.warn("no serving peer delivered the announced batch", { namespace, batch: batchId, from: announce.signer, tried: sources.length });
        return;
      }
      const receipts = bundles.flatMap((b) => b.receipts.filter((r) => r.batchId === batchId && r.batchRoot === batchRoot));
      const anchors = [...announce.anchors, ...bundles.flatMap((b) => b.anchors.filter((a) => a.batchId === batchId && a.batchRoot === batchRoot))];
      const checkpoints = [announce.checkpoint, ...bundles.flatMap((b) => b.checkpoints)];
      const reports = await importBundle(namespace, receipts, anchors, this.importContext(namespace), checkpoints);
      this.metrics.bundlesImported++;
      const report = reports.find((r) => r.batchId === batchId && r.batchRoot === batchRoot);
      this.#opts.log.info("imported announced batch", { namespace, batch: batchId, from: announce.signer, status: report?.status ?? "nothing", receipts: report?.receiptsStored ?? 0, winner: report?.winner ?? "none" });
      if (report?.status === "active") await this.announce(namespace, batchId, batchRoot, new Set([announce.signer]));
    } finally {
      this.#pulling.delete(key);
    }
  }

  /**
   * Sends this node's Announce of a stored batch to every routed peer except `except`,
   * queueing it for peers that cannot take it now. Returns delivery per peer.
   */
  async announce(namespace: string, batchId: string, batchRoot: string, except: ReadonlySet<string> = new Set()): Promise<Delivery[]> {
    return announceToPeers(this.#opts.store, this.#opts.outbox, this.me, this.#peers.routed(namespace).filter((p) => !except.has(p.did)), namespace, batchId, batchRoot, this.now(), (d) => {
      if (d.outcome === "delivered") this.metrics.deliveriesSucceeded++;
      else this.metrics.deliveriesFailed++;
    });
  }

  /** Re-checks pending anchors; batches that became active are announced to their routed peers. */
  async recheckPending(): Promise<void> {
    for (const namespace of this.#config.federation.namespaces.keys()) {
      const result = await reverifyStored({ namespace, outcomes: ["pending"] }, this.importContext(namespace));
      const nowActive = new Set(result.anchors.filter((a) => a.was === "pending" && a.outcome === "verified").map((a) => `${a.batchId}\u0000${a.batchRoot}`));
      for (const key of nowActive) {
        const [batchId, batchRoot] = key.split("\u0000") as [string, string];
        this.#opts.log.info("pending anchor verified", { namespace, batch: batchId });
        await this.announce(namespace, batchId, batchRoot);
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
        store: this.#opts.store,
        sources: (ns) => this.#peers.routed(ns, "serve"),
        pull: (peer, ns, batchId, batchRoot) => pullBatch(this.#opts.client, this.me, this.authContext(), peer, ns, batchId, batchRoot, () => this.now()),
        importContext: (ns) => this.importContext(ns),
      },
      this.#config.federation.namespaces.keys(),
    );
    for (const r of results) {
      if (r.origin !== undefined) this.#opts.log.info("0.1.0 batch now held against its origin's checkpoint", { namespace: r.version.namespace, batch: r.version.batchId, origin: r.origin });
      else this.#opts.log.warn("0.1.0 batch without checkpoint: its receipts are not served until one arrives (run announce again if this node sealed it)", { namespace: r.version.namespace, batch: r.version.batchId, root: r.version.batchRoot, receipts: r.version.receipts, problem: r.problem });
    }
  }

  /** Delivers queued announces whose retry time has come. */
  async deliverOutbox(): Promise<void> {
    await this.#opts.outbox.deliverDue([...this.#config.peers.values()]);
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
