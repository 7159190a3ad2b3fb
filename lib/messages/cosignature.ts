/**
 * The witness cosignature (docs/FEDERATION_SEMANTICS.md §8. Quorum): a node's signed word that
 * it verified, with its own endpoints, the winning anchor of one batch version under one
 * checkpoint. Signed with the same detached-payload JWS as every message, so any JOSE library
 * can check it; forwarded unchanged by relays.
 */
import type { KeyObject } from "node:crypto";
import { DID_MAX_LENGTH, DID_PATTERN } from "../identity/did.js";
import { canonicalJson, unsigned } from "./canonical.js";
import { array, digest, integer, literal, malformed, object, string, type Json } from "./fields.js";
import { signDetached, verifyDetached } from "./jws.js";
import { BATCH_ID_PATTERN, LIMITS, NAMESPACE_PATTERN } from "./limits.js";

/** An anchor named by its chain and transaction. */
export interface AnchorRef {
  chain: string;
  tx: string;
}

export interface Cosignature {
  type: "cosignature";
  v: 1;
  namespace: string;
  /** The origin whose checkpoint this cosigns. */
  origin: string;
  batchId: string;
  batchRoot: string;
  /** messageDigest() of the checkpoint: sha256 of its canonical form without `sig`. */
  checkpoint: string;
  /** The anchor the cosigner found to be the winner. */
  winner: AnchorRef;
  /** Every anchor of the version the cosigner verified itself, the winner among them. */
  verified: AnchorRef[];
  ts: number;
  signer: string;
  sig: string;
}

/** Anchors listed per cosignature, at most: an Announce carries at most this many too. */
export const MAX_VERIFIED_PER_COSIGNATURE = LIMITS.maxAnchorsPerAnnounce;
const SIG_PATTERN = /^[A-Za-z0-9_-]+\.\.[A-Za-z0-9_-]+$/;
const MEMBERS = ["type", "v", "namespace", "origin", "batchId", "batchRoot", "checkpoint", "winner", "verified", "ts", "signer", "sig"] as const;

function anchorRef(value: unknown, path: string): AnchorRef {
  const o = object(value, path, ["chain", "tx"]);
  return { chain: string(o, "chain", path, 80), tx: string(o, "tx", path, LIMITS.maxTxLength) };
}

/**
 * Validates a cosignature's shape; the winner must be one of `verified`.
 * @example parseCosignature(JSON.parse(text)).winner.chain
 */
export function parseCosignature(value: unknown, path = "cosignature"): Cosignature {
  const o: Json = object(value, path, MEMBERS);
  literal(o, "type", path, "cosignature");
  literal(o, "v", path, 1);
  const winner = anchorRef(o.winner, `${path}.winner`);
  const verified = array(o, "verified", path, MAX_VERIFIED_PER_COSIGNATURE, 1).map((a, i) => anchorRef(a, `${path}.verified[${i}]`));
  if (!verified.some((a) => a.chain === winner.chain && a.tx === winner.tx)) throw malformed(`${path}.winner`, "is not one of the verified anchors");
  return {
    type: "cosignature",
    v: 1,
    namespace: string(o, "namespace", path, LIMITS.maxNamespaceLength, NAMESPACE_PATTERN),
    origin: string(o, "origin", path, DID_MAX_LENGTH, DID_PATTERN),
    batchId: string(o, "batchId", path, LIMITS.maxBatchIdLength, BATCH_ID_PATTERN),
    batchRoot: digest(o, "batchRoot", path),
    checkpoint: digest(o, "checkpoint", path),
    winner,
    verified,
    ts: integer(o, "ts", path, 0, LIMITS.maxTimestamp),
    signer: string(o, "signer", path, DID_MAX_LENGTH, DID_PATTERN),
    sig: string(o, "sig", path, 1024, SIG_PATTERN),
  };
}

/**
 * Signs a cosignature with this node's key.
 * @example signCosignature({ namespace, origin, batchId, batchRoot, checkpoint, winner, verified, ts, signer: me.did }, me.privateKey)
 */
export function signCosignature(fields: Omit<Cosignature, "type" | "v" | "sig">, privateKey: KeyObject): Cosignature {
  const body: Omit<Cosignature, "sig"> = { type: "cosignature", v: 1, ...fields };
  return { ...body, sig: signDetached(Buffer.from(canonicalJson(body), "utf8"), fields.signer, privateKey) };
}

/**
 * Checks a cosignature's signature with the signer's key. Never throws on malformed input.
 * @example verifyCosignature(c, witnessKey).ok
 */
export function verifyCosignature(c: Cosignature, publicKey: KeyObject): { ok: true } | { ok: false; reason: string } {
  const check = verifyDetached(c.sig, Buffer.from(canonicalJson(unsigned(c)), "utf8"), c.signer, publicKey);
  return check.ok ? { ok: true } : { ok: false, reason: check.reason };
}
