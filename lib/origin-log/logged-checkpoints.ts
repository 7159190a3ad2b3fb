/**
 * The checkpoints this node has seen included in a witnessed head of their origin's log
 * (docs/FEDERATION_PROTOCOL.md §Origin log, docs/STATE.md §Origin log): one record per checkpoint,
 * by the digest attribution uses (`messageDigest`, without the signature), with when it was
 * witnessed there (the k-th earliest witness cosignature time of the head its origin served).
 * `serve` fills it (lib/federation/origin-log.ts `collectLogInclusions`) after checking each
 * proof with verifyLogged; `status`, `verify-online` and attribution read it. A checkpoint
 * without a record is `unlogged`. The file is `<state_dir>/v1/origin-log/logged.json`.
 */
import { readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { ensureDir, writeFileAtomic } from "../store/atomic-file.js";
import { originLogDir } from "./files.js";

/** One logged checkpoint: which version it signs and when it was witnessed in its origin's log. */
export interface LoggedRecord {
  namespace: string;
  batchId: string;
  batchRoot: string;
  origin: string;
  /** POSIX seconds: the k-th earliest witness cosignature time of the head including it. */
  witnessedAt: number;
  /** Size of that head and the checkpoint's index in the log. */
  size: number;
  index: number;
  /** DIDs of the witnesses whose cosignature of that head verified. */
  witnesses?: string[];
}

interface LoggedFile {
  v: 1;
  checkpoints: Record<string, LoggedRecord>;
}

const open = new Map<string, LoggedCheckpoints>();

function isRecord(x: unknown): x is LoggedRecord {
  const r = x as LoggedRecord;
  return typeof r === "object" && r !== null && typeof r.namespace === "string" && typeof r.batchId === "string" && typeof r.batchRoot === "string" && typeof r.origin === "string" && Number.isSafeInteger(r.witnessedAt) && Number.isSafeInteger(r.size) && Number.isSafeInteger(r.index);
}

/**
 * @example LoggedCheckpoints.of(stateDir).refresh().witnessedAt(messageDigest(cp)) // 1760000101 or undefined
 */
export class LoggedCheckpoints {
  readonly file: string;
  #records = new Map<string, LoggedRecord>();
  #versions = new Set<string>();
  #seen = "";

  constructor(stateDir: string) {
    this.file = join(originLogDir(stateDir), "logged.json");
  }

  /** The one instance per state directory in this process. */
  static of(stateDir: string): LoggedCheckpoints {
    let l = open.get(stateDir);
    if (l === undefined) {
      l = new LoggedCheckpoints(stateDir);
      open.set(stateDir, l);
    }
    return l;
  }

  /** The key of one stored version, as `hasVersion` takes it. */
  static versionKey(namespace: string, batchId: string, batchRoot: string, origin: string): string {
    return `${namespace}\u0000${batchId}\u0000${batchRoot}\u0000${origin}`;
  }

  /** Reads the file again when another process changed it (a file that does not parse counts as empty: it is a cache of checked proofs). */
  refresh(): this {
    let mark: string;
    try {
      const st = statSync(this.file);
      mark = `${st.mtimeMs}/${st.size}/${st.ino}`;
    } catch {
      mark = "none";
    }
    if (mark === this.#seen) return this;
    this.#seen = mark;
    this.#records = new Map();
    this.#versions = new Set();
    if (mark === "none") return this;
    try {
      const data = JSON.parse(readFileSync(this.file, "utf8")) as LoggedFile;
      for (const [digest, r] of Object.entries(data?.checkpoints ?? {})) if (isRecord(r)) this.#put(digest, r);
    } catch {
      // Unreadable: every checkpoint counts as unlogged until serve writes the file again.
    }
    return this;
  }

  #put(digest: string, r: LoggedRecord): void {
    this.#records.set(digest, r);
    this.#versions.add(LoggedCheckpoints.versionKey(r.namespace, r.batchId, r.batchRoot, r.origin));
  }

  /** When the checkpoint with `digest` (messageDigest) was witnessed in its origin's log; undefined while unlogged. */
  witnessedAt(digest: string): number | undefined {
    return this.#records.get(digest)?.witnessedAt;
  }

  /** True when the checkpoint of this version is logged. */
  hasVersion(namespace: string, batchId: string, batchRoot: string, origin: string): boolean {
    return this.#versions.has(LoggedCheckpoints.versionKey(namespace, batchId, batchRoot, origin));
  }

  /** Per origin DID, the record with the largest head (the latest witnessed head of its log this node has seen). */
  latestHeads(): Map<string, LoggedRecord> {
    const out = new Map<string, LoggedRecord>();
    for (const r of this.#records.values()) {
      const had = out.get(r.origin);
      if (had === undefined || r.size > had.size) out.set(r.origin, r);
    }
    return out;
  }

  get size(): number {
    return this.#records.size;
  }

  /**
   * Adds records (keeping, per checkpoint, the earliest witnessed time) and writes the file
   * atomically; how many records were new or earlier.
   */
  async record(entries: ReadonlyArray<readonly [string, LoggedRecord]>): Promise<number> {
    this.refresh();
    let changed = 0;
    for (const [digest, r] of entries) {
      const had = this.#records.get(digest);
      if (had !== undefined && had.witnessedAt <= r.witnessedAt) continue;
      this.#put(digest, r);
      changed++;
    }
    if (changed === 0) return 0;
    const data: LoggedFile = { v: 1, checkpoints: Object.fromEntries([...this.#records].sort(([a], [b]) => (a < b ? -1 : 1))) };
    await ensureDir(dirname(this.file));
    await writeFileAtomic(this.file, `${JSON.stringify(data)}\n`);
    this.#seen = "";
    this.refresh();
    return changed;
  }
}
