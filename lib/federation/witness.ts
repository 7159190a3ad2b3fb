/**
 * This node as a witness and as a counter of witnesses (docs/FEDERATION_SEMANTICS.md §8. Quorum):
 * taking in a peer's cosignatures (verified against peers.yaml keys, stored only with versions
 * this node holds), cosigning a version after its own verification of the winner, and the quorum
 * state of stored versions for `status`, `verify-online`, `/metrics` and the explorer.
 */
import type { KeyObject } from "node:crypto";
import type { NodeConfig } from "../config/types.js";
import { publicKeyFromRaw } from "../identity/keys.js";
import { signCosignature, verifyCosignature, type AnchorRef, type Cosignature } from "../messages/cosignature.js";
import { quorumSubject, verifiedAnchors } from "../quorum/subject.js";
import type { BatchSummary, Store } from "../store/index.js";
import type { Signer } from "./gossip.js";
import { quorumReport, type VersionQuorum } from "./quorum-report.js";

/** This node's DID and public key, so that it counts as a witness when it is listed. */
export interface SelfKey {
  did: string;
  publicKey: KeyObject;
}

/**
 * Keys cosignatures are checked with: every peers.yaml entry with role `witness`, and this node.
 * @example witnessKeysFor(config, { did: me.did, publicKey: key.publicKey }).get("did:vm:node:b")
 */
export function witnessKeysFor(config: NodeConfig, self: SelfKey): Map<string, KeyObject> {
  const keys = new Map<string, KeyObject>([[self.did, self.publicKey]]);
  for (const [did, raw] of config.witnesses ?? new Map<string, Uint8Array>()) if (!keys.has(did)) keys.set(did, publicKeyFromRaw(raw));
  return keys;
}

/** What taking in a message's cosignatures did. */
export interface CosignatureIntake {
  /** Cosignatures that changed a stored version. */
  stored: Cosignature[];
  /** Refused: no witness key for the signer, or a signature that does not verify. Never stored. */
  refused: Array<{ signer: string; batchId: string; reason: string }>;
}

/**
 * Verifies `cosignatures` (of `namespace`) against the witness keys and stores each with the
 * version it names, when this node holds that version; a version it does not hold takes none.
 * @example const { stored, refused } = await takeCosignatures(store, keys, "dao:vaultmesh", announce.cosignatures ?? [])
 */
export async function takeCosignatures(store: Store, keys: ReadonlyMap<string, KeyObject>, namespace: string, cosignatures: readonly Cosignature[]): Promise<CosignatureIntake> {
  const out: CosignatureIntake = { stored: [], refused: [] };
  const byVersion = new Map<string, Cosignature[]>();
  for (const c of cosignatures) {
    if (c.namespace !== namespace) {
      out.refused.push({ signer: c.signer, batchId: c.batchId, reason: `is for namespace ${c.namespace}` });
      continue;
    }
    const key = keys.get(c.signer);
    if (key === undefined) {
      out.refused.push({ signer: c.signer, batchId: c.batchId, reason: "the signer is neither this node nor a peers.yaml entry with role witness" });
      continue;
    }
    const check = verifyCosignature(c, key);
    if (!check.ok) {
      out.refused.push({ signer: c.signer, batchId: c.batchId, reason: `signature: ${check.reason}` });
      continue;
    }
    const v = `${c.batchId}\u0000${c.batchRoot}`;
    byVersion.set(v, [...(byVersion.get(v) ?? []), c]);
  }
  for (const list of byVersion.values()) {
    const { batchId, batchRoot } = list[0]!;
    if (!store.listBatches(namespace).some((b) => b.batchId === batchId && b.batchRoot === batchRoot)) continue;
    out.stored.push(...((await store.putCosignatures(namespace, batchId, batchRoot, list)) ?? []));
  }
  return out;
}

const sameRefs = (a: readonly AnchorRef[], b: readonly AnchorRef[]): boolean => a.length === b.length && a.every((x, i) => x.chain === b[i]!.chain && x.tx === b[i]!.tx);

/**
 * Cosigns a stored version when this node is one of its namespace's witnesses and has verified
 * a winner itself; again only when its view (winner or verified anchors) changed since its last
 * cosignature of the same checkpoint. Stores the cosignature; returns it, or undefined when none
 * was due.
 * @example if (await cosignVersion(store, me, config, ns, batchId, root, now())) await node.announce(ns, batchId, root)
 */
export async function cosignVersion(store: Store, me: Signer, config: NodeConfig, namespace: string, batchId: string, batchRoot: string, now: number, origin?: string): Promise<Cosignature | undefined> {
  if (!(config.federation.namespaces.get(namespace)?.quorum?.witnesses.includes(me.did) ?? false)) return undefined;
  // One at a time per version: each relayed Announce of a version starts its own cosigning, and
  // calls that overlapped all read "no cosignature of this view yet" and each signed one.
  return oneAtATime(store, `${namespace}\u0000${batchId}\u0000${batchRoot}`, () => cosignNow(store, me, namespace, batchId, batchRoot, now, origin));
}

/** Cosigning under way, per store and version (cosignVersion). */
const cosigning = new WeakMap<Store, Map<string, Promise<unknown>>>();

async function oneAtATime<T>(store: Store, key: string, fn: () => Promise<T>): Promise<T> {
  const running = cosigning.get(store) ?? new Map<string, Promise<unknown>>();
  cosigning.set(store, running);
  const before = running.get(key) ?? Promise.resolve();
  const mine = before.then(fn, fn);
  const settled = mine.catch(() => undefined);
  running.set(key, settled);
  try {
    return await mine;
  } finally {
    if (running.get(key) === settled) running.delete(key);
  }
}

async function cosignNow(store: Store, me: Signer, namespace: string, batchId: string, batchRoot: string, now: number, origin?: string): Promise<Cosignature | undefined> {
  // Without `origin`, the version of the root served first (docs/STATE.md §Layout).
  const batch = await store.getBatch(namespace, batchId, batchRoot, origin);
  const subject = batch === undefined ? undefined : quorumSubject(batch);
  // A witness cosigns only what it verified itself (docs/FEDERATION_SEMANTICS.md §8. Quorum).
  if (batch === undefined || subject === undefined || subject.winner === undefined) return undefined;
  const verified = verifiedAnchors(batch);
  const last = (batch.cosignatures ?? []).filter((c) => c.signer === me.did && c.checkpoint === subject.checkpoint).sort((a, b) => b.ts - a.ts)[0];
  if (last !== undefined && last.winner.chain === subject.winner.chain && last.winner.tx === subject.winner.tx && sameRefs(last.verified, verified)) return undefined;
  const c = signCosignature(
    { namespace, origin: subject.origin, batchId, batchRoot, checkpoint: subject.checkpoint, winner: subject.winner, verified, ts: Math.max(now, (last?.ts ?? -1) + 1), signer: me.did },
    me.privateKey,
  );
  const stored = await store.putCosignatures(namespace, batchId, batchRoot, [c]);
  return stored !== undefined && stored.length > 0 ? c : undefined;
}

/**
 * After an import this node did not start itself (anti-entropy): cosigns every version of
 * `namespace` that is new since `before` (a `listBatches` taken first) or whose verified count
 * changed, as cosignVersion decides. Returns what it cosigned, so the caller can announce it.
 * @example const before = store.listBatches(ns); await syncWithPeer(…); await cosignChanged(store, me, config, ns, before, now())
 */
export async function cosignChanged(store: Store, me: Signer, config: NodeConfig, namespace: string, before: readonly BatchSummary[], now: number): Promise<Cosignature[]> {
  if (!(config.federation.namespaces.get(namespace)?.quorum?.witnesses.includes(me.did) ?? false)) return [];
  const key = (b: BatchSummary) => `${b.batchId}\u0000${b.batchRoot}\u0000${b.origin ?? ""}`;
  const was = new Map(before.map((b) => [key(b), b.outcomes.verified] as const));
  const out: Cosignature[] = [];
  for (const b of store.listBatches(namespace)) {
    if (b.outcomes.verified === 0 || b.origin === undefined || was.get(key(b)) === b.outcomes.verified) continue;
    const c = await cosignVersion(store, me, config, namespace, b.batchId, b.batchRoot, now, b.origin);
    if (c !== undefined) out.push(c);
  }
  return out;
}

/** The quorum state of one stored batch version (lib/federation/quorum-report.ts). */
export type { VersionQuorum };

/**
 * The quorum state of a namespace's stored versions (all, or those of `batchId`): see
 * `quorumReport`, which also gives the contested roots and the witness faults.
 * @example (await quorumOfVersions(store, config, keys, me.did, "dao:vaultmesh")).filter((q) => q.state !== "final")
 */
export async function quorumOfVersions(store: Store, config: NodeConfig, keys: ReadonlyMap<string, KeyObject>, self: string, namespace: string, batchId?: string): Promise<VersionQuorum[]> {
  return (await quorumReport(store, config, keys, self, namespace, batchId)).quorum;
}
