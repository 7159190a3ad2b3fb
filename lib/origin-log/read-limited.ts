/**
 * Reading a peer's answer to a `/log/` request with a byte bound (docs/FEDERATION_PROTOCOL.md
 * §Witnessed heads): a note or a witness answer is a few hundred bytes, and a hostile endpoint
 * must not make this node buffer more than the bound.
 */

/** The largest `/log/` answer read from a peer (a note with 100 signatures fits). */
export const MAX_LOG_ANSWER_BYTES = 64 * 1024;

/**
 * The body of `res` as UTF-8, or undefined when it exceeds `maxBytes` (the rest is not read).
 * @example const text = await readLimited(await fetch(url), MAX_LOG_ANSWER_BYTES)
 */
export async function readLimited(res: Response, maxBytes = MAX_LOG_ANSWER_BYTES): Promise<string | undefined> {
  const declared = Number(res.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    return undefined;
  }
  if (res.body === null) return "";
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
