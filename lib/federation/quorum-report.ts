/**
 * What a node reports about the trust in its stored versions (docs/FEDERATION_SEMANTICS.md §8.
 * Quorum): the quorum state of each version, the contested roots with their attribution, and the
 * witness faults. Reads the index, the version files of the batches asked about and the
 * `checkpoint-conflicts` document; the decisions are the pure functions of lib/quorum/.
 */
import type { KeyObject } from "node:crypto";
import type { NodeConfig } from "../config/types.js";
import { rawPublicKey } from "../identity/keys.js";
import { messageDigest } from "../messages/canonical.js";
import type { Checkpoint } from "../messages/checkpoint.js";
import type { Cosignature } from "../messages/cosignature.js";
import type { WitnessFaultView } from "../explorer/source.js";
import { CHECKPOINT_CONFLICTS_DOC } from "../pipeline/import.js";
import { attributedClaim } from "../quorum/attribution.js";
import { LoggedCheckpoints } from "../origin-log/logged-checkpoints.js";
import { quorumStatus, witnessFaults, type QuorumStatus } from "../quorum/state.js";
import { quorumSubject } from "../quorum/subject.js";
import type { AttributionRule, Store, StoredBatch } from "../store/index.js";

/** The quorum state of one stored batch version. */
export type VersionQuorum = { namespace: string; batchId: string; batchRoot: string; origin?: string } & QuorumStatus & {
  /** Set when the version's root is contested and this version is not the attributed claim: it cannot be final. */
  contested?: string;
  /** Set when the namespace has `require_logged: true` and this version's checkpoint is unlogged: it cannot be final. */
  unlogged?: string;
};

/**
 * A stored version whose checkpoint this node has not seen included in a witnessed head of its
 * origin's log (docs/FEDERATION_SEMANTICS.md §Origin logs).
 */
export interface UnloggedCheckpoint {
  namespace: string;
  batchId: string;
  batchRoot: string;
  origin: string;
}

/** One claim on a contested root (docs/FEDERATION_SEMANTICS.md §6. Threat model). */
export interface RootClaim {
  origin: string;
  batchId: string;
  createdAt: number;
  size: number;
  /** The claim attribution names: only its version can be final, and its copy is served first. */
  attributed: boolean;
}

/** A root held under checkpoints of two or more origins, or of one origin with two shapes. */
export interface ContestedRoot {
  namespace: string;
  batchRoot: string;
  claims: RootClaim[];
}

/** A cosignature by a listed witness of a checkpoint no origin signature held here backs (the explorer's row, with the cosignature typed). */
export interface WitnessFault extends Omit<WitnessFaultView, "cosignature"> {
  cosignature: Cosignature;
}

export interface QuorumReport {
  quorum: VersionQuorum[];
  contested: ContestedRoot[];
  witnessFaults: WitnessFault[];
  /** The selected versions with a checkpoint that is not logged. */
  unlogged: UnloggedCheckpoint[];
}

/** An entry of the `checkpoint-conflicts` document: one origin's two signed shapes of one root. */
export interface CheckpointConflict {
  kept: Checkpoint;
  other: Checkpoint;
}

/**
 * The attribution rule of each namespace from the configuration: its quorum policy, and each
 * witness's key so two DIDs holding one key count once. Undefined: no quorum, nothing attributed.
 * @example store.setAttribution(attributionRules(config, keys))
 */
export function attributionRules(config: NodeConfig, keys: ReadonlyMap<string, KeyObject>): (namespace: string) => AttributionRule | undefined {
  const keyOf = keyNamer(keys);
  const logged = LoggedCheckpoints.of(config.federation.mesh.stateDir).refresh();
  const loggedAt = (checkpoint: string) => logged.witnessedAt(checkpoint);
  return (namespace) => {
    const policy = config.federation.namespaces.get(namespace)?.quorum;
    return policy === undefined ? undefined : { policy: { k: policy.k, witnesses: [...policy.witnesses] }, keyOf, loggedAt };
  };
}

function keyNamer(keys: ReadonlyMap<string, KeyObject>): (signer: string) => string {
  return (signer) => {
    const key = keys.get(signer);
    return key === undefined ? `did:${signer}` : Buffer.from(rawPublicKey(key)).toString("hex");
  };
}

/**
 * The shapes one origin signed for one root besides the one its version holds, from the
 * `checkpoint-conflicts` document (docs/STATE.md §Checkpoints), of one namespace.
 * @example (await conflictShapes(store, "dao:x")).length
 */
export async function conflictShapes(store: Store, namespace: string): Promise<CheckpointConflict[]> {
  const list = (await store.getDoc<CheckpointConflict[]>(CHECKPOINT_CONFLICTS_DOC).catch(() => undefined)) ?? [];
  return Array.isArray(list) ? list.filter((e) => e?.kept?.namespace === namespace && e.other?.namespace === namespace) : [];
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The quorum state of a namespace's stored versions (all, or those of `batchId`), its contested
 * roots (all of the namespace, or those touching `batchId`) and the witness faults among the
 * cosignatures of the versions read. Without `quorum` in the configuration a version is final
 * once this node verified a winner, read from the index alone, unless its root is contested.
 * @example (await quorumReport(store, config, keys, me.did, "dao:vaultmesh")).contested.length
 */
export async function quorumReport(store: Store, config: NodeConfig, keys: ReadonlyMap<string, KeyObject>, self: string, namespace: string, batchId?: string): Promise<QuorumReport> {
  const policy = config.federation.namespaces.get(namespace)?.quorum;
  const requireLogged = config.federation.namespaces.get(namespace)?.requireLogged === true;
  const logged = LoggedCheckpoints.of(config.federation.mesh.stateDir).refresh();
  const summaries = store.listBatches(namespace).filter((b) => batchId === undefined || b.batchId === batchId);
  const unlogged: UnloggedCheckpoint[] = summaries.filter((b) => b.origin !== undefined && !logged.hasVersion(namespace, b.batchId, b.batchRoot, b.origin)).map((b) => ({ namespace, batchId: b.batchId, batchRoot: b.batchRoot, origin: b.origin! }));
  const isUnlogged = new Set(unlogged.map((u) => LoggedCheckpoints.versionKey(namespace, u.batchId, u.batchRoot, u.origin)));
  const shapes = await conflictShapes(store, namespace);
  const contested = await contestsOf(store, config, keys, namespace, shapes, batchId);
  // Per version (batchId, root, origin) of a contested root: the origins claiming the root, and whether one of the version's claims is attributed.
  const verdict = new Map<string, { attributed: boolean; origins: string[] }>();
  for (const c of contested) {
    const origins = [...new Set(c.claims.map((x) => x.origin))];
    for (const claim of c.claims) {
      const k = `${claim.batchId}\u0000${c.batchRoot}\u0000${claim.origin}`;
      verdict.set(k, { attributed: (verdict.get(k)?.attributed ?? false) || claim.attributed, origins });
    }
  }
  const gate = (q0: VersionQuorum): VersionQuorum => {
    const q = requireLogged ? gateUnlogged(q0, isUnlogged) : q0;
    const k = `${q.batchId}\u0000${q.batchRoot}\u0000${q.origin ?? ""}`;
    const v = verdict.get(k);
    if (v === undefined || v.attributed) return q;
    const note = `root ${q.batchRoot} is contested (claimed by ${v.origins.join(", ")}) and this version is not attributed${policy === undefined ? " (no quorum policy: nothing is attributed)" : ""}`;
    if (q.state !== "final") return { ...q, contested: note };
    return { namespace: q.namespace, batchId: q.batchId, batchRoot: q.batchRoot, ...(q.origin === undefined ? {} : { origin: q.origin }), state: "awaiting", k: q.k, cosigners: q.cosigners, needed: 0, notYet: [], disagree: [], contested: note, ...(q.unlogged === undefined ? {} : { unlogged: q.unlogged }) };
  };

  if (policy === undefined) {
    const quorum = summaries.map((b): VersionQuorum => {
      const id = { namespace, batchId: b.batchId, batchRoot: b.batchRoot, ...(b.origin === undefined ? {} : { origin: b.origin }) };
      return gate(b.outcomes.verified > 0 ? { ...id, state: "final", k: 1, cosigners: [self] } : { ...id, state: "awaiting", k: 1, cosigners: [], needed: 1, notYet: [self], disagree: [] });
    });
    return { quorum, contested, witnessFaults: [], unlogged };
  }
  const quorum: VersionQuorum[] = [];
  const faults: WitnessFault[] = [];
  for (const id of [...new Set(summaries.map((b) => b.batchId))]) {
    const versions: StoredBatch[] = await store.getBatchVersions(namespace, id);
    const held = versions.flatMap((v) => v.cosignatures ?? []);
    for (const v of versions) {
      const subject = quorumSubject(v);
      const origin = v.checkpoint?.origin;
      const at = { namespace, batchId: v.batchId, batchRoot: v.batchRoot, ...(origin === undefined ? {} : { origin }) };
      if (subject === undefined) {
        quorum.push(gate({ ...at, state: "awaiting", k: policy.k, cosigners: [], needed: policy.k, notYet: [...policy.witnesses], disagree: [] }));
        continue;
      }
      // Every checkpoint of this origin and batch id that this node holds signed: each version's, and the other shapes kept as evidence.
      const signed = new Set<string>();
      for (const x of versions) if (x.checkpoint !== undefined && x.checkpoint.origin === subject.origin) signed.add(messageDigest(x.checkpoint));
      for (const e of shapes) for (const cp of [e.kept, e.other]) if (cp.origin === subject.origin && cp.batchId === id) signed.add(messageDigest(cp));
      quorum.push(gate({ ...at, ...quorumStatus(subject, policy, keys, held, signed) }));
      for (const c of witnessFaults(subject, policy, keys, held.filter((x) => x.batchRoot === v.batchRoot), signed)) {
        faults.push({ namespace, batchId: id, batchRoot: v.batchRoot, origin: subject.origin, signer: c.signer, checkpoint: c.checkpoint, reason: `${c.signer} cosigned checkpoint ${c.checkpoint} of ${subject.origin}'s batch ${id}, which that origin never signed (as far as this node holds)`, cosignature: c });
      }
    }
  }
  return { quorum, contested, witnessFaults: faults, unlogged };
}

/**
 * With `require_logged: true`: a final version whose checkpoint is unlogged is awaiting instead,
 * with the reason (docs/FEDERATION_SEMANTICS.md §Origin logs); a version without a checkpoint
 * (0.1.0) cannot be logged either.
 */
function gateUnlogged(q: VersionQuorum, unlogged: ReadonlySet<string>): VersionQuorum {
  const isUnlogged = q.origin === undefined || unlogged.has(LoggedCheckpoints.versionKey(q.namespace, q.batchId, q.batchRoot, q.origin));
  if (!isUnlogged) return q;
  const note = q.origin === undefined ? "this version has no checkpoint, so it cannot be logged (require_logged)" : `the checkpoint of ${q.origin} is not in a witnessed head of its origin's log (require_logged)`;
  if (q.state !== "final") return { ...q, unlogged: note };
  return { namespace: q.namespace, batchId: q.batchId, batchRoot: q.batchRoot, ...(q.origin === undefined ? {} : { origin: q.origin }), state: "awaiting", k: q.k, cosigners: q.cosigners, needed: 0, notYet: [], disagree: [], unlogged: note };
}

/**
 * The contested roots of a namespace (those touching `batchId` when given), each claim with its
 * attribution: versions of one root by two origins (from the index), and one origin's other
 * shapes of a root (from `shapes`). Each claim's cosignatures are read from the version files.
 */
async function contestsOf(store: Store, config: NodeConfig, keys: ReadonlyMap<string, KeyObject>, namespace: string, shapes: readonly CheckpointConflict[], batchId: string | undefined): Promise<ContestedRoot[]> {
  const roots = new Map<string, Set<string>>();
  const note = (root: string, id: string) => roots.set(root, (roots.get(root) ?? new Set()).add(id));
  for (const c of store.contestedRoots(namespace)) for (const v of c.versions) note(c.batchRoot, v.batchId);
  for (const e of shapes) note(e.kept.batchRoot, e.kept.batchId);
  const rule = attributionRules(config, keys)(namespace);
  const out: ContestedRoot[] = [];
  for (const [batchRoot, ids] of [...roots].sort(([a], [b]) => cmp(a, b))) {
    if (batchId !== undefined && !ids.has(batchId)) continue;
    const checkpoints = new Map<string, Checkpoint>();
    const cosignatures: Cosignature[] = [];
    for (const id of ids) {
      for (const v of await store.getBatchVersions(namespace, id)) {
        if (v.batchRoot !== batchRoot || v.checkpoint === undefined) continue;
        checkpoints.set(messageDigest(v.checkpoint), v.checkpoint);
        cosignatures.push(...(v.cosignatures ?? []));
      }
    }
    for (const e of shapes) for (const cp of [e.kept, e.other]) if (cp.batchRoot === batchRoot) checkpoints.set(messageDigest(cp), cp);
    const claims = [...checkpoints].sort(([a, x], [b, y]) => cmp(x.origin, y.origin) || cmp(x.batchId, y.batchId) || x.createdAt - y.createdAt || x.size - y.size || cmp(a, b));
    const origins = new Set(claims.map(([, cp]) => cp.origin));
    // Two claims of one origin with the same shape under two batch ids is not a contest; one origin's two shapes is.
    const shapesOf = new Map<string, Set<string>>();
    for (const [, cp] of claims) shapesOf.set(cp.origin, (shapesOf.get(cp.origin) ?? new Set()).add(`${cp.createdAt}/${cp.size}`));
    if (origins.size < 2 && ![...shapesOf.values()].some((s) => s.size > 1)) continue;
    const marks = cosignatures.map((c) => ({ signer: c.signer, checkpoint: c.checkpoint, ts: c.ts }));
    // Earliest witnessed inclusion in the origins' logs decides; the witness times only when no claim is logged.
    const winner = attributedClaim(claims.map(([digest]) => { const loggedAt = rule?.loggedAt?.(digest); return { checkpoint: digest, cosignatures: marks, ...(loggedAt === undefined ? {} : { loggedAt }) }; }), rule?.policy, rule?.keyOf);
    out.push({ namespace, batchRoot, claims: claims.map(([, cp], i) => ({ origin: cp.origin, batchId: cp.batchId, createdAt: cp.createdAt, size: cp.size, attributed: i === winner })) });
  }
  return out;
}
