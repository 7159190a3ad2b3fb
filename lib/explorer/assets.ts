/**
 * The explorer page's files, built by `npm run build` into dist/explorer/ (docs/EXPLORER.md,
 * "Building"). Read once at start and served from memory by name: no path from a request
 * ever reaches the file system. Every answer carries a Content-Security-Policy that lets the
 * page load and connect to nothing but this node.
 */
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { toDist } from "../bundle-layout.js";

export interface Asset {
  type: string;
  body: Buffer;
}

/** Where the build puts the page: dist/explorer next to dist/lib. */
export const ASSET_DIR = fileURLToPath(new URL(`${toDist("../../")}explorer/`, import.meta.url));

const FILES: Readonly<Record<string, string>> = {
  "index.html": "text/html; charset=utf-8",
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
  "favicon.svg": "image/svg+xml",
};

/** Same origin only; no inline script or style, no frames, no forms, no plugins. */
export const CONTENT_SECURITY_POLICY = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The built page, by file name; undefined when the build has not run (the explorer then answers 503 saying so).
 * @example const assets = await loadAssets(); assets?.get("index.html")
 */
export async function loadAssets(dir: string = ASSET_DIR): Promise<Map<string, Asset> | undefined> {
  const out = new Map<string, Asset>();
  for (const [name, type] of Object.entries(FILES)) {
    try {
      out.set(name, { type, body: await readFile(`${dir}${name}`) });
    } catch {
      return undefined;
    }
  }
  return out;
}
