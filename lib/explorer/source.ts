/**
 * What the explorer reads, and nothing more: `ExplorerSource` is the one seam between the
 * explorer's HTTP handlers and a running node (docs/EXPLORER.md §Where the data comes from).
 * Everything here is read-only; the explorer never writes to the store or sends a federation
 * message other than the signed topology request.
 */
import type { ExplorerConfig } from "../config/explorer.js";
import type { AnchorRecord } from "../conflict/record.js";
import type { Receipt } from "../receipt.js";
import type { Checkpoint } from "../messages/checkpoint.js";
import type { LogInclusionProof } from "../origin-log/logged.js";
import type { BatchSummary, StoredBatch } from "../store/types.js";

/** A peer as this node sees it now. */
export interface PeerView {
  did: string;
  url: string;
  roles: string[];
  /** Namespaces routed to this peer in federation.yaml. */
  namespaces: string[];
  /** GET /health answered 200 as this DID. */
  reachable: boolean;
  latencyMs?: number;
  /** Why it is not reachable, or the status it answered. */
  detail: string;
  /** Unix seconds of the last successful anti-entropy, per namespace. */
  lastSync: Record<string, number>;
  /** Anti-entropy back-off per namespace: consecutive failures and the unix second of the next try. */
  backoff: Record<string, { failures: number; until: number }>;
  /** Announces queued for this peer in the outbox. */
  outboxDepth: number;
}

/** One origin's log as the explorer shows it (GET /api/v1/log; built by lib/federation/origin-log.ts originLogViews). */
export interface OriginLogPanel {
  origin: string;
  /** The log's origin line (docs/FEDERATION_PROTOCOL.md §Origin log). */
  log: string;
  /** True for this node's own log. */
  self: boolean;
  /** The largest head size this node knows: its own log's; for another, the larger of the head it cosigned as a witness and the witnessed heads its origin showed. */
  size: number;
  /** Size of the latest witnessed head known (0: none). */
  witnessedSize: number;
  /** The k-th earliest cosignature time of that head, when known. */
  witnessedAt?: number;
  /** Who cosigned it: witness names of this node's own head, witness DIDs of another's. */
  witnesses: string[];
  /** Fork evidence held against this log. */
  forks: number;
}

/** One node's signed answer to a topology request (docs/FEDERATION_PROTOCOL.md §Topology). */
export interface TopologyView {
  node: string;
  peers: Array<{ did: string; namespaces: string[] }>;
}

/** Quorum state of a batch version, once the node keeps one (docs/FEDERATION_SEMANTICS.md). */
export interface QuorumView {
  state: "final" | "awaiting" | "disputed";
  k: number;
  cosigners: string[];
  [member: string]: unknown;
}

export interface BatchVersion {
  summary: BatchSummary;
  anchors: AnchorRecord[];
  /** Quorum state when the node keeps one; absent otherwise. */
  quorum?: QuorumView;
}

/** A change the page should show: new or changed batches in `namespace`. */
export interface ExplorerChange {
  kind: "batches";
  namespace: string;
}

/** A root claimed by two origins, or by one origin with two shapes (docs/FEDERATION_SEMANTICS.md §6. Threat model). */
export interface ContestView {
  namespace: string;
  batchRoot: string;
  claims: Array<{ origin: string; batchId: string; createdAt: number; size: number; attributed: boolean }>;
}

/** A listed witness's cosignature of a checkpoint no origin signed (docs/FEDERATION_SEMANTICS.md §8. Quorum). */
export interface WitnessFaultView {
  namespace: string;
  batchId: string;
  batchRoot: string;
  origin: string;
  signer: string;
  /** The digest the witness cosigned. */
  checkpoint: string;
  reason: string;
  cosignature: unknown;
}

export interface ExplorerSource {
  nodeId(): string;
  version(): string;
  uptimeS(): number;
  /** Unix seconds, from the node's clock. */
  now(): number;
  /** Read at every request, so that a SIGHUP reload applies at once. */
  explorerConfig(): ExplorerConfig | undefined;
  /** Brings in what other processes (a CLI `announce`) wrote to the state since the last read. */
  fresh(): Promise<void>;
  /** Namespaces this node federates, each with the peer DIDs it is routed to. */
  namespaces(): Array<{ name: string; peers: string[] }>;
  /** Batch versions held in `namespace` (every version of an equivocated id). */
  batches(namespace: string): BatchSummary[];
  batch(namespace: string, batchId: string, batchRoot: string): Promise<BatchVersion | undefined>;
  /** Quorum state of every version of `namespace`, by "<batchId> <batchRoot> <origin or empty>" (docs/EXPLORER.md §What the page shows). */
  quorumStates?(namespace: string): Promise<Map<string, string>>;
  /** Every version of the receipt `id` this node holds, across namespaces. */
  receipts(id: string): Promise<Receipt[]>;
  /**
   * The receipt `id` of `namespace` as this node serves it, with the stored batch version its
   * copy is served from (checkpoint, anchors, cosignatures): what a proof file is built from
   * (docs/EXPLORER.md §Proof files). Undefined when the receipt is not held.
   */
  servedReceipt(namespace: string, id: string): Promise<{ receipt: Receipt; version: StoredBatch | undefined } | undefined>;
  /**
   * `checkpoint`'s inclusion in a head of its origin's log that k witnesses cosigned, checked
   * with this node's trust, for a proof file's `log` (docs/EXPLORER.md §Proof files); or why
   * there is none. Absent: every proof file is unlogged.
   */
  logInclusion?(checkpoint: Checkpoint): Promise<{ state: "logged"; proof: LogInclusionProof } | { state: "unlogged"; reason: string }>;
  equivocations(): Array<{ namespace: string; batchId: string; batchRoots: string[] }>;
  /** Contested roots and witness faults of the federated namespaces. */
  contested(): Promise<{ contested: ContestView[]; witnessFaults: WitnessFaultView[] }>;
  /**
   * The origin logs this node knows (its own and each origin's: size, latest witnessed head,
   * witnesses, forks) and the stored versions whose checkpoint is unlogged
   * (docs/FEDERATION_SEMANTICS.md §Origin logs). Optional: a source without logs answers empty lists.
   */
  originLogs?(): Promise<{ logs: OriginLogPanel[]; unlogged: Array<{ namespace: string; batchId: string; batchRoot: string; origin: string }> }>;
  peers(): Promise<PeerView[]>;
  /** The signed topology of each reachable peer (failures named per peer). */
  peerTopologies(): Promise<Array<{ peer: string; topology?: TopologyView; error?: string }>>;
  /**
   * This node's signed answer to a peer's topology request (body already parsed); throws
   * ProtocolError when the request is refused (docs/FEDERATION_PROTOCOL.md §Topology).
   */
  answerTopology(json: unknown): Promise<unknown>;
  /**
   * The roster in force (serial, members, routes per namespace) and the versions shown
   * `revoked-origin` (docs/FEDERATION_OPERATIONS.md §Running a federation with a roster); null without one.
   */
  roster?(): Promise<{ roster: unknown; revoked: unknown[] }>;
  /** Calls `listener` on every change; returns the unsubscribe function. */
  watch(listener: (change: ExplorerChange) => void): () => void;
}
