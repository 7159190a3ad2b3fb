/**
 * Conflict resolution (docs/FEDERATION_SEMANTICS.md §3. Conflicts) as a pure function of a set of stored anchors:
 * per batch and per root, the strongest verified anchor wins, verified losers
 * name it in `superseded_by`, and two roots for one batch are an equivocation,
 * flagged with both kept. Arrival order cannot matter: input is deduplicated and
 * everything is sorted by total orders (docs/FEDERATION_SEMANTICS.md §3. Conflicts).
 */
import { compareAnchors } from "./order.js";
import { dedupeAnchors } from "./merge.js";
import { compareCodeUnits, recordName, type AnchorRecord } from "./record.js";

/** All anchors of one batch that commit to one root. */
export interface RootResolution {
  batchRoot: string;
  /** recordName of the strongest verified anchor; absent when none is verified (the root is held, docs/ANCHORS.md §Outcomes). */
  winner?: string;
  /** Strongest first (compareAnchors), every outcome, with `superseded_by` recomputed. */
  anchors: AnchorRecord[];
}

export interface BatchResolution {
  batchId: string;
  /** Distinct batch roots seen, code-unit order. */
  roots: string[];
  /** More than one root for this batch: report it, keep every root (docs/FEDERATION_SEMANTICS.md §3. Conflicts). */
  equivocation: boolean;
  /** One entry per root, in the order of `roots`. */
  byRoot: RootResolution[];
}

export interface Resolution {
  /** One entry per batchId, code-unit order. */
  batches: BatchResolution[];
  /** batchIds with `equivocation: true`, code-unit order: what `status` and `verify-online` report. */
  equivocations: string[];
}

function resolveRoot(batchRoot: string, records: AnchorRecord[]): RootResolution {
  // Two claims may share (chain, tx) and block (docs/FEDERATION_SEMANTICS.md §4. Merge): the claim digest keeps the order total.
  const sorted = records.slice().sort((a, b) => compareAnchors(a, b) || compareCodeUnits(a.digest!, b.digest!));
  // docs/FEDERATION_SEMANTICS.md §3. Conflicts: only verified anchors compete.
  const winner = sorted.find((r) => r.outcome === "verified");
  const winnerKey = winner === undefined ? undefined : recordName(winner, sorted.filter((r) => r.outcome === "verified"));
  const anchors = sorted.map((record) => {
    // superseded_by is derived, never trusted from input: stale or foreign values are dropped.
    const { superseded_by: _dropped, ...rest } = record;
    // Only a verified loser is superseded; pending and rejected anchors keep their own outcome.
    return record.outcome === "verified" && record !== winner && winnerKey !== undefined ? { ...rest, superseded_by: winnerKey } : rest;
  });
  return winnerKey === undefined ? { batchRoot, anchors } : { batchRoot, winner: winnerKey, anchors };
}

/**
 * Resolves every batch in `anchors` (records of one namespace; the caller groups by
 * namespace). Copies of one anchor are first reduced as mergeAnchors does, so
 * duplicates and arrival order do not change the result. Input is not modified.
 * @example
 * const { batches } = resolveAnchors([tsaVerified, btcVerified, evmPending]);
 * batches[0].byRoot[0].winner // "btc:mainnet/<txid>" (with "#<claim digest>" only when two verified claims share chain and tx)
 * batches[0].byRoot[0].anchors.find((a) => a.chain.startsWith("rfc3161:")).superseded_by // "btc:mainnet/<txid>"
 */
export function resolveAnchors(anchors: readonly AnchorRecord[]): Resolution {
  const byBatch = new Map<string, Map<string, AnchorRecord[]>>();
  for (const record of dedupeAnchors(anchors, "anchors").values()) {
    const roots = byBatch.get(record.batchId) ?? new Map<string, AnchorRecord[]>();
    byBatch.set(record.batchId, roots);
    const list = roots.get(record.batchRoot) ?? [];
    roots.set(record.batchRoot, list);
    list.push(record);
  }
  const batches = [...byBatch.keys()].sort(compareCodeUnits).map((batchId): BatchResolution => {
    const roots = byBatch.get(batchId)!;
    const rootList = [...roots.keys()].sort(compareCodeUnits);
    return {
      batchId,
      roots: rootList,
      equivocation: rootList.length > 1,
      byRoot: rootList.map((root) => resolveRoot(root, roots.get(root)!)),
    };
  });
  return { batches, equivocations: batches.filter((b) => b.equivocation).map((b) => b.batchId) };
}
