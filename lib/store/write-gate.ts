/**
 * Serialises write transactions: first among this process's own callers (a
 * promise queue, since the lock file is not re-entrant), then against other
 * processes (the `LOCK` file, lock.ts). Each transaction holds the lock only
 * while it re-reads, merges and writes the files it touches.
 */
import { acquireLock } from "./lock.js";

/** Runs write transactions one at a time under the state directory's lock. */
export class WriteGate {
  readonly #lockPath: string;
  readonly #timeoutMs: number;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(lockPath: string, timeoutMs: number) {
    this.#lockPath = lockPath;
    this.#timeoutMs = timeoutMs;
  }

  /**
   * Runs `fn` once every earlier transaction finished and the lock is held.
   * @example await gate.run(async () => writeFileAtomic(path, text))
   */
  run<T>(fn: () => Promise<T>): Promise<T> {
    const step = async (): Promise<T> => {
      const lock = await acquireLock(this.#lockPath, { timeoutMs: this.#timeoutMs });
      try {
        return await fn();
      } finally {
        await lock.release();
      }
    };
    const result = this.#tail.then(step, step);
    this.#tail = result.catch(() => undefined);
    return result;
  }

  /** Resolves when every transaction started so far has finished. */
  async idle(): Promise<void> {
    await this.#tail;
  }
}
