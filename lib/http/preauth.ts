/**
 * What a node reads of a POST body before it knows who sent it (docs/FEDERATION_PROTOCOL.md
 * §Limits, "Before authentication"): the top-level `signer` of a JSON object, found by a scan
 * of its first bytes that allocates nothing and parses nothing else, so a stranger's megabytes
 * are refused unread.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * The value of the top-level string member `name` of the JSON object whose text starts with
 * `head`, when it is complete within `head` and has no escapes; else undefined. Members nested
 * deeper, and strings that merely contain the name, are never taken for it.
 * @example topLevelString(Buffer.from('{"type":"request","signer":"did:vm:node:a",'), "signer") // "did:vm:node:a"
 */
export function topLevelString(head: Uint8Array, name: string, maxValueBytes = 512): string | undefined {
  let depth = 0;
  let expectKey = false;
  let key: string | undefined;
  let valueOf: string | undefined;
  for (let i = 0; i < head.length; i++) {
    const c = head[i]!;
    if (c === QUOTE) {
      const start = i + 1;
      let escaped = false;
      let j = start;
      for (; j < head.length && head[j] !== QUOTE; j++) {
        if (head[j] === BACKSLASH) {
          escaped = true;
          j++;
        }
      }
      if (j >= head.length) return undefined;
      if (depth === 1 && expectKey) {
        key = escaped || j - start > 64 ? undefined : Buffer.from(head.subarray(start, j)).toString("latin1");
        expectKey = false;
      } else if (depth === 1 && valueOf === name) {
        return escaped || j - start > maxValueBytes ? undefined : Buffer.from(head.subarray(start, j)).toString("utf8");
      }
      valueOf = undefined;
      i = j;
      continue;
    }
    if (c === 0x7b || c === 0x5b) {
      depth++;
      if (depth === 1) expectKey = c === 0x7b;
      valueOf = undefined;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth <= 0) return undefined;
    } else if (depth === 1 && c === 0x2c) {
      expectKey = true;
      valueOf = undefined;
    } else if (depth === 1 && c === 0x3a) {
      valueOf = key;
      key = undefined;
    } else if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) {
      valueOf = undefined;
    }
  }
  return undefined;
}
