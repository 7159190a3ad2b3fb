/** The package version, read once from package.json so it is never stated twice. */
import { readFileSync } from "node:fs";

function findVersion(): string {
  // dist/lib/version.js and lib/version.ts both sit two or three levels under the root.
  for (const rel of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), "utf8")) as { name?: string; version?: string };
      if (pkg.name === "vmsh-federation" && typeof pkg.version === "string") return pkg.version;
    } catch {
      // not at this level
    }
  }
  return "0.0.0";
}

export const VERSION: string = findVersion();
