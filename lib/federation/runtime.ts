/**
 * One node, opened once from a loaded configuration: its key, its store, its peer directory,
 * its verifiers and their concurrency limit, the outbound client, the outbox, and the
 * contexts that authentication, import and anti-entropy take. Every command that touches
 * state (`announce`, `sync`, `status`, `verify-online`) and the daemon (`serve`) run on one
 * of these, so a node is assembled in exactly one place (docs/ARCHITECTURE.md §The runtime).
 */
import { witnessKeysFor } from "./witness.js";
import { attributionRules } from "./quorum-report.js";
import type { AnchorVerifier } from "../anchors/endpoints.js";
import { limitConcurrency, type Limiter } from "../anchors/limit.js";
import type { NodeConfig } from "../config/types.js";
import { ArgumentError } from "../errors.js";
import { readKeyFile } from "../identity/key-file.js";
import type { NodeKey } from "../identity/keys.js";
import type { AuthenticateContext } from "../messages/authenticate.js";
import { ReplayCache } from "../messages/replay.js";
import type { ImportContext } from "../pipeline/import.js";
import { NamespaceIndexes } from "../reconcile/namespace-indexes.js";
import { StartupPass } from "./startup-pass.js";
import { openStore, type Store } from "../store/index.js";
import { originKeysFor } from "./checkpoint-trust.js";
import type { Signer } from "./gossip.js";
import { Outbox } from "./outbox.js";
import { resignWith } from "./outbox-refresh.js";
import { restoreReplayWindow, saveReplayWindow } from "./replay-window.js";
import { HORIZON_DOC, ReplayHorizon } from "./replay-horizon.js";
import { PeerClient, type PeerClientOptions } from "./peer-client.js";
import { peerDirectory, type PeerDirectory } from "./peers.js";
import type { SyncContext, SyncProgress } from "./sync.js";
import type { Roster } from "../roster/document.js";
import { applyRoster, rosterChange, type AppliedRoster, type RosterChange } from "../roster/effective.js";
import { highestHeldSerial, readRosters } from "../roster/roster-files.js";
import { observe, selectPeers, type PeerStats, type Purpose } from "./peer-selection.js";
import type { PeerConfig } from "../config/types.js";

/** A roster put in force by NodeRuntime.refreshRoster, for the log line that says so. */
export interface RosterApplication {
  roster: Roster;
  previous?: Roster;
  change: RosterChange;
  denied: AppliedRoster["denied"];
}

/** Endpoint calls in flight at once, per node (docs/ARCHITECTURE.md §The runtime). */
export const VERIFY_CONCURRENCY = 4;

export interface RuntimeOptions {
  /**
   * How the state directory is opened: `read-write` (the default; takes the write lock per
   * write, docs/STATE.md), `read-only` (never writes, never locks), or `none` (no store at all,
   * for commands that only need the identity and the peers).
   */
  state?: "read-write" | "read-only" | "none";
  /**
   * The store's receipt keys: `eager` (the default, what serve and sync reconcile with) or
   * `lazy`, read only if the command needs them (docs/STATE.md §Manifest): a command whose work
   * is one batch does not read every batch file.
   */
  receiptIndex?: "eager" | "lazy";
  /** Whether the anchor verifiers are available (default: whenever state is read-write). */
  verifiers?: boolean;
  /** Timeouts of the outbound client (lib/federation/peer-client.ts). */
  client?: PeerClientOptions;
  /** Unix seconds (default: the system clock). */
  now?: () => number;
}

/**
 * Opens a node from a loaded configuration.
 * @example
 * const node = await openRuntime(config);
 * try { await importBatch(batch, node.importContext("dao:vaultmesh")); } finally { await node.close(); }
 */
export async function openRuntime(config: NodeConfig, options: RuntimeOptions = {}): Promise<NodeRuntime> {
  const state = options.state ?? "read-write";
  const key = await readKeyFile(config.federation.mesh.keyFile);
  const verifiers = options.verifiers ?? state === "read-write";
  // What the store's open reads of every batch file is kept for the reconcile items and the origin-log backfill (docs/STATE.md §Start-up pass).
  const startupPass = state === "none" ? undefined : new StartupPass();
  const store = state === "none" ? undefined : await openStore(config.federation.mesh.stateDir, { ...(state === "read-only" ? { readOnly: true } : {}), ...(options.receiptIndex === undefined ? {} : { receiptIndex: options.receiptIndex }), ...(startupPass === undefined ? {} : { onBatchFileRead: startupPass.hear }) });
  const runtime = new NodeRuntime(config, key, store, verifiers, { ...options, ...(startupPass === undefined ? {} : { startupPass }) });
  // Every command runs with the roster in force, as serve does (docs/FEDERATION_OPERATIONS.md §Running a federation with a roster).
  await runtime.refreshRoster();
  return runtime;
}

export class NodeRuntime {
  readonly key: NodeKey;
  readonly client: PeerClient;
  /** Signed messages already accepted, for the replay check (docs/FEDERATION_PROTOCOL.md §Verification order). */
  readonly replay = new ReplayCache();
  readonly limit: Limiter = limitConcurrency(VERIFY_CONCURRENCY);
  #config: NodeConfig;
  /** The node's own files; #config is this with the roster in force applied. */
  #base: NodeConfig;
  /** Valid held rosters, lowest serial first; the last is in force. */
  #rosters: Roster[] = [];
  #applied: AppliedRoster | undefined;
  /** What this node measured of each peer, for routing policies (lib/federation/peer-selection.ts). */
  readonly peerStats = new Map<string, PeerStats>();
  /** How often a routing policy chose each peer, by "<purpose> <did>" (GET /metrics). */
  readonly selections = new Map<string, number>();
  #peers: PeerDirectory;
  readonly #store: Store | undefined;
  readonly #verifiers: boolean;
  #loaded: Promise<(namespace: string) => AnchorVerifier> | undefined;
  readonly #now: () => number;
  #outbox: Outbox | undefined;
  #indexes: NamespaceIndexes | undefined;
  #horizon: ReplayHorizon | undefined;
  /** The clock skew the replay cache and horizon were last set for (undefined: not yet). */
  #skewInForce: number | undefined;
  /**
   * What the store's open read of each batch file (docs/STATE.md §Start-up pass), for the first
   * `indexes.prepare` and the origin-log backfill; released once the start-up work is done.
   */
  readonly startupPass: StartupPass | undefined;

  /** Use openRuntime(), which reads the key and opens the store first. */
  constructor(config: NodeConfig, key: NodeKey, store: Store | undefined, verifiers: boolean, options: Pick<RuntimeOptions, "client" | "now"> & { startupPass?: StartupPass } = {}) {
    this.startupPass = options.startupPass;
    this.#config = config;
    this.#base = config;
    this.#peers = peerDirectory(config);
    this.key = key;
    this.#store = store;
    this.#verifiers = verifiers;
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
    this.client = new PeerClient(options.client ?? {});
    this.#attribute();
  }

  get config(): NodeConfig {
    return this.#config;
  }

  get peers(): PeerDirectory {
    return this.#peers;
  }

  /** The store; a runtime opened with `state: "none"` has none, and asking for it is a caller's mistake. */
  get store(): Store {
    if (this.#store === undefined) throw new ArgumentError("runtime.store", "this runtime was opened with state: none");
    return this.#store;
  }

  /** This node as the signer of its messages. */
  get me(): Signer {
    return { did: this.#config.federation.mesh.nodeId, privateKey: this.key.privateKey };
  }

  /** The per-peer delivery queue, kept in the store, re-signing stale messages on retry. */
  get outbox(): Outbox {
    this.#outbox ??= new Outbox(this.store, this.client, { refresh: resignWith(this.key.privateKey) });
    return this.#outbox;
  }

  /** Reconciliation indexes of the stored receipts, built per namespace on first use. */
  get indexes(): NamespaceIndexes {
    this.#indexes ??= new NamespaceIndexes(this.store, this.startupPass);
    return this.#indexes;
  }

  now(): number {
    return this.#now();
  }

  /**
   * Per signer, the highest `ts` acted on, saved before acting, and the floors a crash left
   * (docs/FEDERATION_PROTOCOL.md §Replay across restarts). Kept in the store: on a runtime opened
   * without one, its first write throws.
   */
  get horizon(): ReplayHorizon {
    this.#horizon ??= new ReplayHorizon({ save: (value) => this.store.putDoc(HORIZON_DOC, value), now: () => this.now(), skewS: () => this.#config.federation.mesh.clockSkewS });
    return this.#horizon;
  }

  /** Checks for signed messages from peers, against the current peers.yaml and routing. */
  authContext(): AuthenticateContext {
    this.#followSkew();
    const ctx: AuthenticateContext = { peers: this.#peers.known, isRouted: this.#peers.isRouted, now: () => this.now(), skewS: this.#config.federation.mesh.clockSkewS, replay: this.replay, self: this.me.did };
    const horizon = this.#horizon;
    // Answers name the digest of a request this node signed: no floor for them (docs/FEDERATION_PROTOCOL.md §Replay across restarts).
    if (horizon !== undefined) ctx.notBefore = (m) => ("request" in m ? undefined : horizon.notBefore(m.signer));
    return ctx;
  }

  /**
   * Restores the replay window a clean stop saved, or, when the last run crashed before saving
   * it, raises each peer's floor past what that run may have acted on
   * (docs/FEDERATION_PROTOCOL.md §Replay across restarts). The daemon calls it before it listens;
   * returns whether the last run crashed.
   */
  async restoreReplay(): Promise<boolean> {
    const skew = this.#config.federation.mesh.clockSkewS;
    const { crashed } = await restoreReplayWindow(this.store, this.replay, this.horizon, this.now(), skew);
    this.#skewInForce = skew;
    return crashed;
  }

  /** Saves the replay window for the next start (the daemon, after its drain). */
  async saveReplay(): Promise<void> {
    this.#followSkew();
    await saveReplayWindow(this.store, this.replay, this.horizon, this.now(), this.#config.federation.mesh.clockSkewS);
  }

  /**
   * A wider clock-skew window (`mesh.clock_skew_s` raised by a reload) must not re-admit what
   * the narrower one let go of (docs/FEDERATION_PROTOCOL.md §Replay across restarts): remembered
   * digests are kept as much longer, and messages signed before now − the old skew, which may
   * have been accepted and forgotten, are refused from every signer.
   */
  #followSkew(): void {
    const skew = this.#config.federation.mesh.clockSkewS;
    const before = this.#skewInForce;
    this.#skewInForce = skew;
    if (before === undefined || skew <= before) return;
    this.replay.lengthen(skew - before);
    this.horizon.raiseFloor(this.now() - before);
  }

  /** An import context bound to one namespace's verification policy. */
  importContext(namespace: string): ImportContext {
    if (!this.#verifiers) throw new ArgumentError("runtime.importContext", "this runtime was opened without verifiers");
    const verify: ImportContext["verify"] = async (anchor, batchRoot, previous) => (await this.#loadVerifiers())(namespace)(anchor, batchRoot, previous);
    return { store: this.store, verify, limit: this.limit, now: () => this.now(), origins: originKeysFor(this.#config, namespace, { did: this.me.did, publicKey: this.key.publicKey }) };
  }

  /**
   * The verifiers, loaded on the first anchor to verify: they pull in viem, bitcoinjs-lib and
   * node-forge, which `status`, `--help` and an idle daemon do not need (docs/BENCHMARKS.md).
   * The configuration was checked when it was loaded (its certificate files read), so loading
   * them late cannot turn up a configuration error.
   */
  #loadVerifiers(): Promise<(namespace: string) => AnchorVerifier> {
    this.#loaded ??= import("../anchors/endpoints.js").then((m) => m.verifierFor(this.#config));
    return this.#loaded;
  }

  /** What anti-entropy with one peer needs, bound to this node. */
  syncContext(onProgress?: (event: SyncProgress) => void): SyncContext {
    return {
      store: this.store,
      client: this.client,
      me: this.me,
      auth: this.authContext(),
      importContext: (ns) => this.importContext(ns),
      indexes: this.indexes,
      outbox: this.outbox,
      now: () => this.now(),
      witnessKeys: () => witnessKeysFor(this.config, { did: this.me.did, publicKey: this.key.publicKey }),
      ...(onProgress === undefined ? {} : { onProgress }),
    };
  }

  /**
   * Replaces peers.yaml and routing (SIGHUP): a removed peer or key is refused from now on,
   * and the connection pools of removed peers are closed.
   */
  reload(config: NodeConfig): void {
    this.#base = config;
    this.#applyRoster();
  }

  /** The roster in force, if any (docs/FEDERATION_OPERATIONS.md §Running a federation with a roster). */
  get roster(): Roster | undefined {
    return this.#rosters.at(-1);
  }

  /** Every valid roster held, lowest serial first (revocations are read from it). */
  get rosterHistory(): readonly Roster[] {
    return this.#rosters;
  }

  /** What the roster in force made of this node's configuration: routes per namespace, denied members, next keys. */
  get rosterApplied(): AppliedRoster | undefined {
    return this.#applied;
  }

  /**
   * Reads the rosters held in the state directory and puts a higher serial in force at once
   * (a `roster publish` by the CLI, or one a peer offered). Resolves what changed, or undefined.
   */
  async refreshRoster(): Promise<RosterApplication | undefined> {
    if (this.#base.federation.governance === undefined) return undefined;
    // Files are read and their signatures checked only when a higher serial was written.
    if (this.roster !== undefined && (await highestHeldSerial(this.#base.federation.mesh.stateDir)) <= this.roster.serial) return undefined;
    const held = await readRosters(this.#base.federation.mesh.stateDir, this.#base.federation.governance);
    const top = held.valid.at(-1);
    const previous = this.roster;
    // A serial never goes down, even when a file is removed by hand (no rollback).
    if (top === undefined || (previous !== undefined && top.serial <= previous.serial)) return undefined;
    this.#rosters = held.valid;
    this.#applyRoster();
    return { roster: top, ...(previous === undefined ? {} : { previous }), change: rosterChange(previous, top), denied: this.#applied?.denied ?? [] };
  }

  /**
   * The routed peers of `namespace` to use for `purpose`, per the roster's routing policy for it;
   * without one, `peers` unchanged (docs/FEDERATION_OPERATIONS.md §Routing policies).
   */
  select<P extends PeerConfig>(namespace: string, purpose: Purpose, peers: readonly P[]): P[] {
    const policy = this.#applied?.routes.get(namespace)?.routing;
    const chosen = selectPeers(peers, policy, purpose, this.peerStats, Math.random);
    // Pulls are counted when a peer is actually asked (countSelection), the others when chosen.
    if (purpose !== "pull") for (const p of chosen) this.countSelection(purpose, p.did);
    return chosen;
  }

  /** Counts one use of `did` for `purpose` (GET /metrics `vmsh_federation_peer_selected_total`). */
  countSelection(purpose: Purpose, did: string): void {
    this.selections.set(`${purpose} ${did}`, (this.selections.get(`${purpose} ${did}`) ?? 0) + 1);
  }

  /** Records one call to a peer: its latency when it answered, a failure when it did not. */
  observePeer(did: string, result: { ok: boolean; latencyMs?: number }): void {
    observe(this.peerStats, did, result);
  }

  #applyRoster(): void {
    const roster = this.roster;
    this.#applied = roster === undefined ? undefined : applyRoster(this.#base, roster);
    this.#config = this.#applied?.config ?? this.#base;
    this.#peers = peerDirectory(this.#config, this.#applied?.nextKeys);
    void this.client.retain([...this.#config.peers.values()]);
    this.#attribute();
  }

  /** Chooses the attributed claims again, after this node learned that more checkpoints are logged (lib/federation/origin-log.ts). */
  reattribute(): void {
    this.#attribute();
  }

  /** The store serves the attributed claim of a contested root first, per the quorum policies (docs/FEDERATION_SEMANTICS.md §8. Quorum). */
  #attribute(): void {
    this.#store?.setAttribution(attributionRules(this.#config, witnessKeysFor(this.#config, { did: this.#config.federation.mesh.nodeId, publicKey: this.key.publicKey })));
  }

  /** Closes the indexes, the client's connections and the store. */
  async close(): Promise<void> {
    this.#indexes?.close();
    await this.client.close();
    await this.#store?.close();
  }
}
