/**
 * The work budgets of docs/FEDERATION_PROTOCOL.md §Limits: what one admitted peer may make this
 * node do, counted in work rather than messages. Bytes answered (Request Bundles and reconcile
 * replies together) and reconcile work (ranges, items and cells touched) each have a per-peer
 * token bucket that refills continuously and holds BUDGET_BURST_S seconds' worth; a peer in
 * debt is answered 429 `BUDGET_EXHAUSTED` with `Retry-After`. One answer per peer and kind is
 * built (or waits its turn) at a time, and at most MAX_ANSWERS_IN_FLIGHT Request answers in all,
 * so the memory answers take is bounded by construction; the peers' Requests take the answer
 * slots in turn (AnswerSlots), so a flooding peer delays another's Request but cannot refuse it.
 */
import { DEFAULTS, type NamespaceLimits } from "../config/types.js";
import { ProtocolError } from "../errors.js";
import type { WorkRate } from "../http/work-budget.js";

/** Seconds' worth a full budget holds: a peer that waited gets a short burst, never a minute's. */
export const BUDGET_BURST_S = 4;
/** Request answers built at once, all peers together (each at most one Bundle page): one at a time bounds memory and keeps slices short. */
export const MAX_ANSWERS_IN_FLIGHT = 1;
/**
 * The Request answer slots, shared fairly (docs/FEDERATION_PROTOCOL.md §Limits): at most `max`
 * answers are built at once, and a Request that finds them all taken waits its turn, first come
 * first served, instead of being refused. Each peer has at most one Request answered or waiting
 * (the caller refuses a second one 429), so a waiting Request has at most one answer per other
 * peer ahead of it: a peer flooding at its allowance holds its own share and nobody else's.
 */
export class AnswerSlots {
  readonly #max: number;
  #busy = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(max: number = MAX_ANSWERS_IN_FLIGHT) {
    this.#max = Math.max(1, max);
  }

  /** Answers being built now, and Requests waiting for a slot. */
  get load(): { busy: number; waiting: number } {
    return { busy: this.#busy, waiting: this.#waiting.length };
  }

  /**
   * Waits for a slot; the returned function gives it back (to the longest-waiting Request).
   * @example const release = await slots.take(); try { … } finally { release() }
   */
  async take(): Promise<() => void> {
    if (this.#busy < this.#max) this.#busy++;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    let released = false;
    return () => {
      if (released) return;
      released = true;
      // The slot passes straight to the next in line, so a newcomer cannot jump the queue.
      const next = this.#waiting.shift();
      if (next !== undefined) next();
      else this.#busy--;
    };
  }
}

/** Reconcile work units answered between two pauses of the event loop (about a millisecond or two). */
export const RECONCILE_SLICE_WORK = 512;
/** A reconcile reply may always hold this many bytes besides the items the peer lacks… */
export const REPLY_FLOOR_BYTES = 64 * 1024;
/** …and otherwise at most this many times the request's bytes (the amplification bound). */
export const REPLY_AMPLIFICATION = 64;

/** The strictest of the namespaces' values (a reconcile round may name several). */
function strictest(limits: readonly NamespaceLimits[], pick: (l: NamespaceLimits) => number | undefined, fallback: number): number {
  return Math.min(...limits.map((l) => pick(l) ?? fallback));
}

/**
 * The per-peer byte rate of answers: `limits.max_answer_bytes_per_min`.
 * @example answerRate([ns.limits]) // { perS: 2236962.1…, burstS: 4 }
 */
export function answerRate(limits: readonly NamespaceLimits[]): WorkRate {
  return { perS: strictest(limits, (l) => l.maxAnswerBytesPerMin, DEFAULTS.maxAnswerBytesPerMin) / 60, burstS: BUDGET_BURST_S };
}

/**
 * The per-peer reconcile work rate: `limits.max_reconcile_work_per_min`.
 * @example reconcileRate([ns.limits]) // { perS: 10000, burstS: 4 }
 */
export function reconcileRate(limits: readonly NamespaceLimits[]): WorkRate {
  return { perS: strictest(limits, (l) => l.maxReconcileWorkPerMin, DEFAULTS.maxReconcileWorkPerMin) / 60, burstS: BUDGET_BURST_S };
}

/**
 * Bytes a reconcile reply may spend on anything but the items the peer lacks, for a request of `requestBytes`.
 * @example replyCap(350) // 65536
 */
export function replyCap(requestBytes: number): number {
  return Math.max(REPLY_FLOOR_BYTES, REPLY_AMPLIFICATION * requestBytes);
}

/** 429 for a peer whose `what` budget is in debt for `waitS` more seconds. */
export function budgetRefusal(signer: string, what: string, waitS: number): ProtocolError {
  return new ProtocolError("BUDGET_EXHAUSTED", 429, `${signer} has used its budget of ${what}; retry in ${waitS} s`, { details: String(waitS) });
}

/** 429 while earlier answers are being built. */
export function busyRefusal(why: string): ProtocolError {
  return new ProtocolError("BUDGET_EXHAUSTED", 429, `${why}; retry in 1 s`, { details: "1" });
}
