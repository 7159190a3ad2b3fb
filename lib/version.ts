/** The package version, read once from package.json so it is never stated twice. */
import { readFileSync } from "node:fs";
import { toDist } from "./bundle-layout.js";

function findVersion(): string {
  // dist/lib/version.js sits two levels under the root, lib/version.ts (run from source) one, a
  // command bundle wherever lib/bundle-layout.ts says.
  for (const rel of [`${toDist("../")}../package.json`, "../package.json"]) {
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
