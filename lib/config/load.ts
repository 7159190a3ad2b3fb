/**
 * Reads the three configuration files from a directory and validates them: the thin I/O
 * wrapper around validateConfig. Throws ConfigError listing every problem.
 */
import { open } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "../errors.js";
import type { NodeConfig } from "./types.js";
import { readTsaTrust } from "./tsa-trust.js";
import { validateConfig } from "./validate.js";
import { parseYaml } from "./yaml.js";

export const CONFIG_FILES = ["federation.yaml", "peers.yaml", "anchors.yaml"] as const;

export { resolveConfigDir } from "./dir.js";

/** The largest configuration file read (docs/FEDERATION_OPERATIONS.md §Configuration reference): 1 MiB. */
export const MAX_CONFIG_FILE_BYTES = 1024 * 1024;

/**
 * Reads one file, at most MAX_CONFIG_FILE_BYTES + 1 bytes of it: a larger file is refused by its
 * size before any of it is parsed, and a file that grows while read (or a device) is never read whole.
 */
async function readOptional(dir: string, name: string): Promise<string | undefined> {
  const file = join(dir, name);
  let handle;
  try {
    handle = await open(file, "r");
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ConfigError([`${file}: cannot be read: ${(cause as Error).message}`], { cause });
  }
  try {
    const size = (await handle.stat()).size;
    const tooLarge = (bytes: string) => new ConfigError([`${name}: ${bytes} is more than the 1 MiB (${MAX_CONFIG_FILE_BYTES} bytes) a configuration file may hold (${file})`], { details: "too-large" });
    if (size > MAX_CONFIG_FILE_BYTES) throw tooLarge(`${size} bytes`);
    const buffer = Buffer.alloc(MAX_CONFIG_FILE_BYTES + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > MAX_CONFIG_FILE_BYTES) throw tooLarge("its content");
    return buffer.subarray(0, length).toString("utf8");
  } catch (cause) {
    if (cause instanceof ConfigError) throw cause;
    throw new ConfigError([`${file}: cannot be read: ${(cause as Error).message}`], { cause });
  } finally {
    await handle.close();
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
  const texts = await Promise.all(CONFIG_FILES.map((f) => readOptional(dir, f)));
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
