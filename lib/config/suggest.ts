/**
 * "Did you mean …?" for unknown configuration keys
 * (docs/FEDERATION_OPERATIONS.md §Configuration reference): a key that belongs elsewhere in the same file (`state_dir` at the top of
 * federation.yaml is `mesh.state_dir`) is named by its full path, and a misspelt key by the
 * nearest key known at its level. Pure: it only rewrites the warning texts the validator made.
 */

import { keyPath } from "./problems.js";

/** Every key path of each file; `*` stands for a name the operator chooses (a namespace, a chain id). */
const KNOWN_PATHS: Readonly<Record<string, readonly string[]>> = {
  "federation.yaml": [
    "mesh.node_id",
    "mesh.listen.http",
    "mesh.listen.tls.key",
    "mesh.listen.tls.cert",
    "mesh.key_file",
    "mesh.state_dir",
    "mesh.clock_skew_s",
    "namespaces.*.peers",
    "namespaces.*.origins",
    "namespaces.*.verify.evm_confirmations",
    "namespaces.*.verify.btc_confirmations",
    "namespaces.*.limits.max_announce_rate_per_min",
    "namespaces.*.limits.max_request_rate_per_min",
    "namespaces.*.quorum.k",
    "namespaces.*.quorum.witnesses",
    "anti_entropy.interval_s",
    "explorer.public",
    "explorer.token",
    "explorer.rate_per_min",
  ],
  "peers.yaml": ["peers.*.did", "peers.*.url", "peers.*.roles", "peers.*.keys.verify"],
  "anchors.yaml": [
    "eip155.*.rpcUrl",
    "eip155.*.contract",
    "btc.*.rpcUrl",
    "btc.*.esploraUrl",
    "btc.*.endpoints",
    "btc.*.agree",
    "btc.*.insecure",
    "rfc3161.trustBundle",
    "rfc3161.intermediates",
    "rfc3161.tsas.*.trustBundle",
    "rfc3161.tsas.*.subject",
  ],
};

/** Edit distance (insert, delete, substitute, swap of neighbours) between two short keys. */
export function keyDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/** The segments of a key path as lib/config/problems.ts prints it: `a.b`, `"dao:x".c`, `[0]`. */
function segments(path: string): (string | number)[] | undefined {
  const out: (string | number)[] = [];
  const re = /\.?(?:"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_]*)|\[(\d+)\])/gy;
  let m: RegExpExecArray | null;
  let at = 0;
  while (at < path.length && (m = re.exec(path)) !== null) {
    out.push(m[1] !== undefined ? (JSON.parse(`"${m[1]}"`) as string) : m[2] !== undefined ? m[2] : Number(m[3]));
    at = re.lastIndex;
  }
  return at === path.length ? out : undefined;
}

/** Writes a known path with the operator's own names (from `at`) in place of `*`. */
function instantiate(known: string, at: readonly (string | number)[]): string {
  return keyPath(known.split(".").map((p, i) => (p === "*" ? (at[i] ?? "<name>") : p)));
}

/**
 * The key an unknown `key` at `parent` (segments) in `file` most likely meant, as a full key
 * path, or undefined when none is close. `here` lists the keys known at that level.
 * @example suggestKey("federation.yaml", [], "state_dir", ["mesh", "namespaces"]) // "mesh.state_dir"
 * @example suggestKey("federation.yaml", ["mesh"], "stat_dir", ["node_id", "state_dir"]) // "mesh.state_dir"
 */
export function suggestKey(file: string, parent: readonly (string | number)[], key: string, here: readonly string[]): string | undefined {
  const norm = (s: string) => s.toLowerCase().replace(/[-_]/g, "");
  const near = (a: string, b: string) => {
    const d = keyDistance(norm(a), norm(b));
    return d === 0 || (d <= 2 && d < Math.min(a.length, b.length) / 2);
  };
  // A misspelling of a key at this level.
  const sibling = here.filter((k) => near(key, k)).sort((a, b) => keyDistance(norm(key), norm(a)) - keyDistance(norm(key), norm(b)))[0];
  if (sibling !== undefined) return keyPath([...parent, sibling]);
  // A key that belongs at another level of the same file: the known path ending in it (or close to it).
  const paths = KNOWN_PATHS[file] ?? [];
  const matches = paths.filter((p) => {
    const last = p.split(".").at(-1)!;
    return norm(last) === norm(key);
  });
  const pick = matches.length > 0 ? matches : paths.filter((p) => near(key, p.split(".").at(-1)!));
  if (pick.length !== 1) return undefined;
  // Keep the operator's own names (a namespace) where the paths share their beginning.
  return instantiate(pick[0]!, parent);
}

const UNKNOWN = /^([^:]+): (.+): unknown key \(known here: ([^)]*)\)$/;

/**
 * Adds "did you mean …?" to each `unknown key` warning for which a nearest known key exists.
 * @example withSuggestions(["federation.yaml: state_dir: unknown key (known here: mesh, namespaces, anti_entropy, explorer)"])
 * // ["federation.yaml: state_dir: unknown key (known here: …); did you mean mesh.state_dir?"]
 */
export function withSuggestions(warnings: readonly string[]): string[] {
  return warnings.map((w) => {
    const m = UNKNOWN.exec(w);
    if (m === null) return w;
    const path = segments(m[2]!);
    if (path === undefined || path.length === 0) return w;
    const key = String(path.at(-1)!);
    const here = m[3]!.split(",").map((s) => s.trim()).filter((s) => s !== "");
    const s = suggestKey(m[1]!, path.slice(0, -1), key, here);
    return s === undefined ? w : `${w}; did you mean ${s}?`;
  });
}
