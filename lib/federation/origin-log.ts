/**
 * This node's origin log and witness service on a runtime
 * (docs/FEDERATION_PROTOCOL.md §Origin log): which logs it witnesses (peers.yaml `origin`
 * entries), which witnesses it asks (the quorum witnesses of the namespaces it seals in, with a
 * URL and a witness key), one service per runtime.
 */
import { headUrls, watchForks, type HeadSources } from "../origin-log/monitor.js";
import { MAX_LOG_ANSWER_BYTES, readLimited } from "../origin-log/read-limited.js";
import { OriginLogService, type LogWitness } from "../origin-log/service.js";
import type { ForkEvidence } from "../tlog/witness.js";
import type { NodeRuntime } from "./runtime.js";

const services = new WeakMap<NodeRuntime, OriginLogService>();

/** The quorum witnesses of every namespace this node may seal in, itself excluded. */
export function logWitnesses(runtime: NodeRuntime): LogWitness[] {
  const { config } = runtime;
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
 * The runtime's origin-log service, created on first use.
 * @example await (await originLogOf(runtime).log()).append([checkpoint])
 */
export function originLogOf(runtime: NodeRuntime): OriginLogService {
  let svc = services.get(runtime);
  if (svc === undefined) {
    svc = new OriginLogService({
      stateDir: runtime.config.federation.mesh.stateDir,
      did: runtime.me.did,
      key: runtime.key,
      logKeys: () => runtime.config.origins,
      witnesses: () => logWitnesses(runtime),
      now: () => runtime.now(),
      async post(url, body) {
        const res = await fetch(url, { method: "POST", body, headers: { "content-type": "text/plain; charset=utf-8" }, signal: AbortSignal.timeout(10_000), redirect: "error" });
        const text = await readLimited(res);
        if (text === undefined) throw new Error(`the answer of ${url} is over ${MAX_LOG_ANSWER_BYTES} bytes`);
        return { status: res.status, body: text };
      },
    });
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
  return `${lines.join("\n")}\n`;
}
