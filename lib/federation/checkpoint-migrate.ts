/**
 * State written by 0.1.0 holds batch versions without a checkpoint
 * (docs/STATE.md §Upgrading from 0.1.0). Their receipts are neither served nor announced until an origin's checkpoint
 * is attached; this finds them, reports them, and asks serving peers for the checkpoint.
 * Versions this node ingested itself get theirs by running `announce` on the sealer's batch
 * file again (the node signs as their origin).
 */
import type { PeerConfig } from "../config/types.js";
import type { Bundle } from "../messages/schema.js";
import { importBundle } from "../pipeline/bundle.js";
import type { ImportContext } from "../pipeline/import.js";
import type { Store } from "../store/index.js";

export interface Uncheckpointed {
  namespace: string;
  batchId: string;
  batchRoot: string;
  receipts: number;
}

/**
 * Versions stored without a checkpoint, leaving out those whose root an origin's checkpoint
 * already vouches for in a version of its own (a 0.1.0 copy a peer pinned to another sealing
 * time stays apart, unserved: docs/STATE.md §Upgrading from 0.1.0).
 * @example uncheckpointed(store, ["dao:vaultmesh"]) // [{ namespace, batchId, batchRoot, receipts: 4 }]
 */
export function uncheckpointed(store: Store, namespaces: Iterable<string>): Uncheckpointed[] {
  const out: Uncheckpointed[] = [];
  for (const namespace of namespaces) {
    const vouched = new Set(store.listBatches(namespace).filter((b) => b.origin !== undefined).map((b) => `${b.batchId}\u0000${b.batchRoot}`));
    for (const b of store.listBatches(namespace)) if (b.origin === undefined && !vouched.has(`${b.batchId}\u0000${b.batchRoot}`)) out.push({ namespace, batchId: b.batchId, batchRoot: b.batchRoot, receipts: b.receiptCount });
  }
  return out;
}

export interface RefetchDeps {
  store: Store;
  /** Serving peers routed for a namespace. */
  sources(namespace: string): PeerConfig[];
  pull(peer: PeerConfig, namespace: string, batchId: string, batchRoot: string): Promise<Bundle[]>;
  importContext(namespace: string): ImportContext;
}

export interface RefetchResult {
  version: Uncheckpointed;
  /** The origin whose checkpoint is now attached, or why none is. */
  origin?: string;
  problem?: string;
}

/**
 * Asks each serving peer in turn for the checkpoint of every version stored without one, and
 * imports what it sends through the ordinary pipeline (which verifies the checkpoint).
 * @example for (const r of await refetchCheckpoints(deps, ["dao:vaultmesh"])) log.warn(...)
 */
export async function refetchCheckpoints(deps: RefetchDeps, namespaces: Iterable<string>): Promise<RefetchResult[]> {
  const results: RefetchResult[] = [];
  for (const version of uncheckpointed(deps.store, namespaces)) {
    const problems: string[] = [];
    let origin: string | undefined;
    for (const peer of deps.sources(version.namespace)) {
      try {
        const bundles = await deps.pull(peer, version.namespace, version.batchId, version.batchRoot);
        const reports = await importBundle(
          version.namespace,
          bundles.flatMap((b) => b.receipts),
          bundles.flatMap((b) => b.anchors),
          deps.importContext(version.namespace),
          bundles.flatMap((b) => b.checkpoints),
        );
        origin = reports.find((r) => r.batchId === version.batchId && r.batchRoot === version.batchRoot)?.origin;
        if (origin !== undefined) break;
        problems.push(`${peer.did} has no checkpoint for it`);
      } catch (e) {
        problems.push(`${peer.did}: ${(e as Error).message}`);
      }
    }
    results.push(origin !== undefined ? { version, origin } : { version, problem: problems.join("; ") || "no serving peer is routed for the namespace" });
  }
  return results;
}
