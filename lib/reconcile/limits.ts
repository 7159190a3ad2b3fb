/**
 * Bounds of a reconcile session (docs/ANTI_ENTROPY.md §Bounds). A peer that exceeds any
 * of them ends the session with an error; nothing a peer sends can make it loop.
 */
import { ArgumentError } from "../errors.js";
import type { StepTuning } from "./step.js";

export interface ReconcileLimits {
  /** Sub-ranges per split. */
  branching: number;
  /** Differing ranges with at most this many items are listed in full. */
  idsLimit: number;
  /** Binary bytes of one message, all namespaces together (base64 adds a third on the wire). */
  maxMessageBytes: number;
  /** Messages the initiator sends before it gives up. */
  maxRounds: number;
  /** Ranges in one namespace payload. */
  maxRanges: number;
  /** Namespaces in one message. */
  maxNamespaces: number;
  /** Highest payload version this side reads and writes: 2 adds cells (docs/ANTI_ENTROPY.md §Versions); 1 is 0.1.0's protocol. */
  payloadVersion: number;
}

export const RECONCILE_LIMITS: Readonly<ReconcileLimits> = {
  branching: 16,
  idsLimit: 16,
  // 16 MiB binary → about 21.4 MiB of base64 JSON: the HTTP body limit of /federation/reconcile must allow it.
  maxMessageBytes: 16 * 1024 * 1024,
  maxRounds: 32,
  maxRanges: 200_000,
  maxNamespaces: 64,
  payloadVersion: 2,
};

/** What the caller passes: randomness (required: the library owns no entropy source) and optional limits. */
export interface ReconcileOptions extends Partial<ReconcileLimits> {
  /** Uniform in [0, 1), e.g. `seededRandom(randomBytes(16))`. */
  random: () => number;
}

/**
 * Merges options over the defaults, checking each.
 * @example resolveLimits({ random: Math.random }).maxRounds // 32
 */
export function resolveLimits(options: ReconcileOptions): ReconcileLimits & { tuning: StepTuning } {
  if (typeof options?.random !== "function") throw new ArgumentError("options.random", "expected a function returning numbers in [0, 1)");
  const limits = { ...RECONCILE_LIMITS };
  for (const key of Object.keys(RECONCILE_LIMITS) as (keyof ReconcileLimits)[]) {
    const v = options[key];
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 1) throw new ArgumentError(`options.${key}`, `expected a positive integer, got ${String(v)}`);
    limits[key] = v;
  }
  if (limits.payloadVersion > 2) throw new ArgumentError("options.payloadVersion", `expected 1 or 2, got ${limits.payloadVersion}`);
  if (limits.branching < 2) throw new ArgumentError("options.branching", "expected at least 2");
  if (limits.maxMessageBytes < 4096) throw new ArgumentError("options.maxMessageBytes", "expected at least 4096");
  if (limits.maxRanges < 4 * limits.branching + 8) throw new ArgumentError("options.maxRanges", `expected at least ${4 * limits.branching + 8}`);
  return { ...limits, tuning: { branching: limits.branching, idsLimit: limits.idsLimit, maxRanges: limits.maxRanges, random: options.random, initiator: false, payloadVersion: limits.payloadVersion } };
}

/**
 * A deterministic uniform source from a seed (sfc32), for tests and for callers that draw the seed from `crypto.randomBytes`.
 * @example const random = seededRandom(Uint8Array.of(1, 2, 3)); random() // 0.… (same every run)
 */
export function seededRandom(seed: Uint8Array | number): () => number {
  const bytes = typeof seed === "number" ? new Uint8Array(new Float64Array([seed]).buffer) : seed;
  const s = new Uint32Array(4);
  bytes.forEach((b, i) => (s[i % 4] = Math.imul(s[i % 4]! ^ b, 2654435761) + i));
  let [a, b, c, d] = [s[0]!, s[1]!, s[2]!, s[3]! | 1];
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
  for (let i = 0; i < 16; i++) next();
  return next;
}
