/**
 * This node's origin log and witness service on a runtime
 * (docs/FEDERATION_PROTOCOL.md §Origin log): which logs it witnesses (peers.yaml `origin`
 * entries), which witnesses it asks (the quorum witnesses of the namespaces it seals in, with a
 * URL and a witness key), one service per runtime.
 */
import { headUrls, watchForks, type HeadSources } from "../origin-log/monitor.js";
import { logOrigin } from "../origin-log/origin-log.js";
import { AnswerTooLargeError, readCapped } from "../anchors/capped-fetch.js";
import { LoggedCheckpoints, type LoggedRecord } from "../origin-log/logged-checkpoints.js";
import { messageDigest } from "../messages/canonical.js";
import { OriginLogService, type LogWitness } from "../origin-log/service.js";
import type { ForkEvidence } from "../tlog/witness.js";
import type { Checkpoint } from "../messages/checkpoint.js";
import { checkpointDigest } from "../reconcile/version-items.js";
import { verifyLogged, type LogInclusionProof, type LoggedCheck, type LogTrust } from "../origin-log/logged.js";
import type { NodeConfig } from "../config/types.js";
import type { NodeKey } from "../identity/keys.js";
import type { NodeRuntime } from "./runtime.js";
import type { OriginLogPanel } from "../explorer/source.js";

const services = new WeakMap<NodeRuntime, OriginLogService>();

/** The largest `/log/` answer read from a peer (docs/FEDERATION_PROTOCOL.md §Witnessed heads): a note with 100 signatures fits. */
export const MAX_LOG_ANSWER_BYTES = 64 * 1024;

/**
 * The body of a peer's `/log/` answer as UTF-8, or undefined when it is over `maxBytes` (the
 * rest is not read: lib/anchors/capped-fetch.ts).
 * @example const text = await readLimited(await fetch(url))
 */
export async function readLimited(res: Response, maxBytes = MAX_LOG_ANSWER_BYTES): Promise<string | undefined> {
  try {
    return Buffer.from(await readCapped(res, maxBytes)).toString("utf8");
  } catch (e) {
    if (e instanceof AnswerTooLargeError) return undefined;
    throw e;
  }
}

/** The quorum witnesses of every namespace this node may seal in, itself excluded. */
export function logWitnesses(config: NodeConfig): LogWitness[] {
  const me = config.federation.mesh.nodeId;
  const out = new Map<string, LogWitness>();
  for (const ns of config.federation.namespaces.values()) {
    if (ns.origins !== undefined && !ns.origins.includes(me)) continue;
    for (const did of ns.quorum?.witnesses ?? []) {
      const url = config.peers.get(did)?.url;
      const publicKey = config.witnesses.get(did);
      if (did !== me && url !== undefined && publicKey !== undefined) out.set(did, { did, url, publicKey });
    }
  }
  return [...out.values()].sort((a, b) => (a.did < b.did ? -1 : 1));
}

/**
 * An origin-log service over a configuration (read each time, so a reload applies) and the
 * node's key; `status` uses it without a runtime.
 * @example await originLogService(() => config, key, () => Math.floor(Date.now() / 1000)).summary()
 */
export function originLogService(config: () => NodeConfig, key: NodeKey, now: () => number): OriginLogService {
  return new OriginLogService({
    stateDir: config().federation.mesh.stateDir,
    did: config().federation.mesh.nodeId,
    key,
    logKeys: () => config().origins,
    witnesses: () => logWitnesses(config()),
    now,
    async post(url, body) {
      const res = await fetch(url, { method: "POST", body, headers: { "content-type": "text/plain; charset=utf-8" }, signal: AbortSignal.timeout(10_000), redirect: "error" });
      const text = await readLimited(res);
      if (text === undefined) throw new Error(`the answer of ${url} is over ${MAX_LOG_ANSWER_BYTES} bytes`);
      return { status: res.status, body: text };
    },
  });
}

/**
 * The runtime's origin-log service, created on first use.
 * @example await (await originLogOf(runtime).log()).append([checkpoint])
 */
export function originLogOf(runtime: NodeRuntime): OriginLogService {
  let svc = services.get(runtime);
  if (svc === undefined) {
    svc = originLogService(() => runtime.config, runtime.key, () => runtime.now());
    services.set(runtime, svc);
  }
  return svc;
}

/** Every peers.yaml origin's heads: its own endpoint, and each peer's witness monitoring path. */
export function headSources(runtime: NodeRuntime): HeadSources[] {
  const { config } = runtime;
  const me = config.federation.mesh.nodeId;
  return [...config.origins]
    .filter(([did]) => did !== me)
    .map(([did, publicKey]) => ({ did, publicKey, urls: headUrls(did, config.peers.get(did)?.url, [...config.peers.values()].filter((p) => p.did !== did).map((p) => p.url)) }));
}

/**
 * One round of watching the origins' logs for forks (lib/origin-log/monitor.ts); the forks new
 * to this node.
 * @example for (const f of await watchOriginLogs(runtime)) log.error("origin log fork", { origin: f.origin })
 */
export function watchOriginLogs(runtime: NodeRuntime): Promise<ForkEvidence[]> {
  return watchForks(headSources(runtime), async (url) => {
    const res = await fetch(url, { signal: AbortSignal.timeout(10_000), redirect: "error" });
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => undefined);
      return undefined;
    }
    return readLimited(res);
  }, originLogOf(runtime).witness);
}

/**
 * The origin log's lines of `/metrics` (docs/FEDERATION_OPERATIONS.md §Monitoring): this node's log
 * size, the size of its latest witnessed head, the lag between them, and fork evidence held.
 * @example text += await originLogMetrics(runtime)
 */
export async function originLogMetrics(runtime: NodeRuntime): Promise<string> {
  const s = await originLogOf(runtime).summary();
  const lines: string[] = [];
  const metric = (name: string, help: string, value: number) => lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name} ${value}`);
  metric("vmsh_federation_log_size", "Checkpoints in this node's origin log (size of its latest head).", s.size);
  metric("vmsh_federation_log_witnessed_size", "Size of the latest head of this node's origin log that a witness cosigned.", s.witnessedSize);
  metric("vmsh_federation_log_witnessed_lag", "Checkpoints in this node's origin log not yet in a witnessed head.", s.size - s.witnessedSize);
  metric("vmsh_federation_log_forks", "Fork evidence held: two signed heads of one origin log that cannot both be true.", s.forks);
  // Per namespace: stored versions whose checkpoint this node has not seen in a witnessed head (docs/FEDERATION_SEMANTICS.md §Origin logs).
  const logged = LoggedCheckpoints.of(runtime.config.federation.mesh.stateDir).refresh();
  lines.push("# HELP vmsh_federation_unlogged_checkpoints Stored versions whose checkpoint is in no witnessed head of its origin's log, as far as this node has seen.", "# TYPE vmsh_federation_unlogged_checkpoints gauge");
  for (const namespace of [...runtime.config.federation.namespaces.keys()].sort()) {
    const n = runtime.store.namespaces().includes(namespace) ? runtime.store.listBatches(namespace).filter((b) => b.origin !== undefined && !logged.hasVersion(namespace, b.batchId, b.batchRoot, b.origin)).length : 0;
    lines.push(`vmsh_federation_unlogged_checkpoints{namespace="${namespace}"} ${n}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * Whom this node believes about `checkpoint`'s origin log in `namespace`: the origin's key
 * (peers.yaml `origin`, or this node's own), the namespace's quorum witnesses with their keys,
 * and k (1 without a quorum policy). Undefined when the origin's key is unknown.
 * @example verifyLogged(cp, proof, logTrustFor(runtime, cp.namespace, cp.origin)!)
 */
export function logTrustFor(runtime: NodeRuntime, namespace: string, origin: string): LogTrust | undefined {
  const { config } = runtime;
  const me = config.federation.mesh.nodeId;
  const originKey = origin === me ? runtime.key.publicKeyBytes : config.origins.get(origin);
  if (originKey === undefined) return undefined;
  const quorum = config.federation.namespaces.get(namespace)?.quorum;
  const witnesses = new Map<string, Uint8Array>();
  for (const did of quorum?.witnesses ?? []) {
    const key = did === me ? runtime.key.publicKeyBytes : config.witnesses.get(did);
    if (key !== undefined) witnesses.set(did, key);
  }
  return { originKey, witnesses, k: quorum?.k ?? 1 };
}

/**
 * The inclusion of `checkpoint` in its origin's witnessed log head, checked with this node's
 * trust: from this node's own log when it is the origin, else from the origin's
 * `GET /log/inclusion/<digest>` (an origin without a URL in peers.yaml cannot be asked).
 * `unlogged` when the origin has no proof, or none that verifies.
 * @example const r = await logInclusionOf(runtime, cp); if (r.state === "logged") proofFile.log = r.proof
 */
export async function logInclusionOf(runtime: NodeRuntime, checkpoint: Checkpoint): Promise<{ state: "logged"; proof: LogInclusionProof; check: LoggedCheck & { outcome: "verified" } } | { state: "unlogged"; reason: string }> {
  const trust = logTrustFor(runtime, checkpoint.namespace, checkpoint.origin);
  if (trust === undefined) return { state: "unlogged", reason: `no key for origin ${checkpoint.origin}` };
  const digest = checkpointDigest(checkpoint);
  let proof: LogInclusionProof | undefined;
  if (checkpoint.origin === runtime.me.did) {
    const inc = await originLogOf(runtime).inclusion(digest);
    if (inc !== undefined) proof = { head: inc.head, index: inc.index, proof: inc.proof };
  } else {
    const url = runtime.config.peers.get(checkpoint.origin)?.url;
    if (url === undefined) return { state: "unlogged", reason: `origin ${checkpoint.origin} has no url in peers.yaml` };
    const res = await fetch(`${url.replace(/\/$/, "")}/log/inclusion/${digest.slice(7)}`, { signal: AbortSignal.timeout(10_000), redirect: "error" }).catch(() => undefined);
    const text = res === undefined ? undefined : res.status === 200 ? await readLimited(res) : (await res.body?.cancel().catch(() => undefined), undefined);
    try {
      const data = text === undefined ? undefined : (JSON.parse(text) as LogInclusionProof);
      if (data !== undefined) proof = { head: data.head, index: data.index, proof: data.proof };
    } catch {
      proof = undefined;
    }
  }
  if (proof === undefined) return { state: "unlogged", reason: "the origin holds no inclusion proof for this checkpoint" };
  const check = verifyLogged(checkpoint, proof, trust);
  if (check.outcome === "rejected") return { state: "unlogged", reason: check.reason };
  if (check.witnessedAt === undefined) return { state: "unlogged", reason: `the head including it has ${check.cosigners.length} of ${trust.k} witness cosignatures, the origin's own not counted` };
  return { state: "logged", proof, check };
}

/** Per runtime: when each unlogged version was last asked about (versionKey → seconds). */
const lastAsked = new WeakMap<NodeRuntime, Map<string, number>>();

/**
 * One round of learning which stored checkpoints are logged (docs/FEDERATION_SEMANTICS.md
 * §Origin logs): for versions not yet known to be logged, the claims of contested roots first and
 * then those asked least recently, asks the origin for the inclusion proof (at most `budget`
 * asks), checks it with this node's trust and records the logged ones in
 * LoggedCheckpoints. When any is new, the store's attribution is chosen again. Returns how many
 * records were new or earlier.
 * @example if (await collectLogInclusions(runtime) > 0) log.info("checkpoints seen logged")
 */
export async function collectLogInclusions(runtime: NodeRuntime, budget = 16): Promise<number> {
  const logged = LoggedCheckpoints.of(runtime.config.federation.mesh.stateDir).refresh();
  const asked = lastAsked.get(runtime) ?? new Map<string, number>();
  lastAsked.set(runtime, asked);
  const store = runtime.store;
  const candidates: Array<{ namespace: string; batchId: string; batchRoot: string; origin: string; contested: boolean; at: number }> = [];
  for (const namespace of store.namespaces().sort()) {
    const contested = new Set(store.contestedRoots(namespace).map((c) => c.batchRoot));
    for (const b of store.listBatches(namespace)) {
      if (b.origin === undefined || logged.hasVersion(namespace, b.batchId, b.batchRoot, b.origin)) continue;
      candidates.push({ namespace, batchId: b.batchId, batchRoot: b.batchRoot, origin: b.origin, contested: contested.has(b.batchRoot), at: asked.get(LoggedCheckpoints.versionKey(namespace, b.batchId, b.batchRoot, b.origin)) ?? 0 });
    }
  }
  candidates.sort((x, y) => Number(y.contested) - Number(x.contested) || x.at - y.at);
  const found: Array<[string, LoggedRecord]> = [];
  for (const c of candidates.slice(0, Math.max(0, budget))) {
    asked.set(LoggedCheckpoints.versionKey(c.namespace, c.batchId, c.batchRoot, c.origin), runtime.now());
    const version = (await store.getBatchVersions(c.namespace, c.batchId)).find((v) => v.batchRoot === c.batchRoot && v.checkpoint?.origin === c.origin);
    if (version?.checkpoint === undefined) continue;
    const r = await logInclusionOf(runtime, version.checkpoint);
    if (r.state !== "logged" || r.check.witnessedAt === undefined) continue;
    found.push([messageDigest(version.checkpoint), { namespace: c.namespace, batchId: c.batchId, batchRoot: c.batchRoot, origin: c.origin, witnessedAt: r.check.witnessedAt, size: r.check.size, index: r.check.index, witnesses: r.check.cosigners.map((x) => x.did) }]);
  }
  const changed = await logged.record(found);
  if (changed > 0) runtime.reattribute();
  return changed;
}

/** One origin's log as this node knows it (the explorer's log panel, GET /api/v1/log). */
export type OriginLogView = OriginLogPanel;

/**
 * This node's own log and every peers.yaml origin's, as far as this node has seen them.
 * @example (await originLogViews(runtime)).find((l) => l.self)?.size
 */
export async function originLogViews(runtime: NodeRuntime): Promise<OriginLogView[]> {
  const svc = originLogOf(runtime);
  const own = await svc.summary();
  const forks = await svc.witness.forks();
  const heads = LoggedCheckpoints.of(runtime.config.federation.mesh.stateDir).refresh().latestHeads();
  const out: OriginLogView[] = [{ origin: runtime.me.did, log: own.origin, self: true, size: own.size, witnessedSize: own.witnessedSize, witnesses: own.witnesses, forks: own.forks }];
  for (const did of [...runtime.config.origins.keys()].filter((d) => d !== runtime.me.did).sort()) {
    const log = logOrigin(did);
    const cosigned = (await svc.witness.latest(log))?.size ?? 0;
    const seen = heads.get(did);
    out.push({ origin: did, log, self: false, size: Math.max(cosigned, seen?.size ?? 0), witnessedSize: seen?.size ?? 0, ...(seen === undefined ? {} : { witnessedAt: seen.witnessedAt }), witnesses: seen?.witnesses ?? [], forks: forks.filter((f) => f.origin === log).length });
  }
  return out;
}
