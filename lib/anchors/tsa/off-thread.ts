/**
 * Time-stamp tokens from peers are verified on a worker thread, so that parsing and
 * signature checks never hold the event loop that answers `/health` and the federation
 * endpoints (docs/ANCHORS.md §Budgets). One worker, created on first use, keeps the
 * process alive only while it has work; jobs queue in order. A worker that dies (a crash,
 * its memory limit) fails the jobs it held and is replaced on the next call.
 */
import { Worker } from "node:worker_threads";
import { BUNDLED, toDist } from "../../bundle-layout.js";
import type { TokenJob } from "./token-worker.js";
import type { TimestampExpectation, TimestampOptions, TimestampVerification } from "./verify-token.js";

type Settle = { resolve: (r: TimestampVerification) => void; reject: (e: Error) => void };

let worker: Worker | undefined;
const waiting = new Map<number, Settle>();
let nextId = 0;

function failAll(error: Error): void {
  const settles = [...waiting.values()];
  waiting.clear();
  for (const s of settles) s.reject(error);
}

function start(): Worker {
  // A token is at most 64 KiB (docs/ANCHORS.md §Budgets); 64 MiB of heap is ample and caps a surprise.
  // The worker is its own file: token-worker.js beside this one, or dist/cli/tsa-token-worker.js for a bundle.
  const file = BUNDLED ? new URL(`${toDist("")}cli/tsa-token-worker.js`, import.meta.url) : new URL("./token-worker.js", import.meta.url);
  const w = new Worker(file, { resourceLimits: { maxOldGenerationSizeMb: 64 } });
  w.on("message", (m: { id: number; result?: TimestampVerification; error?: { name: string; message: string } }) => {
    const settle = waiting.get(m.id);
    if (settle === undefined) return;
    waiting.delete(m.id);
    if (waiting.size === 0) w.unref();
    if (m.error !== undefined) settle.reject(Object.assign(new Error(m.error.message), { name: m.error.name }));
    else settle.resolve(m.result!);
  });
  w.on("error", (error) => {
    if (worker === w) worker = undefined;
    failAll(new Error(`time-stamp verifier thread failed: ${error.message}`));
  });
  w.on("exit", (code) => {
    if (worker === w) worker = undefined;
    failAll(new Error(`time-stamp verifier thread exited (code ${code})`));
  });
  w.unref();
  return w;
}

/**
 * Starts the worker thread now if it is not running, so that its start (a thread, its modules:
 * tens of milliseconds) overlaps the caller's other work before the first token arrives
 * (docs/BENCHMARKS.md "Fifth pass: bundles"). An idle worker does not keep the process alive.
 * @example if (anchors.some((a) => a.chain.startsWith("rfc3161:"))) startTokenWorker();
 */
export function startTokenWorker(): void {
  worker ??= start();
}

/**
 * verifyTimestampToken on the worker thread: same arguments, same answer.
 * @example const r = await verifyTimestampTokenOffThread(tsr, { data: rootBytes }, { trustPem })
 */
export function verifyTimestampTokenOffThread(token: Uint8Array, expected: TimestampExpectation, options: TimestampOptions): Promise<TimestampVerification> {
  worker ??= start();
  const w = worker;
  const id = ++nextId;
  return new Promise<TimestampVerification>((resolve, reject) => {
    waiting.set(id, { resolve, reject });
    w.ref();
    const job: TokenJob = { id, token, expected, options };
    w.postMessage(job);
  });
}
