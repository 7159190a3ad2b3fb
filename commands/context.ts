/**
 * What every command receives: the global options resolved, the printer, and a way to
 * load the node's configuration (warnings printed once, errors thrown as ConfigError).
 */
import { resolveConfigDir } from "../lib/config/dir.js";
import type { NodeConfig } from "../lib/config/types.js";
import { makePrinter, type Io, type Printer } from "./output.js";

export interface GlobalOptions {
  config?: string;
  json?: boolean;
  color?: boolean;
}

export interface CommandContext {
  io: Io;
  out: Printer;
  configDir: string;
  loadConfig(): Promise<NodeConfig>;
}

export function makeContext(io: Io, globals: GlobalOptions): CommandContext {
  const out = makePrinter(io, { json: globals.json === true, color: globals.color !== false });
  const configDir = resolveConfigDir(globals.config, io.env, io.cwd);
  let loaded: Promise<NodeConfig> | undefined;
  return {
    io,
    out,
    configDir,
    loadConfig() {
      // The YAML parser and validator load with the first command that reads the configuration.
      loaded ??= import("../lib/config/load.js").then(({ loadConfig }) => loadConfig(configDir, io.env)).then(({ config, warnings }) => {
        for (const w of warnings) out.warn(w);
        return config;
      });
      return loaded;
    },
  };
}
