/**
 * The signed topology exchange (docs/FEDERATION_PROTOCOL.md §Topology): a node asks an
 * admitted peer whom it federates with, so the explorer can draw the peer's peers. Request
 * `{ type:"topology-request", v:1, aud, ts, signer, sig }`, answer `{ type:"topology", v:1,
 * request, node, peers:[{did, namespaces}], ts, signer, sig }`, both signed with the JWS scheme
 * of every other message. The answer lists only the namespaces the answering node also routes
 * to the asker, so a peer learns nothing about namespaces it has no part in.
 */
import type { KeyObject } from "node:crypto";
import type { NodeConfig } from "../config/types.js";
import { ProtocolError } from "../errors.js";
import type { AuthenticateContext } from "../messages/authenticate.js";
import { canonicalJson, messageDigest, unsigned } from "../messages/canonical.js";
import { signDetached, verifyDetached } from "../messages/jws.js";
import { isDid } from "../identity/did.js";
import { isNamespace } from "../messages/limits.js";
import type { TopologyView } from "./source.js";

export interface TopologyRequest {
  type: "topology-request";
  v: 1;
  /** The DID of the node asked: an answer meant for one node cannot be replayed to another. */
  aud: string;
  ts: number;
  signer: string;
  sig: string;
}

export interface TopologyAnswer extends TopologyView {
  type: "topology";
  v: 1;
  /** sha256 of the request's canonical form, as Bundle.request. */
  request: string;
  ts: number;
  signer: string;
  sig: string;
}

/** A peer that lists more than this is not drawn in full: the answer is refused. */
export const MAX_TOPOLOGY_PEERS = 1_000;
/** Namespaces one entry of an answer may name; an answer with more in any entry is refused. */
export const MAX_TOPOLOGY_NAMESPACES = 64;

function sign<T extends { signer: string }>(message: T, privateKey: KeyObject): T & { sig: string } {
  return { ...message, sig: signDetached(Buffer.from(canonicalJson(message), "utf8"), message.signer, privateKey) };
}

/**
 * A signed topology request from `signer` to `aud`.
 * @example client.postJson(peer, "/federation/topology", topologyRequest(me.did, peer.did, now, me.privateKey))
 */
export function topologyRequest(signer: string, aud: string, ts: number, privateKey: KeyObject): TopologyRequest {
  return sign({ type: "topology-request" as const, v: 1 as const, aud, ts, signer }, privateKey);
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

function exactKeys(o: Record<string, unknown>, keys: readonly string[]): string | undefined {
  const extra = Object.keys(o).find((k) => !keys.includes(k));
  if (extra !== undefined) return `unknown member ${JSON.stringify(extra)}`;
  const missing = keys.find((k) => !(k in o));
  return missing === undefined ? undefined : `missing member ${missing}`;
}

/**
 * Checks a topology request addressed to `me` the way every inbound message is checked:
 * shape, allowlist, role `request`, audience, clock skew, replay, signature. Throws
 * ProtocolError with the usual codes (docs/FEDERATION_PROTOCOL.md §Errors).
 */
export function authenticateTopologyRequest(json: unknown, me: string, ctx: AuthenticateContext): TopologyRequest {
  if (!isObject(json)) throw new ProtocolError("MALFORMED", 400, "a topology request is a JSON object");
  const shape = exactKeys(json, ["type", "v", "aud", "ts", "signer", "sig"]);
  if (shape !== undefined) throw new ProtocolError("MALFORMED", 400, `topology request: ${shape}`);
  if (json.type !== "topology-request" || json.v !== 1) throw new ProtocolError("MALFORMED", 400, 'topology request: expected type "topology-request" and v 1');
  if (typeof json.aud !== "string" || typeof json.signer !== "string" || !isDid(json.signer) || typeof json.sig !== "string") throw new ProtocolError("MALFORMED", 400, "topology request: aud, signer and sig must be strings, signer a DID");
  if (typeof json.ts !== "number" || !Number.isSafeInteger(json.ts) || json.ts < 0) throw new ProtocolError("MALFORMED", 400, "topology request: ts must be unix seconds");
  const request = json as unknown as TopologyRequest;
  const peer = ctx.peers.get(request.signer);
  if (peer === undefined) throw new ProtocolError("SIGNER_UNKNOWN", 401, `signer ${request.signer} is not in peers.yaml`);
  if (!peer.roles.has("request")) throw new ProtocolError("ROLE_FORBIDDEN", 403, `${request.signer} lacks role request needed to send topology-request`);
  if (request.aud !== me) throw new ProtocolError("WRONG_AUDIENCE", 401, `topology request is addressed to ${request.aud}, not to ${me}`);
  const now = ctx.now();
  if (Math.abs(now - request.ts) > ctx.skewS) throw new ProtocolError("STALE_TIMESTAMP", 401, `ts ${request.ts} is ${now - request.ts} s from this node's clock (allowed ±${ctx.skewS} s)`);
  const notBefore = ctx.notBefore?.({ ...request, namespace: "" });
  if (notBefore !== undefined && request.ts < notBefore) throw new ProtocolError("STALE_TIMESTAMP", 401, `ts ${request.ts} is before ${notBefore}: this node may have accepted messages from ${request.signer} signed until then (it restarted after a crash, or its clock_skew_s was raised); sign the request again`);
  const digest = messageDigest(request);
  if (ctx.replay.seen(digest, now)) throw new ProtocolError("REPLAY", 409, `message ${digest} was already accepted`);
  const check = verifyDetached(request.sig, Buffer.from(canonicalJson(unsigned(request)), "utf8"), request.signer, peer.publicKey);
  if (!check.ok) throw new ProtocolError("SIG_INVALID", 401, check.reason);
  ctx.replay.remember(digest, request.ts + ctx.skewS, now);
  return request;
}

/**
 * This node's signed answer to an authenticated `request`: each peers.yaml entry with the
 * namespaces routed both to it and to the asker; entries sharing none with the asker are left out.
 */
export function answerTopology(request: TopologyRequest, config: NodeConfig, ts: number, privateKey: KeyObject): TopologyAnswer {
  const me = config.federation.mesh.nodeId;
  const shared = [...config.federation.namespaces.values()].filter((ns) => ns.peers.includes(request.signer));
  const peers = [...config.peers.keys()]
    .map((did) => ({ did, namespaces: shared.filter((ns) => ns.peers.includes(did)).map((ns) => ns.name).sort() }))
    .filter((p) => p.namespaces.length > 0)
    .sort((a, b) => (a.did < b.did ? -1 : a.did > b.did ? 1 : 0));
  return sign({ type: "topology" as const, v: 1 as const, request: messageDigest(request), node: me, peers, ts, signer: me }, privateKey);
}

/**
 * Checks a peer's answer to `request`: shape, signed by the peer asked, for this request,
 * within the clock skew. Returns the topology, or the reason it is refused (never throws).
 */
export function verifyTopologyAnswer(json: unknown, request: TopologyRequest, peerKey: KeyObject, now: number, skewS: number): { ok: true; topology: TopologyView } | { ok: false; reason: string } {
  if (!isObject(json)) return { ok: false, reason: "the answer is not a JSON object" };
  const shape = exactKeys(json, ["type", "v", "request", "node", "peers", "ts", "signer", "sig"]);
  if (shape !== undefined) return { ok: false, reason: `topology answer: ${shape}` };
  if (json.type !== "topology" || json.v !== 1) return { ok: false, reason: 'expected type "topology" and v 1' };
  if (json.signer !== request.aud || json.node !== request.aud) return { ok: false, reason: `signed by ${String(json.signer)}, not by ${request.aud}` };
  if (json.request !== messageDigest(request)) return { ok: false, reason: "answers another request" };
  if (typeof json.ts !== "number" || Math.abs(now - json.ts) > skewS) return { ok: false, reason: "ts outside the clock skew" };
  if (!Array.isArray(json.peers) || json.peers.length > MAX_TOPOLOGY_PEERS) return { ok: false, reason: `peers must be a list of at most ${MAX_TOPOLOGY_PEERS}` };
  const peers: TopologyView["peers"] = [];
  for (const p of json.peers as unknown[]) {
    if (!isObject(p) || typeof p.did !== "string" || !isDid(p.did) || !Array.isArray(p.namespaces)) return { ok: false, reason: "a peers entry is not { did, namespaces[] }" };
    if (p.namespaces.length > MAX_TOPOLOGY_NAMESPACES) return { ok: false, reason: `a peers entry names more than ${MAX_TOPOLOGY_NAMESPACES} namespaces` };
    if (!p.namespaces.every(isNamespace)) return { ok: false, reason: "a peers entry names something that is not a namespace" };
    peers.push({ did: p.did, namespaces: [...(p.namespaces as string[])] });
  }
  const check = verifyDetached(json.sig, Buffer.from(canonicalJson(unsigned(json as { sig?: unknown })), "utf8"), request.aud, peerKey);
  if (!check.ok) return { ok: false, reason: check.reason };
  return { ok: true, topology: { node: request.aud, peers } };
}
