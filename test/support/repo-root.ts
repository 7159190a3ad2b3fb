/**
 * The repository root, found by walking up from this file until a package.json
 * appears: works both from test/ (run with tsx) and from dist/test/ (compiled).
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

function findRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, "package.json")) && existsSync(join(dir, "tsconfig.json"))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no package.json above ${start}`);
    dir = parent;
  }
}

/** Absolute path of the repository root. */
export const repoRoot: string = findRoot(dirname(fileURLToPath(import.meta.url)));

/** Absolute path of a file under test/fixtures/. */
export function fixturePath(...parts: string[]): string {
  return join(repoRoot, "test", "fixtures", ...parts);
}
