/**
 * What this node keeps as a witness of other origins' logs (docs/STATE.md §Origin log;
 * docs/FEDERATION_PROTOCOL.md §Witnessed heads): per log, the latest head it cosigned
 * (`witnessed/<name>.json`), and every fork it was shown (`forks/<name>.<digest>.json`), kept as
 * evidence and never deleted. Check and update run under one lock, as tlog-witness requires (a
 * request for size N must not roll back a record that a concurrent request moved to N + K).
 */
import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { StoreError } from "../errors.js";
import { encodeName } from "../store/layout.js";
import { ensureDir } from "../store/atomic-file.js";
import { acquireLock } from "../store/lock.js";
import type { AddCheckpointOutcome, ForkEvidence, WitnessRecord } from "../tlog/witness.js";
import { originLogDir, readBytes, writeBytesAtomic } from "./files.js";

/** Fork evidence files kept per origin log. */
export const MAX_FORKS_PER_LOG = 16;

function parseRecord(text: string, file: string): WitnessRecord {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new StoreError("STATE_CORRUPT", `${file} is not valid JSON; it was left untouched`, { path: file, cause });
  }
  const r = data as WitnessRecord;
  if (typeof r?.origin !== "string" || !Number.isSafeInteger(r.size) || typeof r.rootHash !== "string" || typeof r.note !== "string") {
    throw new StoreError("STATE_CORRUPT", `${file} is not a witness record; it was left untouched`, { path: file });
  }
  return { origin: r.origin, size: r.size, rootHash: r.rootHash, note: r.note };
}

/**
 * The witness records of one state directory.
 * @example const w = new WitnessState(stateDir); await w.decide(origin, (latest) => addCheckpoint(req, { …, latest: () => latest }))
 */
export class WitnessState {
  readonly #dir: string;
  /** One decision at a time in this process; the file lock covers other processes. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(stateDir: string) {
    this.#dir = originLogDir(stateDir);
  }

  #recordFile(origin: string): string {
    return join(this.#dir, "witnessed", `${encodeName(origin)}.json`);
  }

  /** The latest head this node cosigned for `origin`, if any. */
  async latest(origin: string): Promise<WitnessRecord | undefined> {
    const file = this.#recordFile(origin);
    const raw = await readBytes(file);
    return raw === null ? undefined : parseRecord(Buffer.from(raw).toString("utf8"), file);
  }

  /**
   * Runs `decide` with the current record of `origin` and persists what it returns before
   * resolving: the new record on 200, the evidence of a fork otherwise.
   */
  decide(origin: string, decide: (latest: WitnessRecord | undefined) => AddCheckpointOutcome): Promise<AddCheckpointOutcome> {
    const run = async (): Promise<AddCheckpointOutcome> => {
      await ensureDir(this.#dir);
      const lock = await acquireLock(join(this.#dir, "WITNESS.LOCK"));
      try {
        const outcome = decide(await this.latest(origin));
        if (outcome.status === 200) await writeBytesAtomic(this.#recordFile(outcome.record.origin), `${JSON.stringify(outcome.record)}\n`);
        else if (outcome.evidence) await this.keepFork(outcome.evidence);
        return outcome;
      } finally {
        await lock.release();
      }
    };
    const next = this.#queue.then(run, run);
    this.#queue = next.catch(() => undefined);
    return next;
  }

  /**
   * Stores fork evidence once (named by its content's digest); true when it was new. At most
   * MAX_FORKS_PER_LOG are kept per log: one fork proves the origin dishonest, and a hostile
   * origin signing heads in a loop must not fill the disk.
   */
  async keepFork(evidence: ForkEvidence): Promise<boolean> {
    const digest = createHash("sha256").update(JSON.stringify([evidence.origin, evidence.cosigned, evidence.offered])).digest("hex").slice(0, 32);
    const prefix = `${encodeName(evidence.origin)}.`;
    const file = join(this.#dir, "forks", `${prefix}${digest}.json`);
    if ((await readBytes(file)) !== null) return false;
    const held = await readdir(join(this.#dir, "forks")).catch(() => [] as string[]);
    if (held.filter((n) => n.startsWith(prefix) && n.endsWith(".json")).length >= MAX_FORKS_PER_LOG) return false;
    await writeBytesAtomic(file, `${JSON.stringify(evidence)}\n`);
    return true;
  }

  /** Every fork kept, oldest file name first. */
  async forks(): Promise<ForkEvidence[]> {
    const dir = join(this.#dir, "forks");
    let names: string[];
    try {
      names = (await readdir(dir)).filter((n) => n.endsWith(".json")).sort();
    } catch {
      return [];
    }
    const out: ForkEvidence[] = [];
    for (const n of names) {
      const raw = await readBytes(join(dir, n));
      if (raw !== null) out.push(JSON.parse(Buffer.from(raw).toString("utf8")) as ForkEvidence);
    }
    return out;
  }
}
