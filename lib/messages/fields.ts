/**
 * Field readers for message schemas. Each reads one member of a parsed JSON object,
 * checks it, and throws ProtocolError MALFORMED (400) naming the member's path. Schemas
 * copy only the members they know into fresh objects, so `__proto__`, `constructor` and
 * unknown members never reach the rest of the program.
 */
import { isDigest } from "../digest.js";
import { ProtocolError } from "../errors.js";

export type Json = Record<string, unknown>;

export function malformed(path: string, what: string): ProtocolError {
  return new ProtocolError("MALFORMED", 400, `${path}: ${what}`);
}

/** Asserts a plain JSON object holding only `allowed` members (own keys, so `__proto__` counts as unknown). */
export function object(value: unknown, path: string, allowed: readonly string[]): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw malformed(path, "expected an object");
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) throw malformed(path, `unknown member ${JSON.stringify(key.slice(0, 64))}`);
  }
  return value as Json;
}

export function string(o: Json, key: string, path: string, maxLength: number, pattern?: RegExp): string {
  const v = o[key];
  if (typeof v !== "string") throw malformed(`${path}.${key}`, "expected a string");
  if (v.length === 0 || v.length > maxLength) throw malformed(`${path}.${key}`, `expected 1 to ${maxLength} characters, got ${v.length}`);
  if (pattern !== undefined && !pattern.test(v)) throw malformed(`${path}.${key}`, `does not match ${pattern.source}`);
  return v;
}

export function optionalString(o: Json, key: string, path: string, maxLength: number, pattern?: RegExp): string | undefined {
  return o[key] === undefined ? undefined : string(o, key, path, maxLength, pattern);
}

export function integer(o: Json, key: string, path: string, min: number, max: number): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isSafeInteger(v)) throw malformed(`${path}.${key}`, "expected an integer");
  if (v < min || v > max) throw malformed(`${path}.${key}`, `expected ${min} to ${max}, got ${v}`);
  return v;
}

export function optionalInteger(o: Json, key: string, path: string, min: number, max: number): number | undefined {
  return o[key] === undefined ? undefined : integer(o, key, path, min, max);
}

export function literal<T extends string | number>(o: Json, key: string, path: string, expected: T): T {
  if (o[key] !== expected) throw malformed(`${path}.${key}`, `expected ${JSON.stringify(expected)}`);
  return expected;
}

export function digest(o: Json, key: string, path: string): string {
  const v = o[key];
  if (!isDigest(v)) throw malformed(`${path}.${key}`, "expected \"sha256:\" and 64 lower-case hex digits");
  return v;
}

export function array(o: Json, key: string, path: string, maxItems: number, minItems = 0): unknown[] {
  const v = o[key];
  if (!Array.isArray(v)) throw malformed(`${path}.${key}`, "expected an array");
  if (v.length < minItems || v.length > maxItems) throw malformed(`${path}.${key}`, `expected ${minItems} to ${maxItems} items, got ${v.length}`);
  return v;
}
