/**
 * A byte-level picture of a directory tree (every file's path, size and SHA-256), so a test can
 * show that hostile input left a node's state directory exactly as it was (docs/STATE.md).
 */
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";

/** Relative path → `<bytes> <sha256 hex>` for every file; directories appear as `dir`. */
export type TreeSnapshot = Map<string, string>;

/**
 * Walks `root` and fingerprints every entry. A missing root is an empty snapshot.
 * @example const before = await snapshotTree(node.stateDir)
 */
export async function snapshotTree(root: string): Promise<TreeSnapshot> {
  const out: TreeSnapshot = new Map();
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
      throw e;
    }
    for (const entry of entries) {
      const p = join(dir, entry.name);
      if (entry.isDirectory()) {
        out.set(relative(root, p), "dir");
        await walk(p);
      } else {
        const bytes = await readFile(p);
        out.set(relative(root, p), `${bytes.length} ${createHash("sha256").update(bytes).digest("hex")}`);
      }
    }
  };
  await walk(root);
  return out;
}

/**
 * Lines naming every entry added, removed or changed between two snapshots; empty when identical.
 * @example assert.deepEqual(diffTrees(before, after), [])
 */
export function diffTrees(before: TreeSnapshot, after: TreeSnapshot): string[] {
  const lines: string[] = [];
  for (const [p, v] of before) {
    const w = after.get(p);
    if (w === undefined) lines.push(`removed ${p}`);
    else if (w !== v) lines.push(`changed ${p}: ${v} -> ${w}`);
  }
  for (const p of after.keys()) if (!before.has(p)) lines.push(`added ${p}`);
  return lines.sort();
}
