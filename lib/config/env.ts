/**
 * `${NAME}` interpolation in configuration strings (docs/FEDERATION_OPERATIONS.md §anchors.yaml). Applied to string values
 * after parsing, so a variable can never change the YAML structure. An unset variable
 * is an error naming it; `$${` writes a literal `${`.
 */
import { cut, Problems } from "./problems.js";

const VAR = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{[^}]*\}?/g;

/**
 * Returns a copy of `value` with `${NAME}` replaced in every string, recording unset or
 * malformed references in `problems` under `file` and the key path.
 * @example interpolate({ url: "${RPC}" }, { RPC: "http://127.0.0.1:8545" }, "anchors.yaml", problems)
 */
export function interpolate(value: unknown, env: Readonly<Record<string, string | undefined>>, file: string, problems: Problems, path: (string | number)[] = []): unknown {
  if (typeof value === "string") {
    return value.replace(VAR, (match, name: string | undefined) => {
      if (match === "$${") return "${";
      if (name === undefined) {
        problems.error(file, path, `malformed variable reference ${cut(match)} (expected \${NAME})`);
        return match;
      }
      const v = env[name];
      if (v === undefined) {
        problems.error(file, path, `environment variable ${cut(name)} is not set`);
        return match;
      }
      return v;
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, file, problems, [...path, i]));
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    // defineProperty, not assignment: a key named __proto__ must stay a plain member.
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: interpolate(v, env, file, problems, [...path, k]), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}
