/**
 * What a crash must not forget of the replay window
 * (docs/FEDERATION_PROTOCOL.md §Replay across restarts). Per signer, `accepted`: a `ts` that no message this node acted on exceeds, written
 * before the message is acted on and reserved HORIZON_RESERVE_S ahead so that a busy peer costs one
 * write per that many seconds, not one per message. After a crash the digests are gone, so each
 * signer's `floor` becomes `accepted + 1`: its messages signed at or before anything this node
 * may have acted on are refused until the skew window has passed them. Floors are saved too, so a
 * clean stop and start soon after a crash keeps them. Entries leave once the skew check refuses
 * everything they cover, so the document holds one entry per peer heard from in the last
 * `clock_skew_s + HORIZON_RESERVE_S` seconds.
 *
 * Besides, one floor for every signer, `notBefore`: a `ts` below which this node may have
 * forgotten what it accepted (an entry left the document, a digest left the replay cache) while
 * the skew check covered it. It only matters once `clock_skew_s` is raised, live or across a
 * restart: the wider window would otherwise re-admit those messages.
 */

/** Store document holding the horizon (docs/STATE.md §Replay window). */
export const HORIZON_DOC = "replay-horizon";
/** Seconds reserved ahead of a signer's `ts` at each write. */
export const HORIZON_RESERVE_S = 10;
/** The floor that applies to every signer: set when a crash left nothing to compute per-signer floors from. */
export const ANY_SIGNER = "*";

/** The saved form: `[signer, accepted, floor]` per signer, 0 for none; `notBefore`, the floor of every signer (absent in older state: 0). */
export interface SavedHorizon {
  signers: Array<[string, number, number]>;
  notBefore?: number;
}

interface Entry {
  accepted: number;
  floor: number;
}

export interface ReplayHorizonOptions {
  /** Writes the document durably (docs/STATE.md §Writes: atomic and durable). */
  save(value: SavedHorizon): Promise<void>;
  /** Unix seconds. */
  now(): number;
  /** The clock skew in force (mesh.clock_skew_s). */
  skewS(): number;
}

/**
 * The per-signer horizon of one node.
 * @example
 * const horizon = new ReplayHorizon({ save: (v) => store.putDoc(HORIZON_DOC, v), now, skewS: () => 300 });
 * await horizon.restore(await store.getDoc(HORIZON_DOC), crashed);
 * if (message.ts < (horizon.notBefore(message.signer) ?? 0)) refuse();
 * await horizon.admit(message.signer, message.ts); // then act on the message
 */
export class ReplayHorizon {
  /** What is on disk: only a saved value lets a message through `admit`. */
  #durable = new Map<string, Entry>();
  #queue: Promise<unknown> = Promise.resolve();
  /** The floor of every signer, in force at once; saved at the next write. */
  #floorAll = 0;
  readonly #options: ReplayHorizonOptions;

  constructor(options: ReplayHorizonOptions) {
    this.#options = options;
  }

  /** Messages from `signer` with `ts` below this are refused (a crash may have forgotten them); undefined: no floor. */
  notBefore(signer: string): number | undefined {
    // The floor of every signer counts only while it is above what the skew check refuses anyway.
    const all = this.#floorAll > this.#options.now() - this.#options.skewS() ? this.#floorAll : 0;
    const floor = Math.max(this.#durable.get(signer)?.floor ?? 0, this.#durable.get(ANY_SIGNER)?.floor ?? 0, all);
    return floor > 0 ? floor : undefined;
  }

  /** The floor of every signer (0: none): messages signed before it may have been accepted and forgotten. */
  get floorAll(): number {
    return this.#floorAll;
  }

  /**
   * Refuses every signer's messages with `ts` below `ts` from now on (saved with the next
   * write): the node may have forgotten messages signed before it, as when the skew window
   * is widened (lib/federation/runtime.ts).
   */
  raiseFloor(ts: number): void {
    this.#floorAll = Math.max(this.#floorAll, ts);
  }

  /** Entries held (one per recent signer, at most one more for ANY_SIGNER). */
  get size(): number {
    return this.#durable.size;
  }

  /**
   * Resolves once a message from `signer` signed at `ts` is covered on disk: at once when an
   * earlier write already reserved past `ts`, else after one write. Rejects when the write
   * fails; the message must then not be acted on.
   */
  async admit(signer: string, ts: number): Promise<void> {
    if (ts <= (this.#durable.get(signer)?.accepted ?? -1)) return;
    const run = this.#queue.then(async () => {
      const held = this.#durable.get(signer);
      if (ts <= (held?.accepted ?? -1)) return;
      const next = new Map(this.#durable);
      next.set(signer, { accepted: ts + HORIZON_RESERVE_S, floor: held?.floor ?? 0 });
      await this.#commit(next);
    });
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /**
   * Takes the saved document at start. After a crash (`crashed`), every signer's floor rises
   * past what it may have had accepted; a crash that left no document at all (state written by
   * an older version) gets one floor for every signer, past anything the skew window admits.
   * Writes the result before the node listens.
   */
  async restore(saved: unknown, crashed: boolean, floorAll = 0): Promise<void> {
    const now = this.#options.now();
    const next = new Map<string, Entry>();
    const valid = isSaved(saved);
    if (valid) for (const [signer, accepted, floor] of saved.signers) next.set(signer, { accepted, floor });
    this.raiseFloor(Math.max(floorAll, valid ? (saved.notBefore ?? 0) : 0));
    if (crashed) {
      for (const [signer, e] of next) if (e.accepted > 0) next.set(signer, { accepted: e.accepted, floor: Math.max(e.floor, e.accepted + 1) });
      if (!valid) next.set(ANY_SIGNER, { accepted: 0, floor: now + this.#options.skewS() + 1 });
    }
    await this.#commit(next);
  }

  async #commit(next: Map<string, Entry>): Promise<void> {
    const now = this.#options.now();
    const skew = this.#options.skewS();
    // Covered by the skew check alone from here on: `ts < now − skew` is refused anyway.
    for (const [signer, e] of next) if (Math.max(e.accepted, e.floor) + skew < now) next.delete(signer);
    // What this write lets go of was signed before now − skew: a wider window later must still refuse it.
    const floorAll = Math.max(this.#floorAll, now - skew);
    await this.#options.save({ signers: [...next].map(([signer, e]) => [signer, e.accepted, e.floor]), notBefore: floorAll });
    this.#durable = next;
    this.raiseFloor(floorAll);
  }
}

function isSaved(value: unknown): value is SavedHorizon {
  if (value === null || typeof value !== "object" || !Array.isArray((value as SavedHorizon).signers)) return false;
  const notBefore = (value as SavedHorizon).notBefore;
  if (notBefore !== undefined && !Number.isSafeInteger(notBefore)) return false;
  return (value as SavedHorizon).signers.every((e) => Array.isArray(e) && e.length === 3 && typeof e[0] === "string" && Number.isSafeInteger(e[1]) && Number.isSafeInteger(e[2]));
}
