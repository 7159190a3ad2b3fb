/**
 * Parsing JSON that came from a peer: bounded depth before JSON.parse sees it, and a
 * ProtocolError (400, MALFORMED_JSON) instead of an exception with a stack.
 */
import { ProtocolError } from "../errors.js";
import { LIMITS } from "./limits.js";

/**
 * Depth of the deepest array/object nesting in `text`, stopping early once `limit` is passed.
 * Strings are skipped so brackets inside them do not count.
 */
export function exceedsDepth(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/**
 * Parses a peer's JSON text; throws ProtocolError MALFORMED_JSON (400) on bad syntax or nesting deeper than `maxDepth`.
 * @example parsePeerJson('{"type":"announce"}') // { type: "announce" }
 */
export function parsePeerJson(text: string, maxDepth: number = LIMITS.maxJsonDepth): unknown {
  if (exceedsDepth(text, maxDepth)) throw new ProtocolError("MALFORMED_JSON", 400, `JSON nested deeper than ${maxDepth} levels`);
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new ProtocolError("MALFORMED_JSON", 400, `body is not valid JSON: ${(cause as Error).message}`);
  }
}
