/**
 * Reading YAML safely: js-yaml's default schema builds only plain data (no functions,
 * no custom tags), and aliases are refused because an alias bomb ("billion laughs")
 * stays small as a graph but explodes when walked.
 */
import yaml from "js-yaml";

export type YamlResult = { ok: true; value: unknown } | { ok: false; message: string };

/** Finds a node reachable twice (an alias), returning its key path, or undefined. */
function findSharedNode(root: unknown): string | undefined {
  const seen = new WeakSet<object>();
  const stack: Array<[unknown, string]> = [[root, ""]];
  while (stack.length > 0) {
    const [node, path] = stack.pop()!;
    if (node === null || typeof node !== "object") continue;
    if (seen.has(node)) return path || "(root)";
    seen.add(node);
    for (const [k, v] of Object.entries(node)) stack.push([v, path === "" ? k : `${path}.${k}`]);
  }
  return undefined;
}

/**
 * Parses YAML text from `file` into plain data; never throws.
 * @example parseYaml("a: 1", "federation.yaml") // { ok: true, value: { a: 1 } }
 */
export function parseYaml(text: string, file: string): YamlResult {
  let value: unknown;
  try {
    value = yaml.load(text, { filename: file, schema: yaml.DEFAULT_SCHEMA, json: false });
  } catch (cause) {
    const e = cause as { reason?: string; mark?: { line: number; column: number }; message: string };
    const where = e.mark ? ` at line ${e.mark.line + 1}, column ${e.mark.column + 1}` : "";
    return { ok: false, message: `${file}: not valid YAML${where}: ${e.reason ?? e.message}` };
  }
  const shared = findSharedNode(value);
  if (shared !== undefined) return { ok: false, message: `${file}: ${shared}: YAML anchors and aliases are not supported; write the value out` };
  return { ok: true, value };
}
