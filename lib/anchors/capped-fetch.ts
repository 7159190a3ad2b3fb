/**
 * Reading an endpoint's answer with a byte limit. A chain or TSA endpoint is this node's own,
 * but a broken or hostile one must not be able to fill memory with an endless answer.
 */

/**
 * The largest answer read from an anchor endpoint: a raw Bitcoin transaction is at most ~8 MB
 * as hex inside JSON, an EVM receipt with many logs a few MB.
 */
export const MAX_ANSWER_BYTES = 32 * 1024 * 1024;

/** Raised when an answer passes its limit; verifiers treat it like an unreachable endpoint. */
export class AnswerTooLargeError extends Error {
  override name = "AnswerTooLargeError";
  constructor(maxBytes: number) {
    super(`answer larger than ${maxBytes} bytes`);
  }
}

/**
 * The body of `response` as bytes, refusing (and cancelling the stream) past `maxBytes`,
 * whether the size is declared in Content-Length or only found while reading.
 * @example const text = Buffer.from(await readCapped(res, 1 << 20)).toString("utf8")
 */
export async function readCapped(response: Response, maxBytes: number = MAX_ANSWER_BYTES): Promise<Uint8Array> {
  if (response.body === null) return new Uint8Array(0);
  const declared = Number(response.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body.cancel();
    throw new AnswerTooLargeError(maxBytes);
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel();
      throw new AnswerTooLargeError(maxBytes);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/**
 * A `fetch` whose answers are read with `readCapped` before the caller sees them (viem's
 * `http(url, { fetchFn })` hook).
 * @example http(rpcUrl, { fetchFn: cappedFetch() })
 */
export function cappedFetch(maxBytes: number = MAX_ANSWER_BYTES): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    const body = await readCapped(response, maxBytes);
    return new Response(body.length === 0 && (response.status === 204 || response.status === 304) ? null : body, { status: response.status, statusText: response.statusText, headers: response.headers });
  };
}
