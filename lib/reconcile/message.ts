/**
 * The signed JSON envelope that carries reconcile payloads over `POST /federation/reconcile`
 * (docs/ANTI_ENTROPY.md §Envelope): one binary payload per namespace, base64.
 * A reply uses the same envelope and names the message it answers in `request`, so an old
 * reply cannot be replayed into a new round.
 */
import type { KeyObject } from "node:crypto";
import { ProtocolError } from "../errors.js";
import { DID_MAX_LENGTH, DID_PATTERN } from "../identity/did.js";
import { authenticate, ROLE_FOR_TYPE, signMessage, type AuthenticateContext, type AuthenticateResult, type SignedMessage } from "../messages/authenticate.js";
import { array, digest, integer, literal, malformed, object, string } from "../messages/fields.js";
import { LIMITS, NAMESPACE_PATTERN } from "../messages/limits.js";
import { VERSION } from "../version.js";
import { RECONCILE_LIMITS } from "./limits.js";
import type { ReconcilePart } from "./session.js";

export interface ReconcileNamespace {
  namespace: string;
  /** Standard base64 (RFC 4648 §4, padded) of the binary payload. */
  payload: string;
}

export interface ReconcileMessage {
  type: "reconcile";
  v: 2;
  /** DID of the receiving node (docs/FEDERATION_PROTOCOL.md §Messages). */
  aud: string;
  /** 1 for the opening message; a reply carries the round it answers. */
  round: number;
  namespaces: ReconcileNamespace[];
  /** On a reply: messageDigest() of the message answered. */
  request?: string;
  ts: number;
  signer: string;
  sig: string;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const SIG_PATTERN = /^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$/;
/** Rounds are bounded by the initiator's `maxRounds`; the schema accepts twice the default so a peer may set its own. */
const MAX_ROUND = 2 * RECONCILE_LIMITS.maxRounds;

function decodedLength(b64: string): number {
  const pad = b64.endsWith("==") ? 2 : b64.endsWith("=") ? 1 : 0;
  return (b64.length / 4) * 3 - pad;
}

/**
 * Validates a reconcile envelope (HTTP 400 `MALFORMED` naming the member on failure); payload sizes are checked
 * against `maxMessageBytes` before any base64 is decoded.
 * @example const m = parseReconcile(JSON.parse(body)); reconcileParts(m)
 */
export function parseReconcile(value: unknown, maxMessageBytes: number = RECONCILE_LIMITS.maxMessageBytes): ReconcileMessage {
  const o = object(value, "reconcile", ["type", "v", "aud", "round", "namespaces", "request", "ts", "signer", "sig"]);
  literal(o, "type", "reconcile", "reconcile");
  if (o.v === 1) throw malformed("reconcile.v", `message version 1 lacks the member aud; this node speaks version 2 (vmsh-federation ${VERSION}): upgrade the sender (docs/FEDERATION_PROTOCOL.md §Upgrading from 0.1.0)`);
  literal(o, "v", "reconcile", 2);
  const aud = string(o, "aud", "reconcile", DID_MAX_LENGTH, DID_PATTERN);
  const round = integer(o, "round", "reconcile", 1, MAX_ROUND);
  let total = 0;
  const seen = new Set<string>();
  const namespaces = array(o, "namespaces", "reconcile", RECONCILE_LIMITS.maxNamespaces).map((entry, i): ReconcileNamespace => {
    const path = `reconcile.namespaces[${i}]`;
    const e = object(entry, path, ["namespace", "payload"]);
    const namespace = string(e, "namespace", path, LIMITS.maxNamespaceLength, NAMESPACE_PATTERN);
    if (seen.has(namespace)) throw malformed(`${path}.namespace`, `${namespace} appears twice`);
    seen.add(namespace);
    const payload = e.payload;
    if (typeof payload !== "string") throw malformed(`${path}.payload`, "expected a base64 string");
    if (payload.length === 0 || payload.length % 4 !== 0 || decodedLength(payload) > maxMessageBytes) throw malformed(`${path}.payload`, `expected 1 to ${maxMessageBytes} bytes of padded base64, got ${payload.length} characters`);
    if (!BASE64.test(payload)) throw malformed(`${path}.payload`, "is not padded standard base64");
    total += decodedLength(payload);
    if (total > maxMessageBytes) throw malformed(`${path}.payload`, `payloads exceed ${maxMessageBytes} bytes together`);
    return { namespace, payload };
  });
  const message: ReconcileMessage = {
    type: "reconcile",
    v: 2,
    aud,
    round,
    namespaces,
    ts: integer(o, "ts", "reconcile", 0, LIMITS.maxTimestamp),
    signer: string(o, "signer", "reconcile", DID_MAX_LENGTH, DID_PATTERN),
    sig: string(o, "sig", "reconcile", 1024, SIG_PATTERN),
  };
  if (o.request !== undefined) message.request = digest(o, "request", "reconcile");
  return message;
}

/**
 * The binary parts of a parsed envelope, for `respond` or `session.receive`.
 * @example respond(lookup, reconcileParts(parseReconcile(body)), { random })
 */
export function reconcileParts(message: ReconcileMessage): ReconcilePart[] {
  return message.namespaces.map((n) => ({ namespace: n.namespace, payload: Uint8Array.from(Buffer.from(n.payload, "base64")) }));
}

/**
 * The envelope of `parts` without its signature (what `signReconcile` signs).
 * @example signMessageInSlices(reconcileEnvelope({ aud, round: 1, parts, ts, signer }), key.privateKey)
 */
export function reconcileEnvelope(input: { aud: string; round: number; parts: readonly ReconcilePart[]; ts: number; signer: string; request?: string }): Omit<ReconcileMessage, "sig"> {
  return {
    type: "reconcile",
    v: 2,
    aud: input.aud,
    round: input.round,
    namespaces: input.parts.map((p) => ({ namespace: p.namespace, payload: Buffer.from(p.payload).toString("base64") })),
    ts: input.ts,
    signer: input.signer,
    ...(input.request === undefined ? {} : { request: input.request }),
  };
}

/**
 * Wraps parts in a signed envelope.
 * @example signReconcile({ aud: peerDid, round: 1, parts: message, ts: now, signer: did }, key.privateKey)
 */
export function signReconcile(input: { aud: string; round: number; parts: readonly ReconcilePart[]; ts: number; signer: string; request?: string }, privateKey: KeyObject): ReconcileMessage {
  return signMessage(reconcileEnvelope(input) as unknown as Omit<SignedMessage & ReconcileMessage, "sig">, privateKey) as unknown as ReconcileMessage;
}

/**
 * The checks of docs/FEDERATION_PROTOCOL.md §Verification order for a reconcile envelope: every namespace it names must be routed to the
 * signer (403 `NAMESPACE_NOT_ROUTED`), then allowlist, role `request`, skew, replay and
 * signature as for any message.
 * @example const r = authenticateReconcile(parseReconcile(body), ctx); if (!r.ok) reply(r.error.status, r.error)
 */
export function authenticateReconcile(message: ReconcileMessage, ctx: AuthenticateContext): AuthenticateResult {
  // Same order as authenticate(): allowlist and role failures are reported before routing.
  const role = ROLE_FOR_TYPE.reconcile;
  if (role !== undefined && ctx.peers.get(message.signer)?.roles.has(role) === true) {
    for (const { namespace } of message.namespaces) {
      if (!ctx.isRouted(namespace, message.signer)) return { ok: false, error: new ProtocolError("NAMESPACE_NOT_ROUTED", 403, `namespace ${namespace} is not routed to ${message.signer}`) };
    }
  }
  // The envelope has no single `namespace`; routing was checked above for each one.
  const asSigned = message as unknown as SignedMessage;
  return authenticate(asSigned, { ...ctx, isRouted: () => true });
}
