/**
 * Anti-entropy with one peer (docs/ANTI_ENTROPY.md): range-based reconciliation over signed
 * `POST /federation/reconcile` rounds finds exactly which items (receipts, and the checkpoints
 * and anchor claims of batch versions) each side lacks; what this node lacks is fetched with
 * Request `want` pages and imported through the pipeline; what the peer lacks is announced to
 * it batch by batch (it pulls). The seed's plain `fromTs/toTs/want`
 * requests are here too. Used by the `sync` command and by serve's timer.
 */
import type { KeyObject } from "node:crypto";
import { cosignatureDigest } from "../quorum/merge.js";
import { ItemSkips } from "./item-skips.js";
import { takeCosignatures } from "./witness.js";
import { randomBytes } from "node:crypto";
import type { PeerConfig } from "../config/types.js";
import { ProtocolError } from "../errors.js";
import type { AuthenticateContext, KnownPeer } from "../messages/authenticate.js";
import { messageDigest } from "../messages/canonical.js";
import { LIMITS } from "../messages/limits.js";
import type { Anchor } from "../anchors/anchor.js";
import { claimDigest } from "../conflict/record.js";
import type { Checkpoint } from "../messages/checkpoint.js";
import type { Cosignature } from "../messages/cosignature.js";
import type { Bundle } from "../messages/schema.js";
import { checkpointDigest, itemId, type VersionItem } from "../reconcile/version-items.js";
import { importBundle } from "../pipeline/bundle.js";
import { MAX_CLAIMS_PER_VERSION } from "../pipeline/import.js";
import type { BatchReport, ImportContext } from "../pipeline/import.js";
import { authenticateReconcile, parseReconcile, reconcileParts, signReconcile } from "../reconcile/message.js";
import { seededRandom, type ReconcileOptions } from "../reconcile/limits.js";
import { initiate, type ReconcilePart } from "../reconcile/session.js";
import type { Store } from "../store/index.js";
import { announceToPeers, pullBatch, requestBundle, versionPages, type AnnounceOutbox, type GossipClient, type LeavesAs, type RequestSelector, type Signer } from "./gossip.js";
import { recordSync } from "./sync-state.js";
import type { NamespaceIndexes } from "../reconcile/namespace-indexes.js";

/**
 * Ids per `want` page when catching up: 1,000 receipts (about 1 MB) answer well inside the
 * timeouts on a busy machine and keep both sides' memory low (docs/ANTI_ENTROPY.md §Catching up).
 */
export const WANT_PAGE = 1000;

/** Seconds a round or page waits in all for a peer's work budget (its 429 Retry-After) before the sync gives up. */
export const RATE_LIMIT_PATIENCE_S = 30;

/** The reconcile limits both sides use. */
export function reconcileOptions(random: () => number = seededRandom(randomBytes(16))): ReconcileOptions {
  return { random, maxMessageBytes: LIMITS.maxReconcilePayloadBytes };
}

export interface SyncContext {
  store: Store;
  client: GossipClient;
  me: Signer;
  /** For checking the peer's answers (skew, replay, signature). */
  auth: AuthenticateContext;
  importContext(namespace: string): ImportContext;
  indexes: NamespaceIndexes;
  outbox: AnnounceOutbox;
  now(): number;
  /** Keys of the witnesses whose cosignatures this node keeps (docs/FEDERATION_SEMANTICS.md §8. Quorum); none when absent. */
  witnessKeys?: () => ReadonlyMap<string, KeyObject>;
  /** Called as receipts are fetched (for a progress bar). */
  onProgress?: (event: SyncProgress) => void;
  /** Called with the witness cosignatures a session stored (serve relays their versions, docs/ANTI_ENTROPY.md §Attachment items). */
  onCosignaturesStored?: (stored: readonly Cosignature[]) => void;
}

/** One step of a sync with one peer, for a progress display. */
export interface SyncProgress {
  peer: string;
  phase: "reconcile" | "fetch" | "import";
  done: number;
  total: number;
}

export interface PeerSyncReport {
  peer: string;
  namespace: string;
  ok: boolean;
  error?: string;
  /** Receipts this node held when the comparison started. */
  compared: number;
  /** Receipts the peer has that this node lacked (ids the peer did not answer as an item count here). */
  missingHere: number;
  /** Receipts this node has that the peer lacked (announced to it). */
  missingThere: number;
  /** Checkpoints and anchor claims the peer has that this node lacked, as answered (docs/ANTI_ENTROPY.md §Attachment items). */
  itemsHere: number;
  /** Checkpoints and anchor claims this node has that the peer lacked (their versions are announced to it). */
  itemsThere: number;
  /** Items in the peer's answers that were not taken: not asked for, of a version this node does not hold, or claims past the cap (`claimsOverCap`). */
  itemsRefused: number;
  /**
   * Claims asked for by item id and refused unverified because their version already holds
   * MAX_CLAIMS_PER_VERSION claims, whatever their verdicts (docs/ANTI_ENTROPY.md §Attachment items).
   */
  claimsOverCap: number;
  /** Items the peer holds that this node knows and does not fetch: cosignatures it refused for a signer it does not list (docs/ANTI_ENTROPY.md §Attachment items). */
  itemsKnown: number;
  fetched: number;
  imported: number;
  /** Batch versions imported but held: no verified anchor yet. */
  held: number;
  /** Receipts or anchors rejected while importing. */
  rejected: number;
  /** Bytes sent plus received, request and answer bodies. */
  bytes: number;
  roundTrips: number;
  /** Batches announced to the peer because it lacked receipts of them. */
  announced: number;
}

function emptyReport(peer: string, namespace: string, compared: number): PeerSyncReport {
  return { peer, namespace, ok: true, compared, missingHere: 0, missingThere: 0, itemsHere: 0, itemsThere: 0, itemsRefused: 0, claimsOverCap: 0, itemsKnown: 0, fetched: 0, imported: 0, held: 0, rejected: 0, bytes: 0, roundTrips: 0, announced: 0 };
}

/** An auth context that accepts answers from `peer` alone: it answered a question we put to it. */
function answerContext(ctx: SyncContext, peer: PeerConfig): AuthenticateContext {
  const known = ctx.auth.peers.get(peer.did);
  const only = new Map<string, KnownPeer>();
  if (known !== undefined) only.set(peer.did, { ...known, roles: new Set(["request", "serve", "announce"]) });
  return { ...ctx.auth, peers: only, isRouted: () => true };
}

/** Posts and counts bytes; throws ProtocolError PEER_FAILED when the peer does not answer 2xx. */
async function post(ctx: SyncContext, report: PeerSyncReport, peer: PeerConfig, path: string, message: unknown, maxResponseBytes: number): Promise<unknown> {
  report.roundTrips++;
  report.bytes += Buffer.byteLength(JSON.stringify(message));
  const r = await ctx.client.postJson(peer, path, message, { maxResponseBytes, waitOnRateLimitS: RATE_LIMIT_PATIENCE_S });
  if (!r.ok) throw new ProtocolError("PEER_FAILED", 502, `${peer.did} answered ${path} with ${r.status ?? "no status"} ${r.code}: ${r.message}`);
  report.bytes += r.bytes;
  return r.body;
}

/** Runs the reconcile rounds; returns ids this node needs and the keys the peer lacks. */
async function reconcile(ctx: SyncContext, report: PeerSyncReport, peer: PeerConfig, namespace: string): Promise<{ need: string[]; have: string[] }> {
  await ctx.indexes.prepare(namespace);
  const index = ctx.indexes.get(namespace);
  const { message, session } = initiate(new Map([[namespace, index]]), reconcileOptions());
  let parts: ReconcilePart[] | undefined = message;
  const check = answerContext(ctx, peer);
  while (parts !== undefined && parts.length > 0) {
    let ts = ctx.now();
    let signed = signReconcile({ aud: peer.did, round: session.round, parts, ts, signer: ctx.me.did }, ctx.me.privateKey);
    let body: unknown;
    for (let attempt = 0; ; attempt++) {
      try {
        body = await post(ctx, report, peer, "/federation/reconcile", signed, LIMITS.maxReconcileBodyBytes);
        break;
      } catch (e) {
        // 409 REPLAY: another process of this node sent the same round in the same second; sign it a second later.
        if (attempt >= 2 || !/ 409 REPLAY:/.test((e as Error).message)) throw e;
        signed = signReconcile({ aud: peer.did, round: session.round, parts, ts: ++ts, signer: ctx.me.did }, ctx.me.privateKey);
      }
    }
    let reply;
    try {
      reply = parseReconcile(body, LIMITS.maxReconcilePayloadBytes);
    } catch (e) {
      throw new ProtocolError("PEER_RECONCILE_INVALID", 502, `${peer.did} sent a malformed reconcile reply: ${(e as Error).message}`);
    }
    if (reply.signer !== peer.did || reply.request !== messageDigest(signed)) throw new ProtocolError("PEER_RECONCILE_INVALID", 502, `reconcile reply from ${peer.did} does not answer this node's message`);
    const auth = authenticateReconcile(reply, check);
    if (!auth.ok) throw new ProtocolError(auth.error.code, 502, `reconcile reply from ${peer.did} refused: ${auth.error.message}`);
    const r = session.receive(reconcileParts(reply));
    if (r.error !== undefined) throw new ProtocolError("PEER_RECONCILE_FAILED", 502, `reconcile with ${peer.did} ended: ${r.error}`);
    ctx.onProgress?.({ peer: peer.did, phase: "reconcile", done: session.round, total: session.round + (r.done ? 0 : 1) });
    parts = r.next;
  }
  const delta = session.deltas().find((d) => d.namespace === namespace);
  return { need: (delta?.need ?? []).map((k) => k.id), have: (delta?.have ?? []).map((k) => k.id) };
}

/** Requests and checks one Bundle, counting the round trip and its bytes. */
async function fetchBundle(ctx: SyncContext, report: PeerSyncReport, peer: PeerConfig, selector: RequestSelector, leaves: LeavesAs = "receipts"): Promise<Bundle> {
  report.roundTrips++;
  const fetched = await requestBundle(ctx.client, ctx.me, ctx.auth, peer, selector, ctx.now, leaves);
  report.bytes += fetched.sentBytes + fetched.receivedBytes;
  return fetched.bundle;
}

function tally(report: PeerSyncReport, reports: readonly BatchReport[]): void {
  for (const b of reports) {
    report.imported += b.receiptsAdded;
    if (b.status === "held") report.held++;
    report.rejected += b.rejectedReceipts.length + b.anchors.filter((a) => a.outcome === "rejected" && a.checked).length;
  }
}

/**
 * Imports Bundles; with `asked`, only receipts whose ids were asked for: a peer cannot slip
 * other receipts in with an answer (docs/FEDERATION_SEMANTICS.md §6. Threat model).
 */
async function importBundles(ctx: SyncContext, report: PeerSyncReport, namespace: string, bundles: readonly Bundle[], asked?: ReadonlySet<string>): Promise<void> {
  for (const bundle of bundles) {
    if (asked !== undefined) {
      await importAnswer(ctx, report, namespace, bundle, asked);
      continue;
    }
    report.fetched += bundle.receipts.length;
    tally(report, await importBundle(namespace, bundle.receipts, bundle.anchors, ctx.importContext(namespace), bundle.checkpoints));
  }
}

/** Versions held without all their receipts that one round pulls whole from the peer (docs/ANTI_ENTROPY.md §Attachment items). */
const MAX_REPAIRS_PER_ROUND = 16;

/** Attachments asked for by item id whose version this node did not hold yet when they arrived. */
interface Deferred {
  anchors: Anchor[];
  checkpoints: Checkpoint[];
}

const versionKey = (v: { batchId: string; batchRoot: string }): string => `${v.batchId}\u0000${v.batchRoot}`;

/**
 * Imports the answer to a `want` page (docs/ANTI_ENTROPY.md §Attachment items): the receipts asked
 * for with their versions' checkpoints and claims, and the checkpoints and claims asked for by
 * item id, for versions this node holds. Anything else is refused: a peer can neither slip in
 * items that were not asked for nor make this node take claims of a version it does not hold.
 * An asked item whose version arrives with a later page waits in `deferred`.
 */
async function importAnswer(ctx: SyncContext, report: PeerSyncReport, namespace: string, bundle: Bundle, asked: ReadonlySet<string>, deferred?: Deferred, refused?: Map<string, string>): Promise<void> {
  const receipts = bundle.receipts.filter((r) => asked.has(r.id));
  report.fetched += receipts.length;
  const carried = new Set(receipts.map(versionKey));
  const held = new Set(ctx.store.listBatches(namespace).map(versionKey));
  const answered = new Set<string>();
  const take = <T extends { batchId: string; batchRoot: string }>(x: T, id: string, later: T[] | undefined): boolean => {
    const fresh = asked.has(id) && !answered.has(id);
    if (fresh) {
      answered.add(id);
      report.itemsHere++;
    }
    // Claims and checkpoints ride with the receipts of their version, as in any Bundle.
    if (carried.has(versionKey(x))) return true;
    if (!fresh) {
      if (!asked.has(id)) report.itemsRefused++;
      return false;
    }
    if (held.has(versionKey(x))) return true;
    if (later !== undefined) later.push(x);
    else report.itemsRefused++;
    return false;
  };
  // A claim on the wire does not name its version's origin: it is an asked item when its id under
  // one of the root's origins (the Bundle's checkpoints, the versions held here) was asked for.
  const originsOf = (a: Anchor): Array<string | undefined> => {
    const origins = new Set<string | undefined>(bundle.checkpoints.filter((c) => c.batchId === a.batchId && c.batchRoot === a.batchRoot).map((c) => c.origin));
    for (const v of ctx.store.batchVersions(namespace, a.batchId, a.batchRoot)) origins.add(v.origin);
    return [...origins];
  };
  const claimItemId = (a: Anchor): string => {
    const ids = originsOf(a).map((o) => itemId("claim", a.batchId, a.batchRoot, o, claimDigest(a)));
    return ids.find((id) => asked.has(id)) ?? ids[0] ?? itemId("claim", a.batchId, a.batchRoot, undefined, claimDigest(a));
  };
  const taken = bundle.anchors.filter((a) => take(a, claimItemId(a), deferred?.anchors));
  // Claims riding with their version's receipts are bounded by the import; those taken by item id, by the cap.
  const anchors = [...taken.filter((a) => carried.has(versionKey(a))), ...withinClaimCap(ctx, report, namespace, taken.filter((a) => !carried.has(versionKey(a))))];
  // A `complete` item asked for is answered by its version's checkpoint; the receipts come by id.
  const completes = new Set<Checkpoint>();
  for (const c of bundle.checkpoints) {
    const complete = itemId("complete", c.batchId, c.batchRoot, c.origin, checkpointDigest(c));
    if (!asked.has(complete)) continue;
    completes.add(c);
    if (!answered.has(complete)) {
      answered.add(complete);
      report.itemsHere++;
    }
  }
  const checkpoints = bundle.checkpoints.filter((c) => {
    if (c.namespace !== namespace) return false;
    const id = itemId("checkpoint", c.batchId, c.batchRoot, c.origin, checkpointDigest(c));
    // The answer to a `complete` item only: nothing to take unless its receipts came along.
    if (completes.has(c) && !asked.has(id)) return carried.has(versionKey(c));
    return take(c, id, deferred?.checkpoints);
  });
  // Cosignatures are taken after the versions they name are stored, each checked against its witness key.
  const witnessKeys = ctx.witnessKeys?.() ?? new Map<string, KeyObject>();
  const cosignatures = (bundle.cosignatures ?? []).filter((c) => {
    const id = itemId("cosignature", c.batchId, c.batchRoot, c.origin, cosignatureDigest(c));
    if (c.namespace !== namespace || !take(c, id, undefined)) return false;
    // One this node drops (its signer is no witness here) is remembered, not fetched every round.
    if (!witnessKeys.has(c.signer)) refused?.set(id, c.signer);
    return true;
  });
  if (receipts.length + anchors.length + checkpoints.length > 0) tally(report, await importBundle(namespace, receipts, anchors, ctx.importContext(namespace), checkpoints));
  if (cosignatures.length > 0 && ctx.witnessKeys !== undefined) {
    // Taken first: an optional call would skip evaluating its argument when there is no callback.
    const { stored } = await takeCosignatures(ctx.store, witnessKeys, namespace, cosignatures);
    ctx.onCosignaturesStored?.(stored);
  }
}

/**
 * Claims taken by item id, as far as their versions have room: a version holding
 * MAX_CLAIMS_PER_VERSION claims, whatever their verdicts, takes no more this way, and those are
 * refused before any verification (`claimsOverCap`). Every stored claim is an item, so a peer
 * pushing made-up claims costs this node at most the cap of verifications per version, and a
 * claim taken this way never evicts another (docs/ANTI_ENTROPY.md §Attachment items).
 */
function withinClaimCap(ctx: SyncContext, report: PeerSyncReport, namespace: string, anchors: readonly Anchor[]): Anchor[] {
  const held = new Map<string, number>();
  return anchors.filter((a) => {
    const key = versionKey(a);
    const n = held.get(key) ?? Math.max(0, ...ctx.store.batchVersions(namespace, a.batchId, a.batchRoot).map((v) => v.anchorCount));
    if (n >= MAX_CLAIMS_PER_VERSION) {
      // Answered, but not taken: the item stays a difference and is asked for again next round.
      report.itemsHere--;
      report.itemsRefused++;
      report.claimsOverCap++;
      return false;
    }
    held.set(key, n + 1);
    return true;
  });
}

/** Imports deferred attachments whose versions are held now; the rest are refused. */
async function importDeferred(ctx: SyncContext, report: PeerSyncReport, namespace: string, deferred: Deferred): Promise<void> {
  const held = new Set(ctx.store.listBatches(namespace).map(versionKey));
  const anchors = withinClaimCap(ctx, report, namespace, deferred.anchors.filter((a) => held.has(versionKey(a))));
  const checkpoints = deferred.checkpoints.filter((c) => held.has(versionKey(c)));
  report.itemsRefused += deferred.anchors.filter((a) => !held.has(versionKey(a))).length + deferred.checkpoints.length - checkpoints.length;
  if (anchors.length + checkpoints.length > 0) tally(report, await importBundle(namespace, [], anchors, ctx.importContext(namespace), checkpoints));
}

/**
 * Reconciles `namespace` with `peer`, fetches and imports what is missing here, and announces
 * to the peer the batches it lacks. Never throws for the peer's faults: they end up in `error`.
 * @example const r = await syncWithPeer(ctx, peer, "dao:vaultmesh"); console.log(r.missingHere, r.bytes)
 */
export async function syncWithPeer(ctx: SyncContext, peer: PeerConfig, namespace: string): Promise<PeerSyncReport> {
  const report = emptyReport(peer.did, namespace, ctx.store.receiptCount(namespace));
  try {
    // A node with nothing here takes whole versions as leaves first; reconciling then finds the rest (docs/ANTI_ENTROPY.md §Catching up).
    if (report.compared === 0) await catchUpByLeaves(ctx, report, peer, namespace);
    // What the leaves brought counts as found missing here, receipts and items alike.
    const [byLeaves, itemsByLeaves] = [report.fetched, report.itemsHere];
    const found = await reconcile(ctx, report, peer, namespace);
    const have = found.have;
    const skips = await ItemSkips.load(ctx.store, namespace);
    const witnessKeys = ctx.witnessKeys?.();
    const refused = new Map<string, string>();
    // A version held here without all its receipts, which the peer holds whole, is pulled from it.
    const repairs = found.need.map((id) => ctx.indexes.incomplete(namespace, id)).filter((v): v is VersionItem => v !== undefined);
    // Nor is a cosignature this node refused for a signer it still does not list (lib/federation/item-skips.ts).
    const need = found.need.filter((id) => !ctx.indexes.heldOnly(namespace, id) && !skips.refusedStill(id, (signer) => witnessKeys?.has(signer) === true));
    report.itemsKnown = found.need.length - need.length - repairs.length;
    const repaired = repairs.slice(0, MAX_REPAIRS_PER_ROUND);
    for (const v of repaired) {
      // The version whole as its leaves when the peer sends it so: the store keeps it so (docs/STATE.md §Leaves form).
      const bundles = await pullBatch(ctx.client, ctx.me, ctx.auth, peer, namespace, v.batchId, v.batchRoot, () => ctx.now(), v.origin, "leaves");
      const checkpoints = bundles.flatMap((b) => b.checkpoints).filter((c) => c.origin === v.origin && c.batchId === v.batchId && c.batchRoot === v.batchRoot);
      const pages = versionPages(bundles, v.batchId, v.batchRoot);
      const receipts = pages.receipts.filter((r) => r.ts === v.ts);
      const leaves = pages.leaves.filter((l) => l.checkpoint.origin === v.origin && l.checkpoint.createdAt === v.ts);
      report.fetched += receipts.length + leaves.reduce((n, l) => n + l.checkpoint.size, 0);
      report.itemsHere++;
      tally(report, await importBundle(namespace, receipts, [], ctx.importContext(namespace), checkpoints, leaves));
    }
    const deferred: Deferred = { anchors: [], checkpoints: [] };
    for (let i = 0; i < need.length; i += WANT_PAGE) {
      const want = need.slice(i, i + WANT_PAGE);
      const bundle = await fetchBundle(ctx, report, peer, { namespace, want });
      // A peer that claimed ids it cannot serve has simply sent fewer: nothing else to do with them.
      await importAnswer(ctx, report, namespace, bundle, new Set(want), deferred, refused);
      ctx.onProgress?.({ peer: peer.did, phase: "fetch", done: Math.min(i + want.length, need.length), total: need.length });
    }
    await importDeferred(ctx, report, namespace, deferred);
    // The peer's ids are told apart only by its answers: those answered as items are not receipts.
    report.missingHere = byLeaves + need.length - (report.itemsHere - itemsByLeaves - repaired.length) - report.claimsOverCap;
    const haveItems = ctx.indexes.items(namespace, have);
    // A cosignature the peer still lacks after one offer is one it drops (its signer is no witness
    // there): not counted, so a round with nothing new closes no gap.
    const lacking = haveItems.filter((i) => i.kind === "cosignature").map((i) => i.id);
    report.itemsThere = haveItems.filter((i) => !(i.kind === "cosignature" && skips.offeredTo(peer.did, i.id))).length;
    report.missingThere = have.length - haveItems.length;
    if (have.length > 0) report.announced = await announceMissing(ctx, peer, namespace, have, haveItems, (id) => skips.offeredTo(peer.did, id));
    await skips.save(refused, peer.did, lacking);
    await recordSync(ctx.store, peer.did, namespace, ctx.now());
  } catch (e) {
    report.ok = false;
    report.error = (e as Error).message;
  }
  return report;
}

/** Range pages one catch-up by leaves asks for at most: 10^4 pages of up to LIMITS.maxLeavesPerBundle leaves. */
const MAX_LEAF_PAGES = 10_000;

/**
 * Catch-up of a node holding nothing in `namespace` (docs/ANTI_ENTROPY.md §Catching up): Requests
 * by time range, each answered with whole batch versions as leaves and their checkpoints
 * (docs/FEDERATION_PROTOCOL.md §Leaves), imported page by page, the next page from the last
 * sealing time received, asked for while the page before is imported. Sending ids in reconcile rounds and again in `want` pages would cost
 * more than the leaves themselves. Ends when a page brings no new version, or at once when the
 * peer answers with receipts and paths (a peer before 0.3.0): what was received is imported either way.
 */
async function catchUpByLeaves(ctx: SyncContext, report: PeerSyncReport, peer: PeerConfig, namespace: string): Promise<void> {
  const seen = new Set<string>();
  // The leaves stay leaves: their roots are checked as each page arrives, and the store keeps each
  // version so, deriving paths only when a proof is read (docs/STATE.md §Leaves form).
  const ask = (fromTs: number | undefined): Promise<Bundle> => fetchBundle(ctx, report, peer, { namespace, ...(fromTs === undefined ? {} : { fromTs }) }, "leaves");
  let next: Promise<Bundle> | undefined = ask(undefined);
  for (let page = 0; page < MAX_LEAF_PAGES && next !== undefined; page++) {
    const bundle: Bundle = await next;
    next = undefined;
    const fresh = (bundle.leaves ?? []).map((l) => bundle.checkpoints[l.checkpoint]!).filter((c) => !seen.has(`${c.batchId}\u0000${c.batchRoot}\u0000${c.origin}`));
    for (const c of fresh) seen.add(`${c.batchId}\u0000${c.batchRoot}\u0000${c.origin}`);
    if (bundle.leaves !== undefined && fresh.length > 0) {
      // The next page is asked for while this one is imported: the peer builds it meanwhile.
      next = ask(Math.max(...fresh.map((c) => c.createdAt)));
      // A failure surfaces when it is awaited; meanwhile it must not count as unhandled.
      next.catch(() => undefined);
    }
    const keep = new Set(fresh.map((c) => `${c.batchId}\u0000${c.batchRoot}\u0000${c.createdAt}`));
    const receipts = bundle.receipts.filter((r) => keep.has(`${r.batchId}\u0000${r.batchRoot}\u0000${r.ts}`) || bundle.leaves === undefined);
    const firstOf = new Set<Checkpoint>(fresh);
    const leaves = (bundle.leaves ?? []).map((l) => ({ checkpoint: bundle.checkpoints[l.checkpoint]!, leaves: l.leaves })).filter((l) => firstOf.delete(l.checkpoint));
    report.fetched += receipts.length + leaves.reduce((n, l) => n + l.checkpoint.size, 0);
    // Each new version brings its checkpoint, its complete mark and its claims as items (docs/ANTI_ENTROPY.md §Attachment items).
    const versions = new Set(fresh.map((c) => `${c.batchId}\u0000${c.batchRoot}`));
    // Only the claims and checkpoints of the versions the page brings whole were asked for: a
    // peer cannot slip others in with a page (docs/FEDERATION_SEMANTICS.md §6. Threat model).
    const anchors = bundle.anchors.filter((a) => versions.has(`${a.batchId}\u0000${a.batchRoot}`));
    const checkpoints = bundle.checkpoints.filter((c) => versions.has(`${c.batchId}\u0000${c.batchRoot}`));
    report.itemsHere += 2 * fresh.length + anchors.length;
    if (receipts.length + leaves.length > 0) tally(report, await importBundle(namespace, receipts, anchors, ctx.importContext(namespace), checkpoints, leaves));
    const witnessKeys = ctx.witnessKeys?.();
    if (witnessKeys !== undefined && (bundle.cosignatures ?? []).length > 0) {
      const { stored } = await takeCosignatures(ctx.store, witnessKeys, namespace, (bundle.cosignatures ?? []).filter((c) => c.namespace === namespace));
      ctx.onCosignaturesStored?.(stored);
    }
    ctx.onProgress?.({ peer: peer.did, phase: "fetch", done: report.fetched, total: report.fetched });
  }
  // A page asked for but not awaited (the page limit) is still answered; wait for it so no call outlives the sync.
  await next?.catch(() => undefined);
}

/**
 * Announces, to `peer`, every stored batch version holding one of `ids` or one of `items` it
 * lacks that this node vouches for: a checkpoint, a complete mark, a claim verified here, or a
 * witness's cosignature not offered to it before (`offered`).
 */
async function announceMissing(ctx: SyncContext, peer: PeerConfig, namespace: string, ids: readonly string[], items: ReadonlyArray<VersionItem>, offered: (id: string) => boolean = () => false): Promise<number> {
  const versions = new Map<string, { batchId: string; batchRoot: string; origin?: string }>();
  const add = (v: { batchId: string; batchRoot: string; origin?: string }) => {
    if (v.origin !== undefined) versions.set(`${v.batchId}\u0000${v.batchRoot}\u0000${v.origin}`, { batchId: v.batchId, batchRoot: v.batchRoot, origin: v.origin });
  };
  for (const item of items) if (item.kind === "checkpoint" || item.kind === "complete") add(item);
  // Of a version the peer holds, what it lacks goes to it now rather than at its own next round,
  // which a peer just back from a partition, and short of CPU, may be slow to run
  // (docs/ANTI_ENTROPY.md §Attachment items, "Pushing"). Only what this node vouches for: a claim
  // it verified (never the others, or two nodes holding different unverified claims past the
  // cap would trade them every round) and a cosignature offered once (a peer that does not list
  // its witness drops it, and is not sent it again).
  for (const item of items) {
    if (item.origin === undefined || versions.has(`${item.batchId}\u0000${item.batchRoot}\u0000${item.origin}`)) continue;
    if (item.kind === "cosignature" && !offered(item.id)) add(item);
    else if (item.kind === "claim") {
      const version = await ctx.store.getBatch(namespace, item.batchId, item.batchRoot, item.origin, { cached: true });
      if (version?.anchors.some((a) => a.outcome === "verified" && (a.digest ?? claimDigest(a)) === item.digest) === true) add(item);
    }
  }
  const itemIds = new Set(items.map((i) => i.id));
  // Every version holding the id, not only the one whose copy is served: a peer that has one
  // origin's copy never asks for another origin's version of the root (docs/STATE.md §Layout).
  for (const v of ids.filter((id) => !itemIds.has(id)).flatMap((id) => ctx.store.receiptVersions(namespace, id))) add(v);
  let sent = 0;
  for (const v of versions.values()) {
    const d = await announceToPeers(ctx.store, ctx.outbox, ctx.me, [peer], namespace, v.batchId, v.batchRoot, ctx.now(), undefined, v.origin);
    sent += d.length;
  }
  return sent;
}

/**
 * The seed's plain request: receipts by `fromTs/toTs` and/or `want`, page after page, imported.
 * @example await fetchRange(ctx, peer, "dao:vaultmesh", { fromTs: 1700000000, toTs: 1700086400 })
 */
export async function fetchRange(ctx: SyncContext, peer: PeerConfig, namespace: string, selector: { fromTs?: number; toTs?: number; want?: string[] }): Promise<PeerSyncReport> {
  const report = emptyReport(peer.did, namespace, ctx.store.receiptCount(namespace));
  try {
    if (selector.want !== undefined) {
      for (let i = 0; i < selector.want.length; i += LIMITS.maxWant) {
        const want = selector.want.slice(i, i + LIMITS.maxWant);
        const bundle = await fetchBundle(ctx, report, peer, { namespace, want, ...range(selector) });
        await importBundles(ctx, report, namespace, [bundle], new Set(want));
      }
      return report;
    }
    // Pages by ts: a full page means more may follow from its last ts on (ids already seen are skipped).
    let fromTs = selector.fromTs;
    const seen = new Set<string>();
    for (let page = 0; page < 10_000; page++) {
      const bundle = await fetchBundle(ctx, report, peer, { namespace, ...range({ fromTs, toTs: selector.toTs }) });
      const fresh = bundle.receipts.filter((r) => !seen.has(r.id));
      for (const r of fresh) seen.add(r.id);
      await importBundles(ctx, report, namespace, [{ ...bundle, receipts: fresh }]);
      if (bundle.receipts.length < LIMITS.maxReceiptsPerBundle || fresh.length === 0) break;
      fromTs = bundle.receipts[bundle.receipts.length - 1]!.ts;
    }
  } catch (e) {
    report.ok = false;
    report.error = (e as Error).message;
  }
  return report;
}

function range(s: { fromTs?: number | undefined; toTs?: number | undefined }): { fromTs?: number; toTs?: number } {
  return { ...(s.fromTs === undefined ? {} : { fromTs: s.fromTs }), ...(s.toTs === undefined ? {} : { toTs: s.toTs }) };
}
