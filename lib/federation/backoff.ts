/**
 * Retry delays for outbound delivery: exponential backoff with full jitter, so that many
 * nodes retrying a peer that comes back do not all knock at the same second, and a peer's
 * `Retry-After` (docs/FEDERATION_PROTOCOL.md §Errors, 429) as a floor. Pure: the random source comes in as a parameter.
 */
import { ArgumentError } from "../errors.js";

export interface BackoffOptions {
  /** Upper bound of the first retry's delay, ms (default 1 000). */
  baseMs?: number;
  /** Largest upper bound any retry's delay reaches, ms (default 300 000: five minutes). */
  capMs?: number;
  /** Uniform in [0, 1); default Math.random. */
  random?: () => number;
  /** Seconds the peer asked us to wait (Retry-After); the delay is never shorter. */
  retryAfterS?: number | undefined;
  /** Largest Retry-After honoured, s (default 3 600), so a peer cannot park our queue for ever. */
  maxRetryAfterS?: number;
}

export const BACKOFF_DEFAULTS = { baseMs: 1_000, capMs: 300_000, maxRetryAfterS: 3_600 } as const;

/**
 * Delay before retry number `attempt` (1 after the first failure): uniform in
 * `[0, min(cap, base·2^(attempt−1)))`, then raised to the peer's Retry-After.
 * @example backoffDelayMs(3, { random: () => 0.5 }) // 2000: half of 4 s
 * @example backoffDelayMs(1, { random: () => 0, retryAfterS: 30 }) // 30000
 */
export function backoffDelayMs(attempt: number, options: BackoffOptions = {}): number {
  if (!Number.isInteger(attempt) || attempt < 1) throw new ArgumentError("attempt", `must be an integer ≥ 1, got ${String(attempt)}`);
  const baseMs = options.baseMs ?? BACKOFF_DEFAULTS.baseMs;
  const capMs = options.capMs ?? BACKOFF_DEFAULTS.capMs;
  if (!(baseMs > 0) || !Number.isFinite(baseMs)) throw new ArgumentError("options.baseMs", "must be a positive number");
  if (!(capMs >= baseMs) || !Number.isFinite(capMs)) throw new ArgumentError("options.capMs", "must be a number ≥ baseMs");
  const random = options.random ?? Math.random;
  // 2^(attempt−1) overflows to Infinity for huge counts; min() keeps the bound at the cap.
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt - 1, 1024));
  const r = random();
  const jittered = Math.floor(ceiling * (Number.isFinite(r) ? Math.min(Math.max(r, 0), 1) : 0));
  const floorMs = retryAfterFloorMs(options.retryAfterS, options.maxRetryAfterS ?? BACKOFF_DEFAULTS.maxRetryAfterS);
  return Math.max(jittered, floorMs);
}

function retryAfterFloorMs(retryAfterS: number | undefined, maxS: number): number {
  if (retryAfterS === undefined || !Number.isFinite(retryAfterS) || retryAfterS <= 0) return 0;
  return Math.ceil(Math.min(retryAfterS, maxS) * 1000);
}

/**
 * The `Retry-After` header as seconds from `nowMs`: delta-seconds or an HTTP-date
 * (RFC 9110 §10.2.3). Undefined when absent or unreadable.
 * @example parseRetryAfter("120", Date.now()) // 120
 * @example parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", Date.parse("2015-10-21T07:27:00Z")) // 60
 */
export function parseRetryAfter(value: string | string[] | undefined, nowMs: number): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (text === undefined || text === "") return undefined;
  if (/^\d{1,10}$/.test(text)) return Number(text);
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - nowMs) / 1000));
}
