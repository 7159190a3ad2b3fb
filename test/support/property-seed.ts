/**
 * The seed of the fast-check properties in a test file. Fixed by default, so every run (CI
 * included) draws the same cases and a failure replays; `FC_SEED=<integer>` runs another set
 * to explore. The seed in use is printed once per file, so any run can be repeated.
 */

/** The default seed of files that had none of their own. */
export const DEFAULT_FC_SEED = 20261127;

/**
 * Reads a seed from the first of `names` set in `env`: an integer in [−2^31, 2^31), or an Error
 * naming the variable. Unset (or empty) variables give `fallback`.
 * @example parseSeed({ FC_SEED: "42" }) // 42
 */
export function parseSeed(env: Record<string, string | undefined>, names: readonly string[] = ["FC_SEED"], fallback = DEFAULT_FC_SEED): { seed: number; from: string } {
  for (const name of names) {
    const text = env[name];
    if (text === undefined || text.trim() === "") continue;
    const seed = Number(text.trim());
    if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(seed) || seed < -(2 ** 31) || seed >= 2 ** 31) {
      throw new Error(`${name}=${JSON.stringify(text)}: a fast-check seed must be an integer in [-2147483648, 2147483647]`);
    }
    return { seed, from: name };
  }
  return { seed: fallback, from: "default" };
}

/**
 * The seed for this file's properties (from FC_SEED, else `fallback`), printed as a test
 * diagnostic line.
 * @example const SEED = propertySeed(); fc.assert(prop, { seed: SEED, numRuns: 300 })
 */
export function propertySeed(fallback = DEFAULT_FC_SEED, names: readonly string[] = ["FC_SEED"]): number {
  const { seed, from } = parseSeed(process.env, names, fallback);
  console.log(`fast-check seed ${seed} (${from === "default" ? "fixed default" : `from ${from}`}); FC_SEED=<integer> runs other cases`);
  return seed;
}
