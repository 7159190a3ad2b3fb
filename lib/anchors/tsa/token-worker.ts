/**
 * The worker thread's side of off-thread token verification (docs/ANCHORS.md §Budgets):
 * receives `{ id, token, expected, options }`, answers `{ id, result }` or `{ id, error }`.
 * Runs the same verifyTimestampToken as the main thread; only where it runs differs.
 */
import { parentPort } from "node:worker_threads";
import { verifyTimestampToken, type TimestampExpectation, type TimestampOptions } from "./verify-token.js";

export interface TokenJob {
  id: number;
  token: Uint8Array;
  expected: TimestampExpectation;
  options: TimestampOptions;
}

parentPort?.on("message", (job: TokenJob) => {
  verifyTimestampToken(job.token, job.expected, job.options).then(
    (result) => parentPort!.postMessage({ id: job.id, result }),
    (error: unknown) => parentPort!.postMessage({ id: job.id, error: { name: (error as Error)?.name ?? "Error", message: (error as Error)?.message ?? String(error) } }),
  );
});
