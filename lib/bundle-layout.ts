/**
 * Where the running code sits, for the three files it finds beside itself (package.json, the
 * explorer page, the TSA worker). The command bundles (scripts/build-cli.mjs, README "Building")
 * replace VMSH_BUNDLE_TO_DIST with the path from a bundle file (dist/cli/<command>/) to dist/;
 * in the tsc output under dist/lib/ the name is undeclared, so `typeof` is "undefined".
 */
declare const VMSH_BUNDLE_TO_DIST: string | undefined;

/**
 * The path from the module at `moduleUrl` to dist/: `fromTsc` in the tsc output, the bundle's own in a bundle.
 * @example new URL(`${toDist("../../")}explorer/`, import.meta.url) // dist/explorer/
 */
export function toDist(fromTsc: string): string {
  return typeof VMSH_BUNDLE_TO_DIST === "string" ? VMSH_BUNDLE_TO_DIST : fromTsc;
}

/** True in a command bundle (dist/cli/), false in the tsc output. */
export const BUNDLED: boolean = typeof VMSH_BUNDLE_TO_DIST === "string";
