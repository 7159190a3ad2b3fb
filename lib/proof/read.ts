/**
 * Reading a proof file or a trust file someone handed over
 * (docs/EXPLORER.md §What verify-proof checks): at most `max` bytes whatever the path names (a
 * FIFO or /dev/zero included), strict UTF-8, and JSON in which no object names a member twice. `JSON.parse` keeps the last of two
 * equal names silently, so a file could show one reader a namespace and the checker another.
 */
import { open } from "node:fs/promises";
import { ProtocolError, UsageError } from "../errors.js";
import { parsePeerJson } from "../messages/json.js";

/**
 * The text of `file`, read in chunks and never more than `max` + 1 bytes; throws UsageError
 * (exit 2) naming `what` when it cannot be read, is larger, or is not UTF-8.
 * @example await readBoundedText("proof.json", MAX_PROOF_FILE_BYTES, "proof file")
 */
export async function readBoundedText(file: string, max: number, what: string): Promise<string> {
  let bytes: Buffer;
  try {
    const handle = await open(file, "r");
    try {
      const chunks: Buffer[] = [];
      let total = 0;
      for (;;) {
        const chunk = Buffer.alloc(Math.min(1024 * 1024, max + 1 - total));
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
        if (bytesRead === 0) break;
        chunks.push(chunk.subarray(0, bytesRead));
        total += bytesRead;
        if (total > max) throw new UsageError(`${what} ${file} is larger than ${max} bytes; at most ${max} are read`);
      }
      bytes = Buffer.concat(chunks, total);
    } finally {
      await handle.close();
    }
  } catch (cause) {
    if (cause instanceof UsageError) throw cause;
    throw new UsageError(`${what} ${file} cannot be read: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`, { cause });
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`${what} ${file} is not UTF-8 text (byte ${firstInvalidUtf8(bytes)} starts an invalid sequence)`);
  }
}

/** Offset of the first byte that does not start or continue a valid UTF-8 sequence (RFC 3629 §4). */
function firstInvalidUtf8(bytes: Buffer): number {
  for (let i = 0; i < bytes.length; ) {
    const x = bytes[i]!;
    if (x < 0x80) {
      i++;
      continue;
    }
    const n = x >= 0xc2 && x <= 0xdf ? 1 : x >= 0xe0 && x <= 0xef ? 2 : x >= 0xf0 && x <= 0xf4 ? 3 : 0;
    if (n === 0) return i;
    // The second byte's range excludes overlong forms, surrogates and code points past U+10FFFF.
    const [lo, hi] = x === 0xe0 ? [0xa0, 0xbf] : x === 0xed ? [0x80, 0x9f] : x === 0xf0 ? [0x90, 0xbf] : x === 0xf4 ? [0x80, 0x8f] : [0x80, 0xbf];
    for (let k = 1; k <= n; k++) {
      const y = bytes[i + k];
      if (y === undefined || y < (k === 1 ? lo : 0x80) || y > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return bytes.length;
}

/**
 * Parses `text` (bounded depth, lib/messages/json.ts) and refuses an object that names one
 * member twice (after unescaping: `"a"` and `"\u0061"` are one name); throws ProtocolError
 * MALFORMED_JSON naming the member as `root.path`.
 * @example parseStrictJson('{"v":2,"v":1}', "proof") // throws: proof: member "v" appears twice
 */
export function parseStrictJson(text: string, root: string): unknown {
  const value = parsePeerJson(text);
  const duplicate = firstDuplicate(text, root);
  if (duplicate !== undefined) throw new ProtocolError("MALFORMED_JSON", 400, duplicate);
  return value;
}

interface Frame {
  path: string;
  /** Member names seen so far; undefined for an array. */
  names?: Set<string>;
  /** An object expects a member name next (after `{` or `,`). */
  expectName: boolean;
  /** The name of the member whose value comes next, or the array index. */
  current: string;
  index: number;
}

/** The first duplicate member of already-valid JSON `text`, as a message; undefined when none. */
function firstDuplicate(text: string, root: string): string | undefined {
  const stack: Frame[] = [];
  const childPath = (): string => {
    const top = stack[stack.length - 1];
    if (top === undefined) return root;
    return top.names === undefined ? `${top.path}[${top.index}]` : `${top.path}.${top.current}`;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      const top = stack[stack.length - 1];
      if (top?.names !== undefined && top.expectName) {
        const name = JSON.parse(text.slice(i, j + 1)) as string;
        if (top.names.has(name)) return `${top.path}: member ${JSON.stringify(name.slice(0, 64))} appears twice`;
        top.names.add(name);
        top.current = name;
        top.expectName = false;
      }
      i = j;
    } else if (c === "{") {
      stack.push({ path: childPath(), names: new Set(), expectName: true, current: "", index: 0 });
    } else if (c === "[") {
      stack.push({ path: childPath(), expectName: false, current: "", index: 0 });
    } else if (c === "}" || c === "]") {
      stack.pop();
    } else if (c === ",") {
      const top = stack[stack.length - 1]!;
      if (top.names !== undefined) top.expectName = true;
      else top.index++;
    }
  }
  return undefined;
}
