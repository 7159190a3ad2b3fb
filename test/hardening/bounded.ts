/**
 * Running many asynchronous checks with a fixed number in flight, so a suite of thousands of
 * HTTP cases stays fast without opening thousands of sockets at once.
 */

/**
 * Calls `work` on every item with at most `limit` calls pending; resolves their results in order.
 * The first rejection rejects the whole run (after the calls already started settle).
 * @example const answers = await mapBounded(cases, 8, (c) => send(c))
 */
export async function mapBounded<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async (): Promise<void> => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        results[i] = await work(items[i]!, i);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, lane));
  if (failure !== undefined) throw failure.error;
  return results;
}
