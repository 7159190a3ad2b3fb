/**
 * The young generation of the daemon's heap, kept small through start-up (docs/BENCHMARKS.md,
 * "Idle serve"). Starting `serve` loads some 180 modules and opens the node; nearly all it
 * allocates then lives as long as the process, so V8's scavenger sees most of the young
 * generation survive and doubles its semi-spaces, up to 8 MiB that stay resident while the daemon
 * idles. Held at a growth factor of 1 during start-up they keep their first size; once the
 * daemon listens the default factor is back, so a busy daemon (relaying, answering a catch-up)
 * grows them as it needs. A factor the operator set (`NODE_OPTIONS`, node flags) is left alone.
 */
import { setFlagsFromString } from "node:v8";

/** V8's own default (`node --v8-options`, --semi-space-growth-factor). */
export const DEFAULT_GROWTH_FACTOR = 2;

let held = false;

/** True when the operator chose the factor (or the semi-space sizes) on the node command line. */
function operatorChose(): boolean {
  const flags = [...process.execArgv, ...(process.env["NODE_OPTIONS"] ?? "").split(/\s+/)];
  return flags.some((f) => /^--(semi-space-growth-factor|semi_space_growth_factor|max-semi-space-size|max_semi_space_size|min-semi-space-size|min_semi_space_size)\b/.test(f));
}

/**
 * Stops the young generation from growing until `releaseYoungGeneration`.
 * @example holdYoungGeneration(); await startDaemon(...); releaseYoungGeneration();
 */
export function holdYoungGeneration(): void {
  if (held || operatorChose()) return;
  setFlagsFromString("--semi-space-growth-factor=1");
  held = true;
}

/**
 * Lets the young generation grow again (V8's default factor). Does nothing unless held.
 * @example releaseYoungGeneration()
 */
export function releaseYoungGeneration(): void {
  if (!held) return;
  setFlagsFromString(`--semi-space-growth-factor=${DEFAULT_GROWTH_FACTOR}`);
  held = false;
}
