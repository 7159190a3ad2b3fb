#!/usr/bin/env node
// Starts the program; everything else lives in dist/commands/main.js.
// A reader that goes away (`vmsh-federation … | head`) is not an error of ours: what is left to
// print is dropped and the command still ends with its own exit code, never a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (error) => {
    if (error?.code !== "EPIPE") throw error;
  });
}
let main;
try {
  ({ main } = await import("../dist/commands/main.js"));
} catch (error) {
  if (error?.code !== "ERR_MODULE_NOT_FOUND" || !String(error.message).includes("dist/commands/main.js")) throw error;
  // A checkout that was never built (packages from npm ship dist/): say how to get it.
  process.stderr.write("error: dist/ is missing: run `npm run build` in this checkout, or install the released package (docs/FEDERATION_OPERATIONS.md)\n");
  process.exitCode = 2;
}
if (main) process.exitCode = await main(process.argv.slice(2));
