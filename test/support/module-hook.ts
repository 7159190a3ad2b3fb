/**
 * Which files a child process loads, and which sources they hold: a module hook (`--import`)
 * appends every file URL the child loads to a list; a command bundle (dist/cli/, built by
 * scripts/build-cli.mjs) counts as the sources its source map names, so one check reads the same
 * on the tsc output and on a bundle (test/cli/lazy-load.test.ts, test/cli/bundles.test.ts).
 */
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { repoRoot } from "./repo-root.js";

export interface ModuleHook {
  /** NODE_OPTIONS and the list's variable for a child that appends to `<dir>/<name>.txt`. */
  env(name: string): Record<string, string>;
  /** The file URLs the child with that name loaded, in order. */
  urls(name: string): Promise<string[]>;
  dir: string;
  close(): Promise<void>;
}

export async function moduleHook(): Promise<ModuleHook> {
  const dir = await mkdtemp(join(tmpdir(), "vmsh-hook-"));
  await writeFile(join(dir, "hooks.mjs"), `import { appendFileSync } from "node:fs";\nexport async function load(url, context, next) { if (url.startsWith("file:")) appendFileSync(process.env.VMSH_TEST_LOADED, url + "\\n"); return next(url, context); }\n`);
  await writeFile(join(dir, "register.mjs"), `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(join(dir, "hooks.mjs")).href)});\n`);
  const hook = pathToFileURL(join(dir, "register.mjs")).href;
  return {
    dir,
    env: (name) => ({ NODE_OPTIONS: `--import ${hook}`, VMSH_TEST_LOADED: join(dir, `${name}.txt`) }),
    urls: async (name) => (await readFile(join(dir, `${name}.txt`), "utf8")).trim().split("\n"),
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

/**
 * The sources behind loaded file URLs, as repository paths: `commands/status.ts`, `lib/store/store.ts`,
 * `node_modules/commander/lib/command.js`. A file of the tsc output stands for its source; a bundle
 * for every source in its map; a file in node_modules for itself.
 */
export async function sourcesOf(urls: readonly string[]): Promise<string[]> {
  const out = new Set<string>();
  for (const url of urls) {
    const file = fileURLToPath(url);
    const rel = relative(repoRoot, file);
    if (rel.startsWith("dist/cli/")) {
      const map = `${file}.map`;
      if (!existsSync(map)) throw new Error(`${rel} has no source map`);
      for (const s of (JSON.parse(await readFile(map, "utf8")) as { sources: string[] }).sources) out.add(normalise(relative(repoRoot, resolve(dirname(file), s))));
    } else if (/^dist\/(commands|lib)\//.test(rel)) out.add(rel.slice("dist/".length).replace(/\.js$/, ".ts"));
    else out.add(normalise(rel));
  }
  return [...out];
}

/** node_modules paths reached through the worktree's node_modules link, or not, read alike. */
function normalise(rel: string): string {
  const at = rel.lastIndexOf("node_modules/");
  return at < 0 ? rel : rel.slice(at);
}
