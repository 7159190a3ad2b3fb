/**
 * Test support: temporary state directories and byte-level snapshots of a
 * directory tree, to prove what the store did or did not write.
 */
import { createHash } from "node:crypto";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh empty directory; `cleanup` removes it. */
export function tempDir(prefix = "vmsh-store-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Every file under `root` (relative path → sha256 of bytes + mtime), directories as "dir". */
export function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, rel: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      const r = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        out.set(r, "dir");
        walk(full, r);
      } else {
        out.set(r, `${createHash("sha256").update(readFileSync(full)).digest("hex")}@${statSync(full).mtimeMs}`);
      }
    }
  };
  walk(root, "");
  return out;
}

/** Relative paths of all files under `root`. */
export function filesUnder(root: string): string[] {
  return [...snapshot(root)].filter(([, v]) => v !== "dir").map(([k]) => k).sort();
}
