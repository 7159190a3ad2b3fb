/**
 * Gossip between nodes (docs/FEDERATION_PROTOCOL.md §Transport): building this node's signed Announce for a stored
 * batch, and pulling a batch's Bundle from a serving peer with every check a Bundle must
 * pass (schema, signer is the peer asked, role `serve`, routing, skew, replay, signature,
 * and that it answers our Request).
 */
import type { KeyObject } from "node:crypto";
import { compareAnchors } from "../conflict/index.js";
import type { PeerConfig } from "../config/types.js";
import { ProtocolError } from "../errors.js";
import { authenticate, signMessage, type AuthenticateContext } from "../messages/authenticate.js";
import { canonicalJson, messageDigest } from "../messages/canonical.js";
import type { Checkpoint } from "../messages/checkpoint.js";
import { LIMITS } from "../messages/limits.js";
import { expandLeaves } from "../messages/leaves.js";
import { parseBundle, type Announce, type Bundle, type Request } from "../messages/schema.js";
import type { Receipt } from "../receipt.js";
import type { Store } from "../store/index.js";
import { leavesRootProblem } from "../store/leaves.js";
import { wireAnchor } from "./answer-request.js";
import type { DeliverNowResult, Outbox } from "./outbox.js";

/** Outbound delivery with retries that survive restarts. */
export type AnnounceOutbox = Pick<Outbox, "deliverNow" | "deliverDue">;

/** What happened to one peer's copy of an Announce. */
export interface Delivery {
  peer: string;
  outcome: DeliverNowResult["outcome"];
  reason?: string;
}

/** The outbound HTTP client the gossip needs (lib/federation/peer-client.ts). */
export interface GossipClient {
  postJson(peer: { did: string; url: string }, path: string, message: unknown, options?: { maxResponseBytes?: number; waitOnRateLimitS?: number; compressBody?: boolean }): Promise<
    { ok: true; status: number; body: unknown; bytes: number; sentBytes?: number } | { ok: false; status?: number; code: string; message: string; retryable: boolean; retryAfterS?: number }
  >;
}

export interface Signer {
  did: string;
  privateKey: KeyObject;
}

/**
 * This node's Announce of a stored batch version: its origin's checkpoint and its non-rejected
 * anchors, strongest first, at most 16, and the witness cosignatures held for the batch id (this
 * version's first; message version 3 then, docs/FEDERATION_PROTOCOL.md §Cosignature). Undefined
 * when the version has no anchor or no checkpoint.
 * @example const a = await buildAnnounce(store, me, "dao:vaultmesh", "b1", root, now)
 */
export async function buildAnnounce(store: Store, me: Signer, namespace: string, batchId: string, batchRoot: string, ts: number, aud: string, origin?: string): Promise<Announce | undefined> {
  // The origin's checkpoint travels unchanged; a 0.1.0 version without one is not announced (docs/STATE.md).
  // The versions come preferred first (docs/STATE.md §Layout): without `origin`, the root's
  // version served first (active) is the one announced.
  const versions = await store.getBatchVersions(namespace, batchId);
  const version = versions.find((v) => v.batchRoot === batchRoot && (origin === undefined || v.checkpoint?.origin === origin));
  const checkpoint = version?.checkpoint;
  if (checkpoint === undefined) return undefined;
  // Cosignatures of every version of the batch id travel, this version's first: another
  // version's are dispute evidence (docs/FEDERATION_SEMANTICS.md §8. Quorum).
  const cosignatures = [version!, ...versions.filter((v) => v !== version)].flatMap((v) => v.cosignatures ?? []).slice(0, LIMITS.maxCosignaturesPerAnnounce);
  const anchors = version!.anchors
    .filter((a) => a.batchRoot === batchRoot && a.outcome !== "rejected")
    .sort((a, b) => (a.outcome === b.outcome ? compareAnchors(a, b) : a.outcome === "verified" ? -1 : 1))
    .slice(0, LIMITS.maxAnchorsPerAnnounce)
    .map(wireAnchor);
  if (anchors.length === 0) return undefined;
  const unsigned = cosignatures.length === 0 ? { type: "announce" as const, v: 2 as const, namespace, aud, batchId, batchRoot, checkpoint, anchors, ts, signer: me.did } : { type: "announce" as const, v: 3 as const, namespace, aud, batchId, batchRoot, checkpoint, anchors, cosignatures, ts, signer: me.did };
  return signMessage<Announce>(unsigned, me.privateKey);
}

/**
 * Checks a peer's answer to `request` as a Bundle: its schema, that the peer asked signed it,
 * that it answers this very request for the same namespace, and the authentication chain (role
 * `serve`, routing, skew, replay, signature). Throws ProtocolError (502) naming the failure.
 * @example const bundle = checkBundle(answer.body, peer, request, auth)
 */
export function checkBundle(body: unknown, peer: PeerConfig, request: Request, auth: AuthenticateContext, leaves: LeavesAs = "receipts"): Bundle {
  let bundle: Bundle;
  try {
    bundle = parseBundle(body);
  } catch (e) {
    throw new ProtocolError("PEER_BUNDLE_INVALID", 502, `${peer.did} sent a malformed bundle: ${(e as Error).message}`);
  }
  if (bundle.signer !== peer.did) throw new ProtocolError("PEER_BUNDLE_INVALID", 502, `bundle from ${peer.did} is signed by ${bundle.signer}`);
  if (bundle.namespace !== request.namespace) throw new ProtocolError("PEER_BUNDLE_INVALID", 502, `bundle from ${peer.did} is for ${bundle.namespace}, asked for ${request.namespace}`);
  if (bundle.request !== messageDigest(request)) throw new ProtocolError("PEER_BUNDLE_INVALID", 502, `bundle from ${peer.did} does not answer this node's request`);
  const checked = authenticate(bundle, auth);
  if (!checked.ok) throw new ProtocolError(checked.error.code, 502, `bundle from ${peer.did} refused: ${checked.error.message}`);
  if (bundle.leaves === undefined || bundle.leaves.length === 0) return bundle;
  if (leaves === "leaves") {
    // Kept as leaves for a store that takes them so (docs/STATE.md §Leaves form): each tree is still
    // rebuilt here and its root checked, so one mismatch refuses the Bundle before anything is stored.
    bundle.leaves.forEach((set, i) => {
      const cp = bundle.checkpoints[set.checkpoint]!;
      const problem = leavesRootProblem(set.leaves, cp);
      if (problem !== undefined) throw new ProtocolError("PEER_LEAVES_MISMATCH", 502, `bundle from ${peer.did} refused: bundle.leaves[${i}]: ${problem}; the bundle is refused whole`);
    });
    return bundle;
  }
  // Whole versions as leaves (docs/FEDERATION_PROTOCOL.md §Leaves): each tree rebuilt here, its
  // root checked against the checkpoint, every receipt's path derived; one mismatch refuses all.
  let derived;
  try {
    derived = expandLeaves(bundle.leaves, bundle.checkpoints);
  } catch (e) {
    throw new ProtocolError("PEER_LEAVES_MISMATCH", 502, `bundle from ${peer.did} refused: ${(e as Error).message}`);
  }
  const receipts = bundle.receipts;
  for (const r of derived) receipts.push(r);
  return bundle;
}

/**
 * Peers (by DID and URL) that refused a Request of version 3 in this process: they are asked
 * with version 2, and answer with receipts and paths (docs/FEDERATION_PROTOCOL.md §Version negotiation).
 */
const speaksV2Only = new Set<string>();
/** Peers that answered a Request of version 3 in this process: they inflate compressed bodies. */
const speaksV3 = new Set<string>();

/** True when `answer` is a peer's refusal of the Request's version: a node before 0.3.0. */
function refusesVersion(answer: { ok: false; status?: number; code: string; message: string }): boolean {
  return answer.status === 400 && answer.code === "MALFORMED" && /\brequest\.v\b/.test(answer.message);
}

/**
 * The Request version this node uses with `peer`: 3 unless it refused 3 before, or
 * VMSH_FEDERATION_REQUEST_V pins it (2 makes this node speak like 0.2.0, for tests and for an operator rolling back).
 */
function requestVersion(peer: PeerConfig): 2 | 3 {
  if (process.env.VMSH_FEDERATION_REQUEST_V === "2") return 2;
  return speaksV2Only.has(`${peer.did} ${peer.url}`) ? 2 : 3;
}

/**
 * What a Bundle's `leaves` become once checked (docs/FEDERATION_PROTOCOL.md §Leaves): `receipts`,
 * each with its derived path, added to the Bundle's receipts; or `leaves`, left as they are
 * (their roots checked) for an import that stores versions as their leaves (docs/STATE.md §Leaves form).
 */
export type LeavesAs = "receipts" | "leaves";

/** What one Request fetched: the checked Bundle and the bytes each way. */
export interface FetchedBundle {
  bundle: Bundle;
  sentBytes: number;
  receivedBytes: number;
}

/**
 * Signs a Request for `selector`, sends it to `peer`, and checks the answer as a Bundle
 * (checkBundle). The one way this node asks a peer for receipts: gossip pulls and `sync` both
 * use it. Throws ProtocolError PEER_FAILED when the peer does not answer 2xx.
 * @example const { bundle } = await requestBundle(client, me, auth, peer, { namespace, want }, now)
 */
export async function requestBundle(client: GossipClient, me: Signer, auth: AuthenticateContext, peer: PeerConfig, selector: RequestSelector, now: () => number, leaves: LeavesAs = "receipts"): Promise<FetchedBundle> {
  let v = requestVersion(peer);
  const sign = () => signMessage<Request>({ type: "request", v, ...selector, aud: peer.did, ts: distinctTs(`${me.did} ${peer.did} ${canonicalJson(selector)}`, now()), signer: me.did }, me.privateKey);
  // A peer's byte budget may ask for a pause between pages (docs/FEDERATION_PROTOCOL.md §Limits).
  // One that answered version 3 inflates bodies too: a large `want` goes compressed (docs/FEDERATION_PROTOCOL.md §Compression).
  const send = (r: Request) => client.postJson(peer, "/federation/request", r, { maxResponseBytes: LIMITS.maxBundleBytes, waitOnRateLimitS: 30, compressBody: v === 3 && speaksV3.has(`${peer.did} ${peer.url}`) });
  let request = sign();
  let answer = await send(request);
  if (!answer.ok && v === 3 && refusesVersion(answer)) {
    // A peer before 0.3.0 knows Request version 2 only: it is asked again so, and remembered.
    speaksV2Only.add(`${peer.did} ${peer.url}`);
    v = 2;
    request = sign();
    answer = await send(request);
  }
  // 409 REPLAY: another process of this node (serve beside a CLI sync) sent the same Request in
  // the same second, and that one got the answer; this one goes again a second later.
  for (let i = 0; i < 2 && !answer.ok && answer.status === 409 && answer.code === "REPLAY"; i++) {
    request = sign();
    answer = await send(request);
  }
  if (!answer.ok) throw new ProtocolError("PEER_FAILED", 502, `${peer.did} answered /federation/request with ${answer.status ?? "no status"} ${answer.code}: ${answer.message}`);
  if (v === 3) speaksV3.add(`${peer.did} ${peer.url}`);
  return { bundle: checkBundle(answer.body, peer, request, auth, leaves), sentBytes: answer.sentBytes ?? Buffer.byteLength(JSON.stringify(request)), receivedBytes: answer.bytes };
}

/** The last `ts` a Request of each content went out with, this process (bounded: cleared when large). */
const lastRequestTs = new Map<string, number>();

/**
 * `now`, or one second past the last Request of the same content: two identical Requests in one
 * second (a version pulled again at once) would have one digest, and the peer refuses the second
 * as a replay (docs/FEDERATION_PROTOCOL.md §Verification order). A second ahead stays inside the skew.
 */
function distinctTs(content: string, now: number): number {
  const last = lastRequestTs.get(content);
  const ts = last !== undefined && last >= now ? last + 1 : now;
  if (lastRequestTs.size >= 10_000) lastRequestTs.clear();
  lastRequestTs.set(content, ts);
  return ts;
}

/** The selecting members of a Request (docs/FEDERATION_PROTOCOL.md §Messages). */
export type RequestSelector = Omit<Request, "sig" | "ts" | "signer" | "type" | "v" | "aud">;

/**
 * Pulls every page of one batch version from `peer` and checks each Bundle. Throws ProtocolError
 * (code PEER_FAILED or the check that failed) when the peer cannot be used. With `leaves`
 * "leaves", a version the peer sends whole as its leaves stays so in `bundle.leaves` (each tree
 * rebuilt and its root checked here), for a store that keeps it so (docs/STATE.md §Leaves form);
 * `versionPages` gives a version's receipts and leaves from the pages.
 * @example const bundles = await pullBatch(client, me, auth, peer, "dao:vaultmesh", "b1", root, now)
 */
export async function pullBatch(client: GossipClient, me: Signer, auth: AuthenticateContext, peer: PeerConfig, namespace: string, batchId: string, batchRoot: string, now: () => number, origin?: string, leaves: LeavesAs = "receipts"): Promise<Bundle[]> {
  const bundles: Bundle[] = [];
  let pages = 1;
  for (let page = 0; page < pages; page++) {
    // Naming the origin asks for its version alone, so another origin's version of the root cannot crowd the page out.
    const { bundle } = await requestBundle(client, me, auth, peer, { namespace, batchId, batchRoot, ...(origin === undefined ? {} : { origin }), page }, now, leaves);
    bundles.push(bundle);
    // A version sent whole as leaves (docs/FEDERATION_PROTOCOL.md §Leaves) has no further pages.
    if (page === 0 && (bundle.leaves ?? []).some((l) => bundle.checkpoints[l.checkpoint]?.batchId === batchId && bundle.checkpoints[l.checkpoint]?.batchRoot === batchRoot)) break;
    const size = bundle.receipts.find((r) => r.batchId === batchId && r.batchRoot === batchRoot)?.proof.size;
    // The first page tells the batch size; a hostile size cannot make us ask more than the limit allows.
    if (page === 0 && size !== undefined) pages = Math.min(Math.ceil(size / LIMITS.maxReceiptsPerBundle), 1000);
  }
  return bundles;
}

/**
 * The receipts and whole-version leaves of one batch id and root in pulled pages (every origin's:
 * the import tells the versions apart by their checkpoints).
 * @example const { receipts, leaves } = versionPages(await pullBatch(…, "leaves"), "b1", root)
 */
export function versionPages(bundles: readonly Bundle[], batchId: string, batchRoot: string): { receipts: Receipt[]; leaves: Array<{ checkpoint: Checkpoint; leaves: string }> } {
  const receipts = bundles.flatMap((b) => b.receipts.filter((r) => r.batchId === batchId && r.batchRoot === batchRoot));
  const leaves = bundles.flatMap((b) => (b.leaves ?? []).map((l) => ({ checkpoint: b.checkpoints[l.checkpoint]!, leaves: l.leaves })).filter((l) => l.checkpoint.batchId === batchId && l.checkpoint.batchRoot === batchRoot));
  return { receipts, leaves };
}

/**
 * Builds this node's Announce of a stored batch version and hands it to each target through
 * the outbox (one try now, queued on a retryable failure). Used by `serve` and by the
 * `announce` command alike.
 * `origin` names the version (docs/STATE.md §Layout); without it, the root's version served first.
 * @example const deliveries = await announceToPeers(store, outbox, me, peers, ns, batchId, root, now, undefined, origin)
 */
export async function announceToPeers(store: Store, outbox: AnnounceOutbox, me: Signer, targets: readonly PeerConfig[], namespace: string, batchId: string, batchRoot: string, ts: number, observe: (d: Delivery) => void = () => {}, origin?: string): Promise<Delivery[]> {
  // One message per target: each names its recipient in `aud` (docs/FEDERATION_PROTOCOL.md §Messages).
  if ((await buildAnnounce(store, me, namespace, batchId, batchRoot, ts, me.did, origin)) === undefined) return [];
  return Promise.all(
    targets.map(async (peer) => {
      const message = (await buildAnnounce(store, me, namespace, batchId, batchRoot, ts, peer.did, origin))!;
      const r = await outbox.deliverNow(peer, "/federation/announce", message);
      const d: Delivery = r.reason === undefined ? { peer: peer.did, outcome: r.outcome } : { peer: peer.did, outcome: r.outcome, reason: r.reason };
      observe(d);
      return d;
    }),
  );
}
