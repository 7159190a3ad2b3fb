/**
 * The explorer's read-only JSON API under /api/v1/ (docs/EXPLORER.md §API;
 * docs/explorer-openapi.json is the contract, and a test holds the two together). Every
 * handler reads through `ExplorerSource` and answers JSON; none writes.
 */
import type { AnchorRecord } from "../conflict/record.js";
import { ProtocolError } from "../errors.js";
import { verifyInclusion } from "../merkle/verify.js";
import type { BatchSummary } from "../store/types.js";
import { merkleBranch } from "./branch.js";
import { proofFile } from "../proof/file.js";
import type { ExplorerSource } from "./source.js";

export interface ApiAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

type Handler = (source: ExplorerSource, params: string[], query: URLSearchParams) => Promise<ApiAnswer> | ApiAnswer;

const ok = (body: unknown): ApiAnswer => ({ status: 200, body });
const notFound = (what: string): never => {
  throw new ProtocolError("NOT_FOUND", 404, what);
};

/** active: a verified anchor and receipts; held: nothing verified yet but something pending; rejected: every anchor rejected. */
export function batchStatus(b: BatchSummary): "active" | "held" | "rejected" {
  if (b.outcomes.verified > 0) return "active";
  if (b.outcomes.pending > 0) return "held";
  return "rejected";
}

function batchRow(b: BatchSummary) {
  // size is the origin's (its checkpoint); receipts is what this node holds of it.
  return { namespace: b.namespace, batchId: b.batchId, batchRoot: b.batchRoot, origin: b.origin ?? null, createdAt: b.createdAt, size: b.size ?? b.receiptCount, receipts: b.receiptCount, anchors: b.anchorCount, outcomes: b.outcomes, status: batchStatus(b), equivocal: b.equivocal };
}

/** The anchor that wins (docs/FEDERATION_SEMANTICS.md §3. Conflicts): verified and not superseded. */
function anchorRows(anchors: readonly AnchorRecord[]) {
  return anchors.map((a) => ({
    chain: a.chain,
    tx: a.tx,
    block: a.block,
    ts: a.ts,
    ...(a.contract !== undefined ? { contract: a.contract } : {}),
    ...(a.memo !== undefined && a.memo !== "" ? { memo: a.memo } : {}),
    outcome: a.outcome,
    reason: a.reason ?? null,
    winner: a.outcome === "verified" && a.superseded_by === undefined,
    superseded_by: a.superseded_by ?? null,
    evidence: a.evidence ?? null,
  }));
}

function intParam(query: URLSearchParams, name: string, min: number, max: number, fallback: number): number {
  const text = query.get(name);
  if (text === null) return fallback;
  if (!/^[0-9]{1,9}$/.test(text) || Number(text) < min || Number(text) > max) throw new ProtocolError("BAD_QUERY", 400, `query ${name} must be an integer from ${min} to ${max}`);
  return Number(text);
}

function knownNamespace(source: ExplorerSource, ns: string): void {
  if (!source.namespaces().some((n) => n.name === ns)) notFound(`namespace ${ns} is not federated by this node`);
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;

async function findReceipt(source: ExplorerSource, id: string, query: URLSearchParams) {
  if (!DIGEST.test(id)) throw new ProtocolError("BAD_QUERY", 400, "an event hash or receipt id is sha256: and 64 lower-case hex digits");
  const ns = query.get("namespace");
  const found = (await source.receipts(id)).filter((r) => ns === null || r.namespace === ns);
  if (found.length === 0) notFound(`no receipt ${id} is held by this node`);
  return found;
}

/** Peers of one peer drawn in the graph; past it they are counted in `truncated` (docs/EXPLORER.md §Topology bounds). */
export const MAX_REMOTES_PER_PEER = 20;
/** Characters of a peer's error kept in the topology's `errors`. */
const MAX_ERROR_CHARS = 200;

/** Route patterns: literal segments, and `*` for one URL-decoded segment passed in order. */
export const API_ROUTES: ReadonlyArray<{ pattern: string; handler: Handler }> = [
  {
    pattern: "/api/v1/node",
    handler: (s) => ok({ node: s.nodeId(), version: s.version(), uptimeS: s.uptimeS(), namespaces: s.namespaces().map((n) => n.name) }),
  },
  { pattern: "/api/v1/peers", handler: async (s) => ok({ peers: await s.peers() }) },
  { pattern: "/api/v1/roster", handler: async (s) => ok((await s.roster?.()) ?? { roster: null, revoked: [] }) },
  {
    pattern: "/api/v1/topology",
    handler: async (s) => {
      const me = s.nodeId();
      const peers = await s.peers();
      const nodes = new Map<string, { did: string; kind: "self" | "peer" | "remote"; reachable: boolean | null; latencyMs: number | null; outboxDepth: number | null; via: string | null }>();
      nodes.set(me, { did: me, kind: "self", reachable: true, latencyMs: null, outboxDepth: null, via: null });
      const edges = new Map<string, { from: string; to: string; namespaces: Set<string> }>();
      const edge = (a: string, b: string, namespaces: readonly string[]) => {
        const [from, to] = a < b ? [a, b] : [b, a];
        const key = `${from}\u0000${to}`;
        const e = edges.get(key) ?? { from, to, namespaces: new Set<string>() };
        for (const n of namespaces) e.namespaces.add(n);
        edges.set(key, e);
      };
      for (const p of peers) {
        nodes.set(p.did, { did: p.did, kind: "peer", reachable: p.reachable, latencyMs: p.latencyMs ?? null, outboxDepth: p.outboxDepth, via: null });
        if (p.namespaces.length > 0) edge(me, p.did, p.namespaces);
      }
      const errors: Array<{ peer: string; error: string }> = [];
      const truncated: Array<{ peer: string; shown: number; hidden: number }> = [];
      for (const t of await s.peerTopologies()) {
        if (t.topology === undefined) {
          // The reason may quote the peer's own error message: a bounded prefix of it.
          const error = t.error ?? "no answer";
          errors.push({ peer: t.peer, error: error.length > MAX_ERROR_CHARS ? `${error.slice(0, MAX_ERROR_CHARS)}…` : error });
          continue;
        }
        // docs/EXPLORER.md §Topology bounds: at most MAX_REMOTES_PER_PEER peers of each peer are drawn; the rest are counted.
        let shown = 0;
        let hidden = 0;
        for (const q of t.topology.peers) {
          if (!nodes.has(q.did)) {
            if (shown === MAX_REMOTES_PER_PEER) {
              hidden++;
              continue;
            }
            shown++;
            nodes.set(q.did, { did: q.did, kind: "remote", reachable: null, latencyMs: null, outboxDepth: null, via: t.peer });
          }
          edge(t.peer, q.did, q.namespaces);
        }
        if (hidden > 0) truncated.push({ peer: t.peer, shown, hidden });
      }
      return ok({
        node: me,
        nodes: [...nodes.values()],
        edges: [...edges.values()].map((e) => ({ from: e.from, to: e.to, namespaces: [...e.namespaces].sort() })),
        errors,
        truncated,
      });
    },
  },
  {
    pattern: "/api/v1/namespaces",
    handler: (s) => {
      const eq = s.equivocations();
      return ok({
        namespaces: s.namespaces().map((n) => {
          const batches = s.batches(n.name);
          return { name: n.name, peers: n.peers, batches: batches.length, receipts: batches.reduce((t, b) => t + b.receiptCount, 0), equivocations: eq.filter((e) => e.namespace === n.name).length };
        }),
      });
    },
  },
  {
    pattern: "/api/v1/namespaces/*/batches",
    handler: async (s, [ns], q) => {
      knownNamespace(s, ns!);
      const limit = intParam(q, "limit", 1, 200, 50);
      const offset = intParam(q, "offset", 0, 1_000_000_000, 0);
      const status = q.get("status");
      if (status !== null && !["active", "held", "rejected"].includes(status)) throw new ProtocolError("BAD_QUERY", 400, "query status must be active, held or rejected");
      const quorum = q.get("quorum");
      if (quorum !== null && !["final", "awaiting", "disputed"].includes(quorum)) throw new ProtocolError("BAD_QUERY", 400, "query quorum must be final, awaiting or disputed");
      const batchId = q.get("batchId");
      // The quorum state of each version rides in its row, so the list tells final from awaiting (docs/EXPLORER.md §What the page shows).
      const states = (await s.quorumStates?.(ns!)) ?? new Map<string, string>();
      const stateOf = (b: BatchSummary) => states.get(`${b.batchId} ${b.batchRoot} ${b.origin ?? ""}`) ?? null;
      const rows = s
        .batches(ns!)
        .filter((b) => (status === null || batchStatus(b) === status) && (quorum === null || stateOf(b) === quorum) && (batchId === null || b.batchId === batchId))
        .sort((a, b) => b.createdAt - a.createdAt || (a.batchId < b.batchId ? -1 : a.batchId > b.batchId ? 1 : 0) || (a.batchRoot < b.batchRoot ? -1 : 1));
      const page = rows.slice(offset, offset + limit).map((b) => ({ ...batchRow(b), quorum: stateOf(b) }));
      return ok({ namespace: ns, total: rows.length, offset, limit, items: page, next: offset + limit < rows.length ? offset + limit : null });
    },
  },
  {
    pattern: "/api/v1/namespaces/*/batches/*/*",
    handler: async (s, [ns, batchId, batchRoot]) => {
      knownNamespace(s, ns!);
      const v = await s.batch(ns!, batchId!, batchRoot!);
      if (v === undefined) return notFound(`batch ${batchId} with root ${batchRoot} is not held in ${ns}`);
      const anchors = anchorRows(v.anchors);
      return ok({ ...batchRow(v.summary), winner: anchors.find((a) => a.winner) ?? null, anchorRecords: anchors, ...(v.quorum !== undefined ? { quorum: v.quorum } : {}) });
    },
  },
  {
    pattern: "/api/v1/receipts/*",
    handler: async (s, [id], q) => {
      const found = await findReceipt(s, id!, q);
      return ok({
        receipts: await Promise.all(
          found.map(async (r) => {
            const v = await s.batch(r.namespace, r.batchId, r.batchRoot);
            const inclusion = verifyInclusion(r);
            return { receipt: r, inclusion: inclusion.ok ? { ok: true } : { ok: false, reason: inclusion.reason }, branch: merkleBranch(r) ?? null, batch: v ? batchRow(v.summary) : null };
          }),
        ),
      });
    },
  },
  {
    pattern: "/api/v1/receipts/*/proof",
    handler: async (s, [id], q) => {
      const [r] = await findReceipt(s, id!, q);
      const served = await s.servedReceipt(r!.namespace, id!);
      if (served === undefined) return notFound(`no receipt ${id} is held by this node`);
      const { receipt, version } = served;
      // A proof file binds the origin's checkpoint (docs/EXPLORER.md §Proof files): none can be made without it.
      if (version?.checkpoint === undefined) return notFound(`receipt ${id} is held in batch ${receipt.batchId} without its origin's signed checkpoint (state from 0.1.0), so no proof file can bind it`);
      // The log part only when a witnessed head includes the checkpoint; the x-vmsh-log header says which (docs/EXPLORER.md §Proof files).
      const logged = s.logInclusion === undefined ? { state: "unlogged" as const, reason: "this node does not look up origin logs" } : await s.logInclusion(version.checkpoint);
      const file = proofFile(receipt, { checkpoint: version.checkpoint, anchors: version.anchors, cosignatures: version.cosignatures ?? [] }, s.nodeId(), s.now(), logged.state === "logged" ? logged.proof : undefined);
      const log = logged.state === "logged" ? "logged" : `unlogged; reason="${logged.reason.replace(/[^\x20-\x7e]|["\\]/g, "?").slice(0, 300)}"`;
      return { status: 200, body: file, headers: { "content-disposition": `attachment; filename="proof-${id!.slice(7, 23)}.json"`, "x-vmsh-log": log } };
    },
  },
  {
    pattern: "/api/v1/equivocations",
    handler: async (s) =>
      ok({
        equivocations: await Promise.all(
          s.equivocations().map(async (e) => ({
            namespace: e.namespace,
            batchId: e.batchId,
            versions: await Promise.all(
              e.batchRoots.map(async (root) => {
                const v = await s.batch(e.namespace, e.batchId, root);
                return v ? { ...batchRow(v.summary), anchorRecords: anchorRows(v.anchors) } : { batchRoot: root };
              }),
            ),
          })),
        ),
      }),
  },
  {
    // docs/FEDERATION_SEMANTICS.md §6. Threat model: roots claimed twice, with each claim's attribution; witness faults.
    pattern: "/api/v1/contested",
    handler: async (s) => ok(await s.contested()),
  },
  {
    // docs/FEDERATION_SEMANTICS.md §Origin logs: each origin's log (size, latest witnessed head, witnesses, forks) and the unlogged versions.
    pattern: "/api/v1/log",
    handler: async (s) => ok((await s.originLogs?.()) ?? { logs: [], unlogged: [] }),
  },
  {
    pattern: "/api/v1/sync",
    handler: async (s) => ok({ peers: (await s.peers()).map((p) => ({ did: p.did, lastSync: p.lastSync, backoff: p.backoff })) }),
  },
  {
    pattern: "/api/v1/outbox",
    handler: async (s) => {
      const peers = (await s.peers()).map((p) => ({ did: p.did, depth: p.outboxDepth }));
      return ok({ depth: peers.reduce((t, p) => t + p.depth, 0), peers });
    },
  },
];

/** Splits `/api/v1/…` into decoded segments; a segment that does not decode is a 400. */
function segments(path: string): string[] {
  return path
    .split("/")
    .slice(1)
    .map((seg) => {
      try {
        return decodeURIComponent(seg);
      } catch {
        throw new ProtocolError("BAD_PATH", 400, "a path segment is not valid percent-encoding");
      }
    });
}

/**
 * Finds the route for `path` (already without query), or undefined.
 * @example matchApiRoute("/api/v1/namespaces/dao%3Avaultmesh/batches")?.params // ["dao:vaultmesh"]
 */
export function matchApiRoute(path: string): { handler: Handler; params: string[] } | undefined {
  const got = segments(path);
  for (const route of API_ROUTES) {
    const want = route.pattern.split("/").slice(1);
    if (want.length !== got.length) continue;
    const params: string[] = [];
    if (want.every((w, i) => (w === "*" ? (got[i] !== "" && params.push(got[i]!) > 0) : w === got[i]))) return { handler: route.handler, params };
  }
  return undefined;
}
