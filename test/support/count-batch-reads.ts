/**
 * Preload (`node --import <this> …`) that appends to `$VMSH_TEST_BATCH_READS_FILE` the path of
 * every batch file (`…/batches/<id>/<file>.json`, docs/STATE.md §Layout) the process reads
 * through `fs/promises` `readFile`, one line a read, so a test can count the reads of a real
 * `serve` (test/federation/startup-pass.test.ts). Counts things, never times them.
 */
import { appendFileSync } from "node:fs";
import fsp from "node:fs/promises";
import { syncBuiltinESMExports } from "node:module";

const out = process.env.VMSH_TEST_BATCH_READS_FILE;
if (out !== undefined && out !== "") {
  const original = fsp.readFile;
  const counted = ((path: Parameters<typeof original>[0], ...rest: unknown[]) => {
    if (typeof path === "string" && /[\\/]batches[\\/][^\\/]+[\\/][^\\/]+\.json$/.test(path)) appendFileSync(out, `${path}\n`);
    return (original as (...a: unknown[]) => unknown)(path, ...rest);
  }) as typeof original;
  fsp.readFile = counted;
  // `import { readFile } from "node:fs/promises"` in the modules loaded after this sees the wrapper.
  syncBuiltinESMExports();
}
