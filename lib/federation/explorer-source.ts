/**
 * `ExplorerSource` over today's daemon parts: the FederationNode (configuration, back-off,
 * identity), its Store, its Outbox and its PeerClient (docs/EXPLORER.md, "Where the data comes
 * from"). Peer probes and topologies are cached briefly so that a page full of readers costs
 * the peers one /health and one topology request per interval, not one per reader.
 */
import type { FederationNode } from "./node.js";
import type { Outbox } from "./outbox.js";
import type { PeerClient } from "./peer-client.js";
import { peerSummary } from "./peer-health.js";
import { originLogViews } from "./origin-log.js";
import { lastSyncs } from "./sync-state.js";
import { publicKeyFromRaw } from "../identity/keys.js";
import type { Store } from "../store/index.js";
import type { ExplorerChange, ExplorerSource, PeerView, TopologyView } from "../explorer/source.js";
import { messageDigest } from "../messages/canonical.js";
import { revokedVersions, rosterView } from "./roster-view.js";
import { logInclusionOf, logTrustFor } from "./origin-log.js";
import { exportableLog } from "../proof/log-part.js";
import { answerTopology, authenticateTopologyRequest, topologyRequest, verifyTopologyAnswer } from "../explorer/topology.js";

export interface NodeSourceParts {
  node: FederationNode;
  store: Store;
  outbox: Outbox;
  client: PeerClient;
  version: string;
  /** How long a peer probe or topology stays fresh, ms (default 5 000). */
  cacheMs?: number;
  /** How often watchers are told about anchor changes the receipt events do not carry, ms (default 2 000). */
  pollMs?: number;
}

const PROBE_TIMEOUT_MS = 3_000;

/** A value recomputed at most once per `ms`; concurrent callers share one computation. */
function cached<T>(ms: number, compute: () => Promise<T>): () => Promise<T> {
  let value: { at: number; promise: Promise<T> } | undefined;
  return () => {
    const now = Date.now();
    if (value === undefined || now - value.at > ms) {
      const promise = compute();
      value = { at: now, promise };
      promise.catch(() => (value = undefined));
    }
    return value.promise;
  };
}

/**
 * The explorer's view of a running node.
 * @example createExplorer(nodeExplorerSource({ node, store, outbox, client, version: VERSION }))
 */
export function nodeExplorerSource(parts: NodeSourceParts): ExplorerSource {
  const { node, store, outbox, client } = parts;
  const cacheMs = parts.cacheMs ?? 5_000;
  const config = () => node.config;

  const probe = cached(cacheMs, async (): Promise<PeerView[]> => {
    const syncs = await lastSyncs(store);
    const backoffs = node.syncBackoffs();
    const cfg = config();
    const namespaces = [...cfg.federation.namespaces.values()];
    return Promise.all(
      [...cfg.peers.values()].map(async (p): Promise<PeerView> => {
        const summary = await peerSummary(client, p, namespaces, syncs.get(p.did) ?? {}, PROBE_TIMEOUT_MS);
        const backoff: PeerView["backoff"] = {};
        for (const ns of namespaces) {
          const b = backoffs.get(`${p.did} ${ns.name}`);
          if (b !== undefined) backoff[ns.name] = { failures: b.failures, until: b.until };
        }
        return { ...summary, backoff, outboxDepth: (await outbox.pending(p.did)).length };
      }),
    );
  });

  const topologies = cached(cacheMs, async () => {
    const cfg = config();
    return Promise.all(
      [...cfg.peers.values()].map(async (p): Promise<{ peer: string; topology?: TopologyView; error?: string }> => {
        const request = topologyRequest(node.runtime.me.did, p.did, node.now(), node.runtime.me.privateKey);
        const r = await client.postJson(p, "/federation/topology", request, { maxResponseBytes: 1024 * 1024, timeoutMs: PROBE_TIMEOUT_MS });
        if (!r.ok) return { peer: p.did, error: `${r.code}: ${r.message}` };
        const v = verifyTopologyAnswer(r.body, request, publicKeyFromRaw(p.verifyKey), node.now(), cfg.federation.mesh.clockSkewS);
        if (!v.ok) return { peer: p.did, error: `refused the answer: ${v.reason}` };
        // Only namespaces this node routes to the peer asked label its edges: the rest are the peer's word alone (docs/EXPLORER.md §Topology bounds).
        const routed = new Set([...cfg.federation.namespaces.values()].filter((ns) => ns.peers.includes(p.did)).map((ns) => ns.name));
        const peers = v.topology.peers.map((q) => ({ did: q.did, namespaces: q.namespaces.filter((n) => routed.has(n)) })).filter((q) => q.namespaces.length > 0);
        return { peer: p.did, topology: { node: v.topology.node, peers } };
      }),
    );
  });

  const listeners = new Set<(change: ExplorerChange) => void>();
  let stopPolling: (() => void) | undefined;
  const emit = (namespace: string) => {
    for (const l of listeners) l({ kind: "batches", namespace });
  };
  const fingerprint = (ns: string) => store.listBatches(ns).map((b) => `${b.batchId}\u0000${b.batchRoot}\u0000${b.origin ?? ""}\u0000${b.receiptCount}\u0000${b.outcomes.verified}/${b.outcomes.pending}/${b.outcomes.rejected}`).join("\n");
  const startWatching = () => {
    const seen = new Map(store.namespaces().map((ns) => [ns, fingerprint(ns)]));
    const offReceipts = store.onReceiptsAdded((ns) => emit(ns));
    // Anchor verdicts change without new receipts (a pending anchor verified by the re-check).
    const timer = setInterval(() => {
      for (const ns of store.namespaces()) {
        const now = fingerprint(ns);
        if (seen.get(ns) !== now) {
          seen.set(ns, now);
          emit(ns);
        }
      }
    }, parts.pollMs ?? 2_000);
    timer.unref();
    stopPolling = () => {
      offReceipts();
      clearInterval(timer);
    };
  };

  let refreshing: Promise<void> | undefined;
  return {
    fresh() {
      // One refresh at a time, shared by every request that arrives while it runs.
      refreshing ??= store.refresh().finally(() => (refreshing = undefined));
      return refreshing;
    },
    nodeId: () => config().federation.mesh.nodeId,
    version: () => parts.version,
    now: () => node.now(),
    uptimeS: () => Math.floor((Date.now() - node.startedAtMs) / 1000),
    explorerConfig: () => config().federation.explorer,
    namespaces: () => [...config().federation.namespaces.values()].map((ns) => ({ name: ns.name, peers: [...ns.peers] })),
    batches: (namespace) => (store.namespaces().includes(namespace) ? store.listBatches(namespace) : []),
    async batch(namespace, batchId, batchRoot) {
      if (!store.namespaces().includes(namespace)) return undefined;
      // Several origins may hold versions of one root (docs/STATE.md §Layout): the one served first is shown, its origin named in the summary.
      const summary = store.batchVersions(namespace, batchId, batchRoot)[0];
      if (summary === undefined) return undefined;
      const anchors = (await store.getBatch(namespace, batchId, batchRoot, summary.origin ?? null))?.anchors ?? [];
      // docs/FEDERATION_SEMANTICS.md §8. Quorum: final, awaiting or disputed, with who cosigned.
      const q = (await node.quorumOf(namespace, batchId)).find((v) => v.batchRoot === batchRoot && v.origin === summary.origin);
      if (q === undefined) return { summary, anchors };
      const { namespace: _n, batchId: _b, batchRoot: _r, origin: _o, ...quorum } = q;
      return { summary, anchors, quorum };
    },
    async quorumStates(namespace) {
      if (!store.namespaces().includes(namespace)) return new Map();
      return new Map((await node.quorumOf(namespace)).map((q) => [`${q.batchId} ${q.batchRoot} ${q.origin ?? ""}`, q.state]));
    },
    async receipts(id) {
      const found = [];
      for (const ns of store.namespaces()) {
        const r = await store.getReceipt(ns, id);
        if (r !== undefined) found.push(r);
      }
      return found;
    },
    async servedReceipt(namespace, id) {
      if (!store.namespaces().includes(namespace)) return undefined;
      const receipt = await store.getReceipt(namespace, id);
      if (receipt === undefined) return undefined;
      // The version whose copy is served (docs/STATE.md §Layout), so the file's checkpoint is the one the receipt was accepted against.
      const origin = store.receiptVersion(namespace, id)?.origin;
      return { receipt, version: await store.getBatch(namespace, receipt.batchId, receipt.batchRoot, origin ?? null) };
    },
    async logInclusion(checkpoint) {
      const r = await logInclusionOf(node.runtime, checkpoint);
      if (r.state === "unlogged") return r;
      // Held to verify-proof's count (the origin never a witness of its own log), so the file never carries a log part it refuses (docs/EXPLORER.md §The log part).
      return exportableLog(checkpoint, r.proof, logTrustFor(node.runtime, checkpoint.namespace, checkpoint.origin)!);
    },
    roster: async () => ({
      roster: rosterView(node.runtime.roster, node.runtime.rosterApplied, node.now()) ?? null,
      revoked: await revokedVersions(store, node.runtime.rosterHistory, node.config.federation.namespaces.keys()),
    }),
    equivocations: () => store.equivocations().map((e) => ({ namespace: e.namespace, batchId: e.batchId, batchRoots: [...e.batchRoots] })),
    async contested() {
      const out: Awaited<ReturnType<ExplorerSource["contested"]>> = { contested: [], witnessFaults: [] };
      for (const ns of config().federation.namespaces.keys()) {
        const r = await node.trustOf(ns);
        out.contested.push(...r.contested);
        out.witnessFaults.push(...r.witnessFaults);
      }
      return out;
    },
    async originLogs() {
      const unlogged = [];
      for (const ns of config().federation.namespaces.keys()) unlogged.push(...(await node.trustOf(ns)).unlogged);
      return { logs: await originLogViews(node.runtime), unlogged };
    },
    peers: probe,
    async answerTopology(json) {
      const request = authenticateTopologyRequest(json, node.runtime.me.did, node.runtime.authContext());
      // Saved before answering (docs/FEDERATION_PROTOCOL.md §Replay across restarts).
      await node.runtime.horizon.admit(request.signer, request.ts).catch((e: unknown) => {
        node.runtime.replay.forget(messageDigest(request));
        throw e;
      });
      return answerTopology(request, config(), node.now(), node.runtime.me.privateKey);
    },
    peerTopologies: topologies,
    watch(listener) {
      listeners.add(listener);
      if (listeners.size === 1) startWatching();
      return () => {
        listeners.delete(listener);
        if (listeners.size === 0) {
          stopPolling?.();
          stopPolling = undefined;
        }
      };
    },
  };
}
