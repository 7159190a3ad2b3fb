#!/usr/bin/env node
// Starts the program; everything else lives in dist/commands/main.js.
import { main } from "../dist/commands/main.js";

process.exitCode = await main(process.argv.slice(2));
