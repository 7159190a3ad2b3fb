/**
 * Collects configuration problems, each `file: key.path: what is wrong` (docs/FEDERATION_OPERATIONS.md §Configuration reference), so
 * that a validator can report every error at once instead of stopping at the first.
 */

/** Characters of a value or key quoted in a problem; the rest is cut with "…" (docs/FEDERATION_OPERATIONS.md §Configuration reference). */
export const SHOWN_CHARS = 64;
/** Warnings listed one by one; past them, one line counts the rest. */
export const MAX_WARNINGS = 20;
/** Errors listed one by one; past them, one line counts the rest. */
export const MAX_ERRORS = 100;
/** Longest problem line: a safety net for any text a message quotes. */
const MAX_PROBLEM_CHARS = 512;

/**
 * A value as a problem quotes it: JSON, at most SHOWN_CHARS characters of it, then "…".
 * @example shown("did:" + "a".repeat(100)) // "\"did:aaaa…\"" (64 characters of the value)
 */
export function shown(value: unknown): string {
  return typeof value === "string" ? JSON.stringify(cut(value)) : cut(JSON.stringify(value) ?? String(value));
}

/**
 * Text as a problem quotes it unquoted: at most SHOWN_CHARS characters, then "…".
 * @example cut("A".repeat(100)) // 64 × "A" + "…"
 */
export function cut(text: string): string {
  return text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS)}…` : text;
}

/** Formats a key path: identifiers joined by dots, other keys quoted (cut like `shown`), indexes in brackets. */
export function keyPath(segments: readonly (string | number)[]): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else out += (out === "" ? "" : ".") + (/^[A-Za-z_][A-Za-z0-9_]*$/.test(s) && s.length <= SHOWN_CHARS ? s : shown(s));
  }
  return out;
}

function line(file: string, path: readonly (string | number)[], message: string): string {
  const text = path.length === 0 ? `${file}: ${message}` : `${file}: ${keyPath(path)}: ${message}`;
  return text.length > MAX_PROBLEM_CHARS ? `${text.slice(0, MAX_PROBLEM_CHARS)}…` : text;
}

export class Problems {
  /** Every error, the first MAX_ERRORS one by one, then one line counting the rest. */
  readonly errors: string[] = [];
  /** Every warning, the first MAX_WARNINGS one by one, then one line counting the rest. */
  readonly warnings: string[] = [];
  #moreErrors = 0;
  #moreWarnings = 0;

  error(file: string, path: readonly (string | number)[], message: string): void {
    if (this.errors.length < MAX_ERRORS) this.errors.push(line(file, path, message));
    else this.errors[MAX_ERRORS] = `… and ${++this.#moreErrors} more errors`;
  }

  warn(file: string, path: readonly (string | number)[], message: string): void {
    if (this.warnings.length < MAX_WARNINGS) this.warnings.push(line(file, path, message));
    else this.warnings[MAX_WARNINGS] = `… and ${++this.#moreWarnings} more warnings`;
  }
}

/** A reader over one file's parsed YAML that records problems at the right key path. */
export class Section {
  constructor(
    readonly problems: Problems,
    readonly file: string,
    readonly path: readonly (string | number)[],
    readonly value: unknown,
  ) {}

  at(key: string | number): Section {
    const v = this.value as Record<string | number, unknown> | undefined;
    const child = v !== null && typeof v === "object" && Object.prototype.hasOwnProperty.call(v, key) ? v[key] : undefined;
    return new Section(this.problems, this.file, [...this.path, key], child);
  }

  get present(): boolean {
    return this.value !== undefined && this.value !== null;
  }

  error(message: string): undefined {
    this.problems.error(this.file, this.path, message);
    return undefined;
  }

  /** A mapping, warning about keys not in `known` (unless `known` is undefined: a free-form map). */
  mapping(known?: readonly string[]): Record<string, unknown> | undefined {
    if (!this.present) return undefined;
    if (typeof this.value !== "object" || Array.isArray(this.value)) return this.error("expected a mapping");
    const m = this.value as Record<string, unknown>;
    if (known !== undefined) {
      for (const k of Object.keys(m)) if (!known.includes(k)) this.problems.warn(this.file, [...this.path, k], `unknown key (known here: ${known.join(", ")})`);
    }
    return m;
  }

  string(): string | undefined {
    if (!this.present) return undefined;
    if (typeof this.value !== "string" || this.value === "") return this.error("expected a non-empty string");
    return this.value;
  }

  integer(min: number, max: number, what: string): number | undefined {
    if (!this.present) return undefined;
    if (typeof this.value !== "number" || !Number.isSafeInteger(this.value) || this.value < min || this.value > max) return this.error(`expected ${what}`);
    return this.value;
  }

  list(): unknown[] | undefined {
    if (!this.present) return undefined;
    if (!Array.isArray(this.value)) return this.error("expected a list");
    return this.value;
  }

  required(): this | undefined {
    if (!this.present) {
      this.error("is required");
      return undefined;
    }
    return this;
  }
}
