/**
 * Reads the three configuration files from a directory and validates them: the thin I/O
 * wrapper around validateConfig. Throws ConfigError listing every problem.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "../errors.js";
import type { NodeConfig } from "./types.js";
import { readTsaTrust } from "./tsa-trust.js";
import { validateConfig } from "./validate.js";
import { parseYaml } from "./yaml.js";

export const CONFIG_FILES = ["federation.yaml", "peers.yaml", "anchors.yaml"] as const;

export { resolveConfigDir } from "./dir.js";

async function readOptional(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, "utf8");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConfigError([`${file}: cannot be read: ${(cause as Error).message}`], { cause });
  }
}

export interface LoadedConfig {
  config: NodeConfig;
  warnings: string[];
}

/**
 * Loads and validates `dir`/federation.yaml, peers.yaml and anchors.yaml. federation.yaml
 * must exist; a missing peers.yaml or anchors.yaml means no peers or no verifiers (warned).
 * The certificate files anchors.yaml names are read here, into `config.tsaTrust`.
 * @example const { config, warnings } = await loadConfig("/etc/vmsh", process.env)
 */
export async function loadConfig(dir: string, env: Readonly<Record<string, string | undefined>>): Promise<LoadedConfig> {
  const texts = await Promise.all(CONFIG_FILES.map((f) => readOptional(join(dir, f))));
  if (texts[0] === undefined) throw new ConfigError([`federation.yaml: not found in ${dir}`], { details: "missing" });
  const errors: string[] = [];
  const warnings: string[] = [];
  const parsed = CONFIG_FILES.map((file, i) => {
    const text = texts[i];
    if (text === undefined) {
      warnings.push(`${file}: not found in ${dir}; ${file === "peers.yaml" ? "no peers are admitted" : "no anchor verifiers are configured"}`);
      return undefined;
    }
    const r = parseYaml(text, file);
    if (!r.ok) errors.push(r.message);
    return r.ok ? r.value : undefined;
  });
  if (errors.length > 0) throw new ConfigError(errors);
  const result = validateConfig({ federation: parsed[0], peers: parsed[1], anchors: parsed[2] }, { dir, env });
  if (result.config === undefined) throw new ConfigError(result.errors);
  // The verifiers receive certificates, not paths (docs/ANCHORS.md §TSA names).
  const tsaTrust = await readTsaTrust(result.config.anchors);
  const config = tsaTrust === undefined ? result.config : { ...result.config, tsaTrust };
  return { config, warnings: [...warnings, ...result.warnings] };
}
