/**
 * Signing messages, and the ordered checks every inbound message passes (docs/FEDERATION_PROTOCOL.md §Verification order):
 * allowlist → role → namespace routing → clock skew → replay → signature.
 * The cheap, key-free checks come first so an unknown or unrouted sender costs no
 * signature verification; the replay cache only records messages whose signature held.
 */
import type { KeyObject } from "node:crypto";
import { ProtocolError, type WireErrorCode } from "../errors.js";
import { canonicalJson, messageDigest, unsigned } from "./canonical.js";
import { signDetached, verifyDetached } from "./jws.js";
import type { ReplayCache } from "./replay.js";

export type Role = "announce" | "serve" | "request";
export const ROLES: readonly Role[] = ["announce", "serve", "request"];

/** The role a sender needs, per message type, in the receiver's peers.yaml. */
export const ROLE_FOR_TYPE: Readonly<Record<string, Role>> = {
  announce: "announce",
  request: "request",
  reconcile: "request",
  bundle: "serve",
};

export interface KnownPeer {
  did: string;
  roles: ReadonlySet<Role>;
  publicKey: KeyObject;
  /** A roster's announced next key, also accepted until a serial promotes or drops it. */
  nextKey?: KeyObject;
}

export interface AuthenticateContext {
  /** The allowlist: peers.yaml by DID. */
  peers: ReadonlyMap<string, KnownPeer>;
  /** True if `namespace` is routed to `did` in federation.yaml. */
  isRouted(namespace: string, did: string): boolean;
  /** Current unix seconds. */
  now(): number;
  /** Allowed |now − ts|, seconds. */
  skewS: number;
  replay: ReplayCache;
  /** This node's DID: every message must name it in `aud` (docs/FEDERATION_PROTOCOL.md §Verification order). */
  self: string;
  /**
   * The unix second before which `message` is refused as stale, if any: set after a restart whose
   * replay window could not be restored, so nothing accepted before it can be replayed (docs/FEDERATION_PROTOCOL.md §Replay across restarts).
   */
  notBefore?: (message: SignedMessage) => number | undefined;
}

export interface SignedMessage {
  type: string;
  namespace: string;
  /** The receiving node's DID. */
  aud?: string;
  ts: number;
  signer: string;
  sig?: string;
}

export type AuthenticateResult = { ok: true; digest: string; peer: KnownPeer } | { ok: false; error: ProtocolError };

function fail(code: WireErrorCode, status: number, message: string): AuthenticateResult {
  return { ok: false, error: new ProtocolError(code, status, message) };
}

/**
 * Signs `message` (which names its own `signer`) and returns it with `sig`.
 * @example signMessage({ type: "request", v: 2, namespace: "dao:x", aud: peerDid, ts, signer: did }, key.privateKey)
 */
export function signMessage<M extends SignedMessage = SignedMessage & { [member: string]: unknown }>(message: Omit<M, "sig">, privateKey: KeyObject): M {
  const payload = Buffer.from(canonicalJson(unsigned(message as M)), "utf8");
  return { ...(message as M), sig: signDetached(payload, message.signer, privateKey) };
}

/**
 * Runs the checks of docs/FEDERATION_PROTOCOL.md §Verification order on a message that already passed its schema. On success the
 * digest is remembered for replay detection. Codes: SIGNER_UNKNOWN 401, ROLE_FORBIDDEN 403,
 * NAMESPACE_NOT_ROUTED 403, STALE_TIMESTAMP 401, REPLAY 409, SIG_INVALID 401.
 * @example const r = authenticate(parseAnnounce(body), ctx); if (!r.ok) reply(r.error.status, r.error)
 */
export function authenticate(message: SignedMessage, ctx: AuthenticateContext): AuthenticateResult {
  const peer = ctx.peers.get(message.signer);
  if (peer === undefined) return fail("SIGNER_UNKNOWN", 401, `signer ${message.signer} is not in peers.yaml`);
  const role = ROLE_FOR_TYPE[message.type];
  if (role === undefined || !peer.roles.has(role)) return fail("ROLE_FORBIDDEN", 403, `${message.signer} lacks role ${role ?? "?"} needed to send ${message.type}`);
  if (!ctx.isRouted(message.namespace, message.signer)) return fail("NAMESPACE_NOT_ROUTED", 403, `namespace ${message.namespace} is not routed to ${message.signer}`);
  if (message.aud !== ctx.self) return fail("WRONG_AUDIENCE", 401, `message is addressed to ${String(message.aud)}, not to this node ${ctx.self}`);
  const now = ctx.now();
  if (Math.abs(now - message.ts) > ctx.skewS) return fail("STALE_TIMESTAMP", 401, `ts ${message.ts} is ${now - message.ts} s from this node's clock (allowed ±${ctx.skewS} s)`);
  const notBefore = ctx.notBefore?.(message);
  if (notBefore !== undefined && message.ts < notBefore) return fail("STALE_TIMESTAMP", 401, `ts ${message.ts} is before ${notBefore}: this node may have accepted messages from ${message.signer} signed until then (it restarted after a crash, or its clock_skew_s was raised); sign the message again`);
  const digest = messageDigest(message);
  if (ctx.replay.seen(digest, now)) return fail("REPLAY", 409, `message ${digest} was already accepted`);
  const payload = Buffer.from(canonicalJson(unsigned(message)), "utf8");
  let check = verifyDetached(message.sig, payload, message.signer, peer.publicKey);
  if (!check.ok && peer.nextKey !== undefined) check = verifyDetached(message.sig, payload, message.signer, peer.nextKey);
  if (!check.ok) return fail("SIG_INVALID", 401, check.reason);
  ctx.replay.remember(digest, message.ts + ctx.skewS, now);
  return { ok: true, digest, peer };
}
