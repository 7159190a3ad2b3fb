/**
 * Bounded concurrency for calls to chain and TSA endpoints: at most `max` run at once,
 * the rest wait in order. Keeps a node from opening hundreds of RPC calls when a large
 * bundle or `verify-online` verifies many anchors.
 */
import { ArgumentError } from "../errors.js";

export type Limiter = <T>(task: () => Promise<T>) => Promise<T>;

/**
 * A limiter that runs at most `max` tasks at a time.
 * @example const limit = limitConcurrency(4); await Promise.all(anchors.map((a) => limit(() => verify(a))))
 */
export function limitConcurrency(max: number): Limiter {
  if (!Number.isInteger(max) || max < 1) throw new ArgumentError("max", `expected a positive integer, got ${max}`);
  let active = 0;
  const waiting: Array<() => void> = [];
  const next = () => {
    active--;
    waiting.shift()?.();
  };
  return async <T>(task: () => Promise<T>): Promise<T> => {
    if (active >= max) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await task();
    } finally {
      next();
    }
  };
}
