// The folder graph docs/ARCHITECTURE.md describes: lib/ never imports commands/, and no two
// folders import from each other (lib/anchors/btc, evm and tsa count as lib/anchors; the
// package root lib/index.ts, which re-exports everything, is left out).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, normalize, relative } from "node:path";
import { repoRoot } from "../support/repo-root.js";

async function sources(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => (e.isDirectory() ? sources(join(dir, e.name)) : Promise.resolve(e.name.endsWith(".ts") ? [join(dir, e.name)] : []))));
  return nested.flat();
}

/** lib/anchors/btc/x.ts → lib/anchors; lib/errors.ts → lib/errors.ts; commands/x.ts → commands. */
function unit(file: string): string {
  const parts = relative(repoRoot, file).split("/");
  if (parts[0] === "lib") return parts.length === 2 ? parts.join("/") : `lib/${parts[1]}`;
  return parts[0]!;
}

async function folderEdges(): Promise<Map<string, Map<string, string>>> {
  const edges = new Map<string, Map<string, string>>();
  for (const file of [...(await sources(join(repoRoot, "lib"))), ...(await sources(join(repoRoot, "commands")))]) {
    if (relative(repoRoot, file) === "lib/index.ts") continue;
    const text = await readFile(file, "utf8");
    for (const m of text.matchAll(/from "(\.[^"]+)"/g)) {
      const target = normalize(join(dirname(file), m[1]!.replace(/\.js$/, ".ts")));
      const [a, b] = [unit(file), unit(target)];
      if (a === b) continue;
      if (!edges.has(a)) edges.set(a, new Map());
      edges.get(a)!.set(b, relative(repoRoot, file));
    }
  }
  return edges;
}

test("architecture: lib/ never imports from commands/", async () => {
  const edges = await folderEdges();
  const offenders = [...edges].filter(([from, to]) => from.startsWith("lib") && to.has("commands")).map(([, to]) => to.get("commands"));
  assert.deepEqual(offenders, []);
});

test("architecture: no two folders import from each other", async () => {
  const edges = await folderEdges();
  const cycles: string[] = [];
  for (const [a, to] of edges) for (const [b, file] of to) if (a < b && edges.get(b)?.has(a)) cycles.push(`${a} (${file}) ⇄ ${b} (${edges.get(b)!.get(a)})`);
  assert.deepEqual(cycles, []);
});
