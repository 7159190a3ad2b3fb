/**
 * Namespace patterns of a roster (docs/FEDERATION_PROTOCOL.md §Roster): an exact namespace, a
 * prefix such as `dao:*`, or `*`. For a namespace the most specific pattern wins: the exact
 * name, then the longest prefix, then `*`.
 */
import { isNamespace } from "../messages/limits.js";

/** True for `*`, an exact namespace, or `<namespace>:*`. */
export function isNamespacePattern(value: string): boolean {
  if (value === "*") return true;
  if (value.endsWith(":*")) return isNamespace(value.slice(0, -2));
  return isNamespace(value);
}

/** How specific `pattern` is for `namespace`: -1 when it does not match, larger is more specific. */
export function specificity(pattern: string, namespace: string): number {
  if (pattern === namespace) return Number.MAX_SAFE_INTEGER;
  if (pattern === "*") return 0;
  if (pattern.endsWith(":*")) return namespace.startsWith(pattern.slice(0, -1)) ? pattern.length : -1;
  return -1;
}

/**
 * The most specific pattern among `patterns` that matches `namespace`.
 * @example mostSpecific(["*", "dao:*", "dao:vaultmesh"], "dao:vaultmesh") // "dao:vaultmesh"
 */
export function mostSpecific(patterns: Iterable<string>, namespace: string): string | undefined {
  let best: string | undefined;
  let score = -1;
  for (const p of patterns) {
    const s = specificity(p, namespace);
    if (s > score) [best, score] = [p, s];
  }
  return best;
}
