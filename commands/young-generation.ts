/**
 * The young generation of the daemon's heap, kept small (docs/FEDERATION_OPERATIONS.md §Memory,
 * docs/BENCHMARKS.md "Idle serve" and "work budgets"). Starting `serve` loads some 180 modules
 * and opens the node; nearly all it allocates then lives as long as the process, so V8's scavenger
 * sees most of the young generation survive and doubles its semi-spaces, up to 8 MiB that stay
 * resident while the daemon idles. Held at a growth factor of 1 during start-up they keep their
 * first size. Once the daemon listens they may grow again, but only to YOUNG_GENERATION_CAP_BYTES:
 * answering Requests keeps objects alive across pauses of the event loop, so under any steady load
 * V8 would double the semi-spaces up to its own maximum (32 MiB in all), resident for good, for
 * no measurable gain in collector time (docs/BENCHMARKS.md, "work budgets"). After each
 * collection the factor is set again: V8's default below the cap, 1 at it. A factor or a
 * semi-space size the operator set (`NODE_OPTIONS`, node flags) is left alone.
 */
import { PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics, setFlagsFromString } from "node:v8";

/** V8's own default (`node --v8-options`, --semi-space-growth-factor). */
export const DEFAULT_GROWTH_FACTOR = 2;
/** The young generation (both semi-spaces) grows no larger than this once `serve` listens. */
export const YOUNG_GENERATION_CAP_BYTES = 8 * 1024 * 1024;

let held = false;
let factor = DEFAULT_GROWTH_FACTOR;
let steering: PerformanceObserver | undefined;

/** True when the operator chose the factor (or the semi-space sizes) on the node command line. */
function operatorChose(): boolean {
  const flags = [...process.execArgv, ...(process.env["NODE_OPTIONS"] ?? "").split(/\s+/)];
  return flags.some((f) => /^--(semi-space-growth-factor|semi_space_growth_factor|max-semi-space-size|max_semi_space_size|min-semi-space-size|min_semi_space_size)\b/.test(f));
}

function setFactor(next: number): void {
  if (next === factor) return;
  setFlagsFromString(`--semi-space-growth-factor=${next}`);
  factor = next;
}

/** Bytes of both semi-spaces now. */
function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;
}

/**
 * Stops the young generation from growing until `releaseYoungGeneration`.
 * @example holdYoungGeneration(); await startDaemon(...); releaseYoungGeneration();
 */
export function holdYoungGeneration(): void {
  if (held || operatorChose()) return;
  setFactor(1);
  held = true;
}

/**
 * Lets the young generation grow again, up to YOUNG_GENERATION_CAP_BYTES: V8 grows the semi-spaces
 * only during a collection, and after each one the factor is set for the next (the default below
 * the cap, 1 at it). Does nothing unless held.
 * @example releaseYoungGeneration()
 */
export function releaseYoungGeneration(): void {
  if (!held) return;
  held = false;
  const steer = (): void => setFactor(youngGenerationBytes() >= YOUNG_GENERATION_CAP_BYTES ? 1 : DEFAULT_GROWTH_FACTOR);
  steer();
  steering ??= new PerformanceObserver(steer);
  steering.observe({ entryTypes: ["gc"] });
}
