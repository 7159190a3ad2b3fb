/**
 * The old generation of the daemon's heap grows by at most HEAP_GROWING_PERCENT over what the last
 * full collection kept (docs/FEDERATION_OPERATIONS.md §Memory). Answering a Request or a reconcile
 * round allocates megabytes that die within a second (batch files parsed, the canonical form
 * signed); by V8's own heuristics the old generation may grow to about four times what survives
 * before it is collected, and V8 keeps the pages it grew. Bounded, garbage is collected sooner and
 * the resident set under a flood at the peers' allowance stays near twice the idle one
 * (docs/BENCHMARKS.md, "work budgets"). It limits nothing: the heap still grows to whatever the live
 * data needs, up to node's own limit, so no legal load can make the node run out of memory because
 * of it; the cost is more frequent (incremental, concurrent) full collections. A growth the operator
 * set on the node command line is left alone (node refuses this flag in `NODE_OPTIONS`).
 */
import { setFlagsFromString } from "node:v8";

/** Percent the old generation may grow over what survived the last full collection. */
export const HEAP_GROWING_PERCENT = 50;

/** True when the operator chose the old generation's growth on the node command line. */
function operatorChose(): boolean {
  return process.execArgv.some((f) => /^--(heap-growing-percent|heap_growing_percent)\b/.test(f));
}

/**
 * Bounds the old generation's growth for the rest of the process (serve calls it before it starts).
 * @example boundHeapGrowth(); await startDaemon(...)
 */
export function boundHeapGrowth(): void {
  if (operatorChose()) return;
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
