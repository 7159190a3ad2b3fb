/**
 * Driving a reconcile exchange (docs/ANTI_ENTROPY.md §Algorithm): `initiate` opens a
 * session over several namespaces; the peer answers each message with `respond`, which
 * keeps no state between HTTP rounds; the initiator feeds every reply to
 * `session.receive` until it reports `done`. Both sides learn, per namespace, the keys
 * they have that the other lacks (`have`) and the keys they lack (`need`).
 */
import type { ReceiptKey } from "../store/types.js";
import { resolveLimits, type ReconcileLimits, type ReconcileOptions } from "./limits.js";
import { DECODE_SLICE_RANGES, decodePayload, decodingPayload, MAX_SHORT_OFFSET, offeredSeed, SEED_BYTES } from "./payload.js";
import { equalBytes } from "./items.js";
import { ReconcileIndex } from "./reconcile-index.js";
import { Step, type StepOutcome, type StepTuning } from "./step.js";

/** One namespace's binary payload inside a message. */
export interface ReconcilePart {
  namespace: string;
  payload: Uint8Array;
}

/** What one side learned about one namespace. */
export interface NamespaceDelta {
  namespace: string;
  /** Keys this side holds that the peer lacks. */
  have: ReceiptKey[];
  /** Keys the peer holds that this side lacks. */
  need: ReceiptKey[];
}

export type RespondResult = { ok: true; reply: ReconcilePart[]; deltas: NamespaceDelta[] } | { ok: false; reason: string };

export interface ReceiveResult {
  /** The next message to send; absent when the session is over. */
  next?: ReconcilePart[];
  done: boolean;
  /** Why the session ended early (peer broke a bound or sent bad bytes); results so far stay valid. */
  error?: string;
}

const EMPTY = new ReconcileIndex();

function totalBytes(parts: readonly ReconcilePart[]): number {
  return parts.reduce((n, p) => n + p.payload.length, 0);
}

/**
 * The responder's side of one round: answers every namespace of `message` from the local
 * indexes (an unknown namespace counts as empty). Bad bytes become `{ ok: false }` (HTTP 400).
 * With `cap`, every part of the reply but the items the peer lacks stays within that many bytes.
 * @example const r = respond((ns) => indexes.get(ns), parts, { random }); if (r.ok) reply(r.reply)
 */
export function respond(lookup: (namespace: string) => ReconcileIndex | undefined, message: readonly ReconcilePart[], options: ReconcileOptions, cap?: number): RespondResult {
  const slices = responding(lookup, message, options, Number.POSITIVE_INFINITY, cap);
  for (;;) {
    const r = slices.next();
    if (r.done === true) return r.value;
  }
}

/** What `respondInSlices` adds: the work the answer took (docs/FEDERATION_PROTOCOL.md §Limits). */
export type SlicedRespondResult = RespondResult & { work: number };

/**
 * `respond` in slices of about `slice.work` work units, awaiting `slice.pause()` between them
 * (a node lets its other requests run); with `slice.cap`, every part of the reply but the items
 * the peer lacks stays within that many bytes (the amplification bound).
 * @example const r = await respondInSlices(lookup, parts, { random }, { work: 2000, pause: () => new Promise((ok) => setImmediate(ok)) })
 */
export async function respondInSlices(lookup: (namespace: string) => ReconcileIndex | undefined, message: readonly ReconcilePart[], options: ReconcileOptions, slice: { work: number; pause: () => Promise<void>; cap?: number }): Promise<SlicedRespondResult> {
  const work = { total: 0 };
  const slices = responding(lookup, message, options, slice.work, slice.cap, work);
  for (;;) {
    const r = slices.next();
    if (r.done === true) return { ...r.value, work: work.total };
    await slice.pause();
  }
}

function* responding(lookup: (namespace: string) => ReconcileIndex | undefined, message: readonly ReconcilePart[], options: ReconcileOptions, sliceWork: number, cap?: number, counter: { total: number } = { total: 0 }): Generator<void, RespondResult> {
  const limits = resolveLimits(options);
  if (message.length > limits.maxNamespaces) return { ok: false, reason: `more than ${limits.maxNamespaces} namespaces` };
  if (totalBytes(message) > limits.maxMessageBytes) return { ok: false, reason: `message exceeds ${limits.maxMessageBytes} bytes` };
  if (new Set(message.map((p) => p.namespace)).size !== message.length) return { ok: false, reason: "a namespace appears twice" };
  const reply: ReconcilePart[] = [];
  const deltas: NamespaceDelta[] = [];
  let budget = limits.maxMessageBytes;
  let room = cap ?? budget;
  for (const part of message) {
    const decoded = sliceWork === Number.POSITIVE_INFINITY ? decodePayload(part.payload, limits.maxRanges, limits.payloadVersion) : yield* decodingPayload(part.payload, limits.maxRanges, limits.payloadVersion, DECODE_SLICE_RANGES);
    if (!decoded.ok) return { ok: false, reason: `${part.namespace}: ${decoded.reason}` };
    // Version 2 when the payload is, or offers it (docs/ANTI_ENTROPY.md §Versions); else exactly 0.1.0's answer.
    const seed = decoded.payload.seed ?? (limits.payloadVersion >= 2 ? offeredSeed(decoded.payload) : undefined);
    const step = new Step(lookup(part.namespace) ?? EMPTY, decoded.payload.shortOffset, budget, limits.tuning, seed, Math.max(0, room));
    const answering = step.answerInSlices(decoded.payload, sliceWork);
    let r: StepOutcome;
    let before = step.work;
    for (;;) {
      const next = answering.next();
      counter.total += step.work - before;
      before = step.work;
      if (next.done === true) {
        r = next.value;
        break;
      }
      yield;
    }
    if (!r.ok) return { ok: false, reason: `${part.namespace}: ${r.reason}` };
    deltas.push({ namespace: part.namespace, have: r.have, need: r.need });
    if (r.payload !== undefined) {
      reply.push({ namespace: part.namespace, payload: r.payload });
      budget -= r.payload.length;
      room -= r.payload.length;
    }
  }
  return { ok: true, reply, deltas };
}

/** The initiator's state across rounds; create it with `initiate`. */
export class ReconcileSession {
  readonly #indexes: ReadonlyMap<string, ReconcileIndex>;
  readonly #limits: ReconcileLimits & { tuning: StepTuning };
  readonly #shortOffset: number;
  /** Keys the cells' item hash; offered in the opening when this side speaks version 2. */
  readonly #seed: Uint8Array;
  /** Namespaces whose peer answered in version 2: later messages there are version 2 too. */
  readonly #cells = new Set<string>();
  readonly #have = new Map<string, Map<string, ReceiptKey>>();
  readonly #need = new Map<string, Map<string, ReceiptKey>>();
  #sent = new Set<string>();
  #round = 0;
  #done = false;
  #error: string | undefined;

  /** @internal use `initiate`. */
  constructor(indexes: ReadonlyMap<string, ReconcileIndex>, limits: ReconcileLimits & { tuning: StepTuning }) {
    this.#indexes = indexes;
    this.#limits = { ...limits, tuning: { ...limits.tuning, initiator: true } };
    this.#shortOffset = Math.floor(limits.tuning.random() * (MAX_SHORT_OFFSET + 1));
    // Drawn only when offered, so that a version-1 session makes exactly 0.1.0's split choices.
    this.#seed = limits.payloadVersion >= 2 ? Uint8Array.from({ length: SEED_BYTES }, () => Math.floor(limits.tuning.random() * 256)) : new Uint8Array(SEED_BYTES);
    for (const ns of indexes.keys()) {
      this.#have.set(ns, new Map());
      this.#need.set(ns, new Map());
    }
  }

  /** Messages sent so far. */
  get round(): number {
    return this.#round;
  }

  get done(): boolean {
    return this.#done;
  }

  get error(): string | undefined {
    return this.#error;
  }

  /** @internal the opening message. */
  open(): ReconcilePart[] {
    const parts: ReconcilePart[] = [];
    let budget = this.#limits.maxMessageBytes;
    for (const [namespace, index] of this.#indexes) {
      const offer = this.#limits.payloadVersion >= 2 ? this.#seed : undefined;
      const payload = new Step(index, this.#shortOffset, budget, this.#limits.tuning).open(offer);
      if (payload === undefined) continue;
      parts.push({ namespace, payload });
      budget -= payload.length;
    }
    return this.#send(parts);
  }

  #send(parts: ReconcilePart[]): ReconcilePart[] {
    this.#round++;
    this.#sent = new Set(parts.map((p) => p.namespace));
    return parts;
  }

  #fail(reason: string): ReceiveResult {
    this.#done = true;
    this.#error = reason;
    return { done: true, error: reason };
  }

  /**
   * Takes the peer's reply to the last message; returns the next message or `done`.
   * @example let r = session.receive(reply); while (r.next) r = session.receive(await post(r.next));
   */
  receive(reply: readonly ReconcilePart[]): ReceiveResult {
    if (this.#done) return { done: true, ...(this.#error === undefined ? {} : { error: this.#error }) };
    if (reply.length > this.#limits.maxNamespaces) return this.#fail(`reply names more than ${this.#limits.maxNamespaces} namespaces`);
    if (totalBytes(reply) > this.#limits.maxMessageBytes) return this.#fail(`reply exceeds ${this.#limits.maxMessageBytes} bytes`);
    const seen = new Set<string>();
    const next: ReconcilePart[] = [];
    let budget = this.#limits.maxMessageBytes;
    for (const part of reply) {
      if (!this.#sent.has(part.namespace) || seen.has(part.namespace)) return this.#fail(`reply answers namespace ${JSON.stringify(part.namespace.slice(0, 130))}, which was not asked or appears twice`);
      seen.add(part.namespace);
      const decoded = decodePayload(part.payload, this.#limits.maxRanges, this.#limits.payloadVersion);
      if (!decoded.ok) return this.#fail(`${part.namespace}: ${decoded.reason}`);
      if (decoded.payload.shortOffset !== this.#shortOffset) return this.#fail(`${part.namespace}: reply changed the session's short-id offset`);
      if (decoded.payload.seed !== undefined) {
        if (!equalBytes(decoded.payload.seed, this.#seed)) return this.#fail(`${part.namespace}: reply changed the session's seed`);
        this.#cells.add(part.namespace);
      }
      const seed = this.#cells.has(part.namespace) ? this.#seed : undefined;
      const step = new Step(this.#indexes.get(part.namespace)!, this.#shortOffset, budget, this.#limits.tuning, seed);
      const r = step.answer(decoded.payload);
      if (!r.ok) return this.#fail(`${part.namespace}: ${r.reason}`);
      const have = this.#have.get(part.namespace)!;
      const need = this.#need.get(part.namespace)!;
      for (const k of r.have) have.set(`${k.ts} ${k.id}`, k);
      for (const k of r.need) need.set(`${k.ts} ${k.id}`, k);
      if (r.payload !== undefined) {
        next.push({ namespace: part.namespace, payload: r.payload });
        budget -= r.payload.length;
      }
    }
    if (next.length === 0) {
      this.#done = true;
      this.#sent = new Set();
      return { done: true };
    }
    if (this.#round >= this.#limits.maxRounds) return this.#fail(`no agreement after ${this.#limits.maxRounds} rounds`);
    return { next: this.#send(next), done: false };
  }

  /**
   * What this side learned so far, per namespace, keys in `(ts, id)` order.
   * @example session.deltas().map((d) => d.need.length)
   */
  deltas(): NamespaceDelta[] {
    const order = (a: ReceiptKey, b: ReceiptKey) => (a.ts !== b.ts ? a.ts - b.ts : a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    return [...this.#indexes.keys()].map((namespace) => ({
      namespace,
      have: [...this.#have.get(namespace)!.values()].sort(order),
      need: [...this.#need.get(namespace)!.values()].sort(order),
    }));
  }
}

/**
 * Opens a session over the given namespaces; send `message` to the peer, then pass each reply to `session.receive`.
 * @example const { message, session } = initiate(new Map([["dao:x", index]]), { random: seededRandom(seed) })
 */
export function initiate(indexes: ReadonlyMap<string, ReconcileIndex>, options: ReconcileOptions): { message: ReconcilePart[]; session: ReconcileSession } {
  const limits = resolveLimits(options);
  const session = new ReconcileSession(indexes, limits);
  return { message: session.open(), session };
}
