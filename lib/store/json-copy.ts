/**
 * A copy of a value as a JSON round trip (`JSON.parse(JSON.stringify(value))`) would give it,
 * without building the text: what the store takes from a caller is copied this way, so the
 * caller's objects are never frozen or kept, and undefined members, functions and symbols are
 * dropped as a stored file drops them (docs/STATE.md §Writes: atomic and durable). A value this
 * copy is not sure to treat as JSON does (a `toJSON` method, a boxed primitive, a bigint, a
 * cycle) goes through the round trip itself, so the result and any error are the round trip's.
 */

/** Thrown inside the walk when a value needs the real round trip. */
const FALLBACK = Symbol("json-copy fallback");

/**
 * Copies `value` as `JSON.parse(JSON.stringify(value))` does.
 * @example jsonCopy({ a: 1, b: undefined, c: [undefined] }) // { a: 1, c: [null] }
 */
export function jsonCopy<T>(value: T): T {
  try {
    const out = copy(value, 0);
    if (out === undefined) throw FALLBACK;
    return out as T;
  } catch (err) {
    if (err !== FALLBACK) throw err;
    return JSON.parse(JSON.stringify(value)) as T;
  }
}

/** Deeper than this the walk hands over to the round trip (which throws on a cycle). */
const MAX_DEPTH = 64;

/** The copy of `v`, or undefined where JSON drops it (a member that is undefined, a function, a symbol). */
function copy(v: unknown, depth: number): unknown {
  switch (typeof v) {
    case "string":
    case "boolean":
      return v;
    case "number":
      // JSON writes -0 as 0 and a non-finite number as null.
      return v === 0 ? 0 : Number.isFinite(v) ? v : null;
    case "undefined":
    case "function":
    case "symbol":
      return undefined;
    case "bigint":
      throw FALLBACK;
    default:
      break;
  }
  if (v === null) return null;
  if (depth >= MAX_DEPTH) throw FALLBACK;
  const o = v as Record<string, unknown>;
  if (typeof o["toJSON"] === "function") throw FALLBACK;
  if (Array.isArray(o)) {
    const out: unknown[] = new Array(o.length);
    for (let i = 0; i < o.length; i++) {
      const c = copy(o[i], depth + 1);
      out[i] = c === undefined ? null : c;
    }
    return out;
  }
  const proto = Object.getPrototypeOf(o) as unknown;
  if (proto !== Object.prototype && proto !== null) throw FALLBACK;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(o)) {
    // JSON.parse makes "__proto__" an own member; an assignment here would set the prototype.
    if (key === "__proto__") throw FALLBACK;
    const c = copy(o[key], depth + 1);
    if (c !== undefined) out[key] = c;
  }
  return out;
}
