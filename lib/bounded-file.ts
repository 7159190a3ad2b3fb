/**
 * Reading an operator's file whole, with a size bound
 * (docs/FEDERATION_OPERATIONS.md §Configuration reference, "Files the configuration names"): a certificate bundle or key file
 * that is far larger than any real one (or a FIFO, or /dev/zero) is refused by its size, read
 * at most one byte past the bound, never whole.
 */
import { open } from "node:fs/promises";

/** The largest PEM certificate file read (a TSA trust bundle, intermediates, a TLS certificate chain): 1 MiB. */
export const MAX_CERTIFICATE_FILE_BYTES = 1024 * 1024;
/** The largest PEM private key file read (the node key, a TLS key): 64 KiB. */
export const MAX_KEY_FILE_BYTES = 64 * 1024;

/** The text read, or why not: `missing` (ENOENT), `unreadable` (with the error code), `too-large`. */
export type BoundedRead = { ok: true; text: string } | { ok: false; reason: "missing" | "unreadable" | "too-large"; why: string };

/**
 * Reads `file` as UTF-8 if it holds at most `maxBytes`; otherwise says why not in words that
 * follow the file's name ("is more than …", "cannot be read: EACCES", "does not exist").
 * @example const r = await readBoundedFile("tsa-root.pem", MAX_CERTIFICATE_FILE_BYTES)
 */
export async function readBoundedFile(file: string, maxBytes: number): Promise<BoundedRead> {
  const limit = `the ${maxBytes} bytes such a file may hold`;
  let handle;
  try {
    handle = await open(file, "r");
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code === "ENOENT" ? { ok: false, reason: "missing", why: "does not exist" } : { ok: false, reason: "unreadable", why: `cannot be read: ${code ?? (cause as Error).message}` };
  }
  try {
    const size = (await handle.stat()).size;
    if (size > maxBytes) return { ok: false, reason: "too-large", why: `is ${size} bytes, more than ${limit}` };
    const buffer = Buffer.alloc(Math.min(maxBytes + 1, 64 * 1024));
    const chunks: Buffer[] = [];
    let length = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, maxBytes + 1 - length), null);
      if (bytesRead === 0) break;
      chunks.push(Buffer.from(buffer.subarray(0, bytesRead)));
      length += bytesRead;
      // A file that grows while read, or a device with no size, is cut here.
      if (length > maxBytes) return { ok: false, reason: "too-large", why: `holds more than ${limit} (reading stopped there)` };
    }
    return { ok: true, text: Buffer.concat(chunks, length).toString("utf8") };
  } catch (cause) {
    return { ok: false, reason: "unreadable", why: `cannot be read: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}` };
  } finally {
    await handle.close();
  }
}
