/**
 * Collects configuration problems, each `file: key.path: what is wrong` (docs/FEDERATION_OPERATIONS.md §Configuration reference), so
 * that a validator can report every error at once instead of stopping at the first.
 */

/** Formats a key path: identifiers joined by dots, other keys quoted, indexes in brackets. */
export function keyPath(segments: readonly (string | number)[]): string {
  let out = "";
  for (const s of segments) {
    if (typeof s === "number") out += `[${s}]`;
    else out += (out === "" ? "" : ".") + (/^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? s : JSON.stringify(s));
  }
  return out;
}

export class Problems {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];

  error(file: string, path: readonly (string | number)[], message: string): void {
    this.errors.push(path.length === 0 ? `${file}: ${message}` : `${file}: ${keyPath(path)}: ${message}`);
  }

  warn(file: string, path: readonly (string | number)[], message: string): void {
    this.warnings.push(path.length === 0 ? `${file}: ${message}` : `${file}: ${keyPath(path)}: ${message}`);
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
