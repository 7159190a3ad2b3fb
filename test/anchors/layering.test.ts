/**
 * The verifiers sit below the configuration (docs/ANCHORS.md, first section): lib/anchors never
 * imports lib/config and never opens a file; lib/config builds the verifiers' types from the
 * files. Read from the TypeScript sources, so a new import is caught before it ships.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { repoRoot } from "../support/repo-root.js";

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith(".ts") ? [p] : [];
  });
}

const IMPORT = /^\s*(?:import|export)\b[^;]*?\bfrom\s+"([^"]+)"/gm;
const importsOf = (file: string): string[] => [...readFileSync(file, "utf8").matchAll(IMPORT)].map((m) => m[1]!);

describe("lib/anchors layering", () => {
  test("layering: no file in lib/anchors imports lib/config or reads the file system", () => {
    const files = sources(join(repoRoot, "lib", "anchors"));
    assert.ok(files.length > 30, `found only ${files.length} sources`);
    const offending = files.flatMap((f) => importsOf(f).filter((i) => /(^|\/)config\//.test(i) || /^(node:)?fs(\/promises)?$/.test(i)).map((i) => `${relative(repoRoot, f)} imports ${i}`));
    assert.deepEqual(offending, []);
  });
});
