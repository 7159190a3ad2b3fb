/**
 * Parsing a large JSON body without holding the event loop (docs/FEDERATION_PROTOCOL.md
 * §Answering without holding the event loop): the text is split along its own structure (the
 * elements of an array, the members of an object) into pieces of at most `sliceChars`, each
 * parsed by JSON.parse, with a pause (setImmediate) whenever about `sliceChars` characters were
 * scanned or parsed since the last one. The value, and what is refused, are JSON.parse's (and
 * parsePeerJson's depth bound); only a single string or number longer than a slice is parsed in
 * one piece, at the speed of a copy.
 */
import { ProtocolError } from "../errors.js";
import { exceedsDepth, parsePeerJson } from "./json.js";
import { LIMITS } from "./limits.js";
import { yieldToLoop, type Pause } from "./sign-in-slices.js";

/** Characters handled between two pauses: well under a millisecond of JSON.parse. */
export const PARSE_SLICE_CHARS = 64 * 1024;

/** What a parse did, for tests and benches: pauses made and the most characters handled between two. */
export interface SliceStats {
  pauses: number;
  largestSlice: number;
}

export interface SliceOptions {
  pause?: Pause;
  sliceChars?: number;
  maxDepth?: number;
  stats?: SliceStats;
}

const malformed = (why: string): ProtocolError => new ProtocolError("MALFORMED_JSON", 400, `body is not valid JSON: ${why}`);

function isSpace(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** One comma-separated part of an array or object: its trimmed span, and the deepest nesting of brackets inside it (0: none). */
type Part = [start: number, end: number, inner: number];

class SliceParser {
  #sinceLast = 0;
  readonly #text: string;
  readonly #pause: Pause;
  readonly #slice: number;
  readonly #maxDepth: number;
  readonly #stats: SliceStats;

  constructor(text: string, options: Required<Omit<SliceOptions, "stats">> & { stats: SliceStats }) {
    this.#text = text;
    this.#pause = options.pause;
    this.#slice = options.sliceChars;
    this.#maxDepth = options.maxDepth;
    this.#stats = options.stats;
  }

  /** Counts `chars` handled; pauses once a slice's worth was handled since the last pause. */
  async #spend(chars: number): Promise<void> {
    this.#sinceLast += chars;
    if (this.#sinceLast < this.#slice) return;
    this.#stats.largestSlice = Math.max(this.#stats.largestSlice, this.#sinceLast);
    this.#stats.pauses++;
    this.#sinceLast = 0;
    await this.#pause();
  }

  finish(): void {
    this.#stats.largestSlice = Math.max(this.#stats.largestSlice, this.#sinceLast);
  }

  /** [start, end) without the JSON whitespace around it. */
  trim(start: number, end: number): [number, number] {
    while (start < end && isSpace(this.#text.charCodeAt(start))) start++;
    while (end > start && isSpace(this.#text.charCodeAt(end - 1))) end--;
    return [start, end];
  }

  /**
   * The value spelled by text[start, end) (already trimmed) at nesting `depth`. `inner`, when
   * known (a part found by #split), is the deepest nesting of brackets inside the piece, so its
   * depth is checked without scanning it again.
   */
  async value(start: number, end: number, depth: number, inner?: number): Promise<unknown> {
    if (start === end) throw malformed("a value is missing");
    const c = this.#text.charCodeAt(start);
    const big = end - start > this.#slice;
    if (!big || (c !== 0x5b && c !== 0x7b)) {
      const piece = this.#text.slice(start, end);
      if (inner === undefined ? exceedsDepth(piece, this.#maxDepth - depth) : depth + inner > this.#maxDepth) throw new ProtocolError("MALFORMED_JSON", 400, `JSON nested deeper than ${this.#maxDepth} levels`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(piece);
      } catch (cause) {
        throw malformed((cause as Error).message);
      }
      await this.#spend(end - start);
      return parsed;
    }
    if (depth + 1 > this.#maxDepth) throw new ProtocolError("MALFORMED_JSON", 400, `JSON nested deeper than ${this.#maxDepth} levels`);
    const close = c === 0x5b ? 0x5d : 0x7d;
    if (this.#text.charCodeAt(end - 1) !== close) throw malformed(`unexpected text after the ${c === 0x5b ? "array" : "object"} that starts at ${start}`);
    const parts = await this.#split(start + 1, end - 1);
    if (c === 0x5b) return this.#elements(parts, depth + 1);
    const out: Record<string, unknown> = {};
    for (const [s, e, partInner] of parts) {
      if (s === e || this.#text.charCodeAt(s) !== 0x22) throw malformed(`an object member at ${s} does not start with its name`);
      const nameEnd = this.#stringEnd(s);
      let name: unknown;
      try {
        name = JSON.parse(this.#text.slice(s, nameEnd));
      } catch (cause) {
        throw malformed((cause as Error).message);
      }
      const [colon] = this.trim(nameEnd, e);
      if (this.#text.charCodeAt(colon) !== 0x3a) throw malformed(`expected ':' after the member name at ${s}`);
      const [vs, ve] = this.trim(colon + 1, e);
      // A member named "__proto__" is an own property, as JSON.parse makes it, never the prototype.
      Object.defineProperty(out, name as string, { value: await this.value(vs, ve, depth + 1, partInner), writable: true, enumerable: true, configurable: true });
    }
    return out;
  }

  /**
   * The elements (`parts`, at nesting `depth`) of one array. Consecutive elements that fit in a
   * slice together are parsed by one JSON.parse of their run, bracketed (a batch file's receipts,
   * a few hundred characters each, take one parse per slice instead of one each); a run that is
   * too deep or does not parse is parsed element by element, so the refusal is the one a parse
   * element by element gives.
   */
  async #elements(parts: ReadonlyArray<Part>, depth: number): Promise<unknown[]> {
    const out: unknown[] = [];
    let k = 0;
    while (k < parts.length) {
      const [s0, e0, inner0] = parts[k]!;
      let last = k;
      let deepest = inner0;
      // The run [k, last]: text[s0, end of last), with two brackets, within one slice.
      if (e0 - s0 + 2 <= this.#slice) {
        while (last + 1 < parts.length && parts[last + 1]![1] - s0 + 2 <= this.#slice) {
          last++;
          deepest = Math.max(deepest, parts[last]![2]);
        }
      }
      if (last > k && depth + deepest <= this.#maxDepth) {
        const end = parts[last]![1];
        let run: unknown[] | undefined;
        try {
          run = JSON.parse(`[${this.#text.slice(s0, end)}]`) as unknown[];
        } catch {
          run = undefined;
        }
        if (run !== undefined) {
          for (const v of run) out.push(v);
          await this.#spend(end - s0);
          k = last + 1;
          continue;
        }
      }
      for (; k <= last; k++) {
        const [s, e, inner] = parts[k]!;
        out.push(await this.value(s, e, depth, inner));
      }
    }
    return out;
  }

  /** Index after the string literal that starts at `start` (a '"'). */
  #stringEnd(start: number): number {
    const text = this.#text;
    for (let i = start + 1; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x5c) i++;
      else if (c === 0x22) return i + 1;
    }
    throw malformed(`a string that starts at ${start} does not end`);
  }

  /**
   * The trimmed spans of the comma-separated parts of text[start, end) at nesting depth 0 (the
   * inside of one array or object), each with the deepest nesting of brackets inside it; none for
   * whitespace only. Scans in slices; the inside of a string is skipped with indexOf.
   */
  async #split(start: number, end: number): Promise<Part[]> {
    const text = this.#text;
    const parts: Part[] = [];
    let depth = 0;
    let deepest = 0;
    let inString = false;
    let from = start;
    // The next '"' at or after the scan inside a string (-1: none left), kept across slices so a long string is searched once.
    let quote = -2;
    // One index across slices: an escape's backslash may end one slice and its character start the next.
    let i = start;
    while (i < end) {
      const begin = i;
      const stop = Math.min(end, i + this.#slice);
      while (i < stop) {
        if (inString) {
          if (quote < i && quote !== -1) quote = text.indexOf('"', i);
          if (quote === -1 || quote >= stop) {
            i = stop;
            break;
          }
          // Escaped when an odd run of backslashes precedes it (the opening quote ends any run).
          let b = quote - 1;
          while (text.charCodeAt(b) === 0x5c) b--;
          i = quote + 1;
          if ((quote - 1 - b) % 2 === 0) inString = false;
          continue;
        }
        const c = text.charCodeAt(i);
        if (c === 0x22) inString = true;
        else if (c === 0x5b || c === 0x7b) {
          if (++depth > deepest) deepest = depth;
        } else if (c === 0x5d || c === 0x7d) {
          if (--depth < 0) throw malformed(`unexpected '${String.fromCharCode(c)}' at ${i}`);
        } else if (c === 0x2c && depth === 0) {
          const [s, e] = this.trim(from, i);
          parts.push([s, e, deepest]);
          deepest = 0;
          from = i + 1;
        }
        i++;
      }
      await this.#spend(i - begin);
    }
    if (inString) throw malformed("a string does not end");
    if (depth !== 0) throw malformed("an array or object does not end");
    const last = this.trim(from, end);
    if (parts.length > 0 || last[0] < last[1]) parts.push([last[0], last[1], deepest]);
    for (const [s, e] of parts) if (s === e) throw malformed("a value is missing between two commas");
    return parts;
  }
}

/**
 * Parses a peer's JSON text as parsePeerJson does (same value, same refusals: MALFORMED_JSON
 * 400), pausing between slices of about `sliceChars` characters.
 * @example const json = await parsePeerJsonInSlices(body)
 */
export async function parsePeerJsonInSlices(text: string, options: SliceOptions = {}): Promise<unknown> {
  const sliceChars = options.sliceChars ?? PARSE_SLICE_CHARS;
  const maxDepth = options.maxDepth ?? LIMITS.maxJsonDepth;
  if (text.length <= sliceChars) return parsePeerJson(text, maxDepth);
  const stats = options.stats ?? { pauses: 0, largestSlice: 0 };
  const parser = new SliceParser(text, { pause: options.pause ?? yieldToLoop, sliceChars, maxDepth, stats });
  const [start, end] = parser.trim(0, text.length);
  const value = await parser.value(start, end, 0);
  parser.finish();
  return value;
}
