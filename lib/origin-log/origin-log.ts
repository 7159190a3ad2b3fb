/**
 * This node's origin log (docs/FEDERATION_PROTOCOL.md §Origin log): every checkpoint this node
 * signs as an origin is appended, as the 32 bytes of its digest (`checkpointDigest`), to an
 * append-only RFC 9162 log kept as tlog-tiles, whose head is a C2SP checkpoint signed with the
 * node's Ed25519 key under the key name `vmsh-federation/log/<DID>` (also the origin line). One
 * process appends at a time (the log's own LOCK); the signed checkpoint file is the commit.
 */
import { join } from "node:path";
import { digestBytes, formatDigest } from "../digest.js";
import { StoreError } from "../errors.js";
import type { NodeKey } from "../identity/keys.js";
import type { Checkpoint } from "../messages/checkpoint.js";
import { checkpointDigest } from "../reconcile/version-items.js";
import { ensureDir } from "../store/atomic-file.js";
import { acquireLock } from "../store/lock.js";
import { formatCheckpoint, parseCheckpoint, type TreeHead } from "../tlog/checkpoint.js";
import { ed25519NoteSigner, ed25519NoteVerifier, formatVerifierKey, openNote, signNote, SIGNATURE_TYPE_ED25519, type NoteVerifier } from "../tlog/note.js";
import { consistencyProof, inclusionProof } from "../tlog/proof.js";
import { TiledLog } from "../tlog/tiled-log.js";
import { fileTileStorage, originLogDir, readBytes, writeBytesAtomic } from "./files.js";

/**
 * The origin line and key name of a node's log.
 * @example logOrigin("did:vm:node:a") // "vmsh-federation/log/did:vm:node:a"
 */
export function logOrigin(did: string): string {
  return `vmsh-federation/log/${did}`;
}

/**
 * The note verifier of a node's log, from its DID and raw Ed25519 key.
 * @example openNote(note, [logVerifier("did:vm:node:a", pub)])
 */
export function logVerifier(did: string, publicKey: Uint8Array): NoteVerifier {
  return ed25519NoteVerifier(logOrigin(did), publicKey);
}

/**
 * The vkey of a node's log (signed-note §Verifier keys), for tools such as Go's sumdb/note.
 * @example logVerifierKey(did, pub) // "vmsh-federation/log/did:vm:node:a+1a2b3c4d+AT…"
 */
export function logVerifierKey(did: string, publicKey: Uint8Array): string {
  return formatVerifierKey(logOrigin(did), SIGNATURE_TYPE_ED25519, publicKey);
}

/** An inclusion proof of one checkpoint digest in a head of the log. */
export interface LogInclusion {
  /** The checkpoint's digest (`sha256:…`), the log entry. */
  entry: string;
  index: number;
  size: number;
  /** base64 hashes, leaf to root. */
  proof: string[];
}

/**
 * One node's origin log, opened from its state directory.
 * @example const log = await OriginLog.open(stateDir, did, key); await log.append([checkpoint]); log.note
 */
export class OriginLog {
  readonly origin: string;
  readonly #dir: string;
  readonly #key: NodeKey;
  #log: TiledLog;
  #note: string;
  #head: TreeHead;

  private constructor(dir: string, origin: string, key: NodeKey, log: TiledLog, note: string, head: TreeHead) {
    this.#dir = dir;
    this.origin = origin;
    this.#key = key;
    this.#log = log;
    this.#note = note;
    this.#head = head;
  }

  /**
   * Opens (or starts, at size 0) the log of `did` in `stateDir`. A checkpoint file that is not
   * this key's signed head, or tiles that do not give its root, throw STATE_CORRUPT.
   */
  static async open(stateDir: string, did: string, key: NodeKey): Promise<OriginLog> {
    const dir = originLogDir(stateDir);
    const origin = logOrigin(did);
    const { log, note, head } = await readHead(dir, origin, key);
    return new OriginLog(dir, origin, key, log, note, head);
  }

  /** The latest signed checkpoint note (the log's own signature only). */
  get note(): string {
    return this.#note;
  }

  get size(): number {
    return this.#head.size;
  }

  get head(): TreeHead {
    return this.#head;
  }

  /**
   * Appends the digests of `checkpoints` that the log does not hold yet and signs the new head;
   * returns how many were appended. Another process's appends are read first. With
   * `freshlySigned` (a checkpoint this process just signed: its signature makes its digest new)
   * the lookup is skipped, so an `announce` does not read every entry bundle of a large log.
   * @example await log.append([signedCheckpoint]) // 1
   */
  async append(checkpoints: readonly Checkpoint[], options: { freshlySigned?: boolean } = {}): Promise<number> {
    await ensureDir(this.#dir);
    const lock = await acquireLock(join(this.#dir, "LOCK"));
    try {
      await this.refresh();
      const fresh: Uint8Array[] = [];
      const seen = new Set<string>();
      for (const cp of checkpoints) {
        const d = checkpointDigest(cp);
        if (seen.has(d)) continue;
        seen.add(d);
        if (options.freshlySigned === true || (await this.#log.indexOf(digestBytes(d))) === undefined) fresh.push(digestBytes(d));
      }
      if (fresh.length === 0) return 0;
      const size = await this.#log.append(fresh);
      const head: TreeHead = { origin: this.origin, size, rootHash: await this.#log.rootHash() };
      const note = signNote(formatCheckpoint(head), [ed25519NoteSigner(this.origin, this.#key.privateKey, this.#key.publicKeyBytes)]);
      // The commit: tiles are written, now the head that names them.
      await writeBytesAtomic(join(this.#dir, "checkpoint"), note);
      this.#note = note;
      this.#head = head;
      return fresh.length;
    } finally {
      await lock.release();
    }
  }

  /** Re-reads the signed head when another process appended. */
  async refresh(): Promise<void> {
    const text = await readBytes(join(this.#dir, "checkpoint"));
    if (text === null || Buffer.from(text).toString("utf8") === this.#note) return;
    const { log, note, head } = await readHead(this.#dir, this.origin, this.#key);
    this.#log = log;
    this.#note = note;
    this.#head = head;
  }

  /**
   * The bytes at a tlog-tiles path below the log prefix (`tile/0/000.p/5`), or null.
   * @example await log.tile("tile/0/000")
   */
  tile(path: string): Promise<Uint8Array | null> {
    return this.#log.readTile(path);
  }

  /**
   * The inclusion of a checkpoint in the head of `size` (default: the latest), or undefined when
   * the log does not hold it there.
   * @example await log.inclusion(checkpointDigest(cp))
   */
  async inclusion(entry: string, size = this.size): Promise<LogInclusion | undefined> {
    const index = await this.#log.indexOf(digestBytes(entry, "entry"));
    if (index === undefined || index >= size || size > this.size) return undefined;
    const proof = await inclusionProof(index, size, this.#log.reader);
    return { entry: formatDigest(digestBytes(entry)), index, size, proof: proof.map((h) => Buffer.from(h).toString("base64")) };
  }

  /** The consistency proof from `oldSize` to the latest head, base64. */
  async consistency(oldSize: number): Promise<string[]> {
    return (await consistencyProof(oldSize, this.size, this.#log.reader)).map((h) => Buffer.from(h).toString("base64"));
  }
}

async function readHead(dir: string, origin: string, key: NodeKey): Promise<{ log: TiledLog; note: string; head: TreeHead }> {
  const file = join(dir, "checkpoint");
  const raw = await readBytes(file);
  const storage = fileTileStorage(dir);
  if (raw === null) {
    const log = new TiledLog(storage, 0);
    const head: TreeHead = { origin, size: 0, rootHash: await log.rootHash() };
    return { log, head, note: signNote(formatCheckpoint(head), [ed25519NoteSigner(origin, key.privateKey, key.publicKeyBytes)]) };
  }
  const note = Buffer.from(raw).toString("utf8");
  const corrupt = (why: string) => new StoreError("STATE_CORRUPT", `${file} ${why}; it was left untouched`, { path: file });
  const opened = openNote(note, [ed25519NoteVerifier(origin, key.publicKeyBytes)]);
  if (opened.outcome === "rejected") throw corrupt(`is not this node's signed log head (${opened.reason})`);
  const head = parseCheckpoint(opened.text);
  if ("reason" in head) throw corrupt(`is not a checkpoint (${head.reason})`);
  if (head.origin !== origin) throw corrupt(`names origin ${head.origin}, not ${origin}`);
  const log = new TiledLog(storage, head.size);
  let root: Uint8Array;
  try {
    root = await log.rootHash();
  } catch (e) {
    throw corrupt(`names size ${head.size} but its tiles cannot be read (${(e as Error).message})`);
  }
  if (Buffer.compare(Buffer.from(root), Buffer.from(head.rootHash)) !== 0) throw corrupt(`root hash differs from the one its tiles give`);
  return { log, note, head };
}
