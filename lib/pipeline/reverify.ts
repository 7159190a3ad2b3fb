/**
 * Re-verification of stored anchors against the live endpoints: what `verify-online` runs
 * over everything and `serve` runs over pending anchors on a timer. The previous evidence
 * goes to the verifier, so a block that changed hash is reported as a reorg; the new outcome
 * is stored and conflict resolution re-runs for the batch. An endpoint that cannot be asked
 * changes no verdict: the record keeps it and notes the failed re-check
 * (docs/FEDERATION_SEMANTICS.md §9. Endpoint outages).
 */
import type { Evidence, Outcome } from "../anchors/result.js";
import { claimDigest, claimOf, resolveAnchors } from "../conflict/index.js";
import type { AnchorRecord, BatchSummary } from "../store/index.js";
import type { ImportContext } from "./import.js";

export interface ReverifyOptions {
  namespace: string;
  /** Only this batch id. */
  batchId?: string;
  /** Only anchors whose stored outcome is one of these (default: all). */
  outcomes?: readonly Outcome[];
}

export interface ReverifiedAnchor {
  namespace: string;
  batchId: string;
  batchRoot: string;
  /** Origin of the batch version holding the record; absent for a version without a checkpoint (docs/STATE.md §Layout). */
  origin?: string;
  chain: string;
  tx: string;
  /** Outcome before this run. */
  was: Outcome;
  outcome: Outcome;
  reason?: string;
  superseded_by?: string;
  /** Set when the endpoint could not be asked: the verdict above is the stored one, unchanged. */
  recheckFailed?: RecheckFailure;
}

/** A re-check that learned nothing because the endpoint could not be asked. */
export interface RecheckFailure {
  /** Unix seconds. */
  at: number;
  reason: string;
}

/**
 * The failed re-check noted on a stored record's evidence, if its last re-check failed.
 * @example lastRecheckFailure(record.evidence) // { at: 1760000000, reason: "EVM endpoint … failed: …" }
 */
export function lastRecheckFailure(evidence: Evidence | undefined): RecheckFailure | undefined {
  const at = evidence?.["lastRecheckFailedAt"];
  const reason = evidence?.["lastRecheckFailure"];
  return typeof at === "number" && typeof reason === "string" ? { at, reason } : undefined;
}

export interface ReverifyResult {
  anchors: ReverifiedAnchor[];
  /** Batch ids of this namespace for which one origin signed checkpoints of more than one root. */
  equivocations: string[];
}

/**
 * Re-verifies the stored anchors of one namespace (optionally one batch) and stores the outcomes.
 * @example const { anchors } = await reverifyStored({ namespace: "dao:vaultmesh" }, importContext)
 */
export async function reverifyStored(options: ReverifyOptions, ctx: ImportContext): Promise<ReverifyResult> {
  const { store } = ctx;
  // The summaries count outcomes: a batch with no record of the asked outcomes is not read at all
  // (the daemon's pending re-check runs every few seconds over a store of any size).
  const wanted = (b: BatchSummary) => options.outcomes === undefined || options.outcomes.some((o) => b.outcomes[o] > 0);
  const batchIds = [...new Set(store.listBatches(options.namespace).filter(wanted).map((b) => b.batchId))].filter((id) => options.batchId === undefined || id === options.batchId).sort();
  const anchors: ReverifiedAnchor[] = [];
  const equivocations: string[] = [];
  for (const batchId of batchIds) {
    // Each version (origin, root) holds its own records: the same (chain, tx) in two versions is re-checked in each.
    const held = (await store.getBatchVersions(options.namespace, batchId)).flatMap((v) => v.anchors.map((a) => ({ a, origin: v.checkpoint?.origin })));
    const all = held.map((h) => h.a);
    const originOf = held.map((h) => h.origin);
    const storedAt = [...all.keys()].filter((i) => options.outcomes === undefined || options.outcomes.includes(all[i]!.outcome));
    const stored = storedAt.map((i) => all[i]!);
    const fresh = await Promise.all(
      stored.map(async (a): Promise<AnchorRecord> => {
        const evidence = a.evidence;
        const claim = claimOf(a);
        const result = await ctx.limit(() => ctx.verify(claim, a.batchRoot, evidence));
        if (result.unreachable === true) {
          // Nothing learned: keep the verdict, reason and evidence; note when and why the re-check failed.
          const kept: AnchorRecord = { ...claim, digest: a.digest!, outcome: a.outcome, evidence: { ...(evidence ?? {}), lastRecheckFailedAt: ctx.now(), lastRecheckFailure: result.reason ?? "endpoint unreachable" } };
          // A verdict keeps its reason; a pending anchor is pending for today's reason, not for
          // an earlier one ("no verifier configured" once a verifier is).
          if (a.outcome === "pending" && result.reason !== undefined) kept.reason = result.reason;
          else if (a.reason !== undefined) kept.reason = a.reason;
          return kept;
        }
        const record: AnchorRecord = { ...claim, digest: a.digest!, outcome: result.outcome, evidence: { ...(result.evidence ?? {}), checkedAt: ctx.now() } };
        if (result.reason !== undefined) record.reason = result.reason;
        // Keep the last block hash seen while the tx stays unconfirmed, so a later check still spots the reorg.
        if (record.evidence!.blockHash === undefined && evidence?.blockHash !== undefined) record.evidence!.blockHash = evidence.blockHash;
        return record;
      }),
    );
    // Resolve the whole batch id (every root) with the fresh verdicts, then write verdicts and
    // winner marks together, so no reader sees one without the other.
    // Resolution runs per version (the same claim may sit in two versions of one root); the winner
    // rule is the same everywhere, so each version's marks agree (docs/FEDERATION_SEMANTICS.md §3. Conflicts).
    // A verdict replaces only the record with the same claim digest (docs/STATE.md §Anchor claims).
    const key = (a: AnchorRecord) => `${a.batchRoot} ${a.digest ?? claimDigest(a)}`;
    const after = new Map<string, AnchorRecord>();
    for (const origin of new Set(originOf)) {
      const mine = (i: number) => originOf[i] === origin;
      const merged = new Map([...all.keys()].filter(mine).map((i) => [key(all[i]!), all[i]!] as const));
      const freshKeys = new Set<string>();
      for (const [j, r] of fresh.entries()) {
        if (!mine(storedAt[j]!)) continue;
        merged.set(key(r), r);
        freshKeys.add(key(r));
      }
      const resolution = merged.size === 0 ? undefined : resolveAnchors([...merged.values()]).batches[0];
      const before = new Map([...all.keys()].filter(mine).map((i) => [key(all[i]!), all[i]!] as const));
      const resolved = (resolution?.byRoot ?? []).flatMap((r) => r.anchors);
      const toWrite = resolved.filter((a) => freshKeys.has(key(a)) || before.get(key(a))?.superseded_by !== a.superseded_by);
      if (toWrite.length > 0) await store.putAnchors(options.namespace, batchId, toWrite, origin ?? null);
      for (const a of resolved) after.set(`${origin ?? ""} ${key(a)}`, a);
    }
    if (store.listBatches(options.namespace).some((b) => b.batchId === batchId && b.equivocal)) equivocations.push(batchId);
    for (const [i, a] of stored.entries()) {
      const origin = originOf[storedAt[i]!];
      const now = after.get(`${origin ?? ""} ${key(a)}`) ?? fresh[i]!;
      const row: ReverifiedAnchor = { namespace: options.namespace, batchId, batchRoot: a.batchRoot, ...(origin === undefined ? {} : { origin }), chain: a.chain, tx: a.tx, was: a.outcome, outcome: now.outcome };
      if (now.reason !== undefined) row.reason = now.reason;
      if (now.superseded_by !== undefined) row.superseded_by = now.superseded_by;
      const failed = lastRecheckFailure(fresh[i]!.evidence);
      if (failed !== undefined) row.recheckFailed = failed;
      anchors.push(row);
    }
  }
  return { anchors, equivocations };
}
