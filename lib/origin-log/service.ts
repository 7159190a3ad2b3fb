/**
 * The origin log as `serve` runs it (docs/FEDERATION_PROTOCOL.md §Origin log and
 * §Witnessed heads): answers `GET /log/checkpoint` (this node's signed head with the witness cosignatures
 * collected for it), `GET /log/tile/…`, `GET /log/witness/<origin hash>/checkpoint` (the latest
 * head this node cosigned for another log) and `POST /log/add-checkpoint` (this node as a
 * witness); and asks the namespace's quorum witnesses to cosign this node's new heads.
 */
import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import type { NodeKey } from "../identity/keys.js";
import { parseCheckpoint } from "../tlog/checkpoint.js";
import { cosignatureSigner, cosignatureVerifier } from "../tlog/cosignature.js";
import { openNote, parseNote } from "../tlog/note.js";
import { addCheckpoint, formatAddCheckpoint, parseAddCheckpoint, type AddCheckpointOutcome } from "../tlog/witness.js";
import { originLogDir, readBytes, writeBytesAtomic } from "./files.js";
import { logOrigin, logVerifier, OriginLog } from "./origin-log.js";
import { witnessName } from "./witness-name.js";
import { WitnessState } from "./witness-state.js";
import type { LogInclusionProof } from "./logged.js";

export { witnessName };

/** A witness this node's log asks: its DID, key, and URL. */
export interface LogWitness {
  did: string;
  url: string;
  publicKey: Uint8Array;
}

export interface OriginLogServiceOptions {
  stateDir: string;
  did: string;
  key: NodeKey;
  /** Logs this node witnesses: origin DID → raw key (peers.yaml `origin` entries). */
  logKeys(): ReadonlyMap<string, Uint8Array>;
  /** The quorum witnesses of the namespaces this node seals in, itself excluded. */
  witnesses(): readonly LogWitness[];
  /** POSIX seconds. */
  now(): number;
  /** POSTs `body` to `url` and answers status and text; a network failure throws. */
  post(url: string, body: string): Promise<{ status: number; body: string }>;
}

/** What asking one witness gave. */
export interface CosignRound {
  witness: string;
  outcome: "cosigned" | "refused" | "unreachable";
  size?: number;
  detail?: string;
}

/**
 * @example const svc = new OriginLogService({ stateDir, did, key, logKeys, witnesses, now, post }); await svc.requestCosignatures()
 */
export class OriginLogService {
  readonly #o: OriginLogServiceOptions;
  readonly witness: WitnessState;
  #log: Promise<OriginLog> | undefined;

  constructor(options: OriginLogServiceOptions) {
    this.#o = options;
    this.witness = new WitnessState(options.stateDir);
  }

  /** This node's log, opened once. */
  log(): Promise<OriginLog> {
    this.#log ??= OriginLog.open(this.#o.stateDir, this.#o.did, this.#o.key);
    return this.#log;
  }

  get #cosignedFile(): string {
    return join(originLogDir(this.#o.stateDir), "cosigned");
  }

  /**
   * The latest head with every collected cosignature line, when they are for that head; the
   * bare signed head otherwise.
   */
  async checkpoint(): Promise<string> {
    const log = await this.log();
    await log.refresh();
    const raw = await readBytes(this.#cosignedFile);
    const cosigned = raw === null ? undefined : Buffer.from(raw).toString("utf8");
    return cosigned !== undefined && cosigned.startsWith(log.note) ? cosigned : log.note;
  }

  /** The latest head that carries at least one witness cosignature, as served, with its size. */
  async witnessedHead(): Promise<{ note: string; size: number; witnesses: string[] } | undefined> {
    const log = await this.log();
    const raw = await readBytes(this.#cosignedFile);
    if (raw === null) return undefined;
    const note = Buffer.from(raw).toString("utf8");
    const parsed = parseNote(note);
    if ("reason" in parsed) return undefined;
    const head = parseCheckpoint(parsed.text);
    if ("reason" in head || head.origin !== log.origin) return undefined;
    const witnesses = parsed.signatures.map((s) => s.name).filter((n) => n !== log.origin);
    return witnesses.length === 0 ? undefined : { note, size: head.size, witnesses };
  }

  /**
   * The inclusion of the checkpoint with digest `entry` (`sha256:…`): against the earliest kept
   * witnessed head that includes it and carries the most witness cosignatures
   * (`witnessed: true`; what attribution weighs, docs/FEDERATION_SEMANTICS.md §Origin logs), else
   * against the latest head; undefined when the log does not hold it.
   * @example await svc.inclusion(checkpointDigest(cp)) // { head, index, proof, witnessed }
   */
  async inclusion(entry: string): Promise<(LogInclusionProof & { witnessed: boolean }) | undefined> {
    const log = await this.log();
    await log.refresh();
    const latest = await log.inclusion(entry);
    if (latest === undefined) return undefined;
    const head = await this.#earliestWitnessed(latest.index, log.origin);
    if (head !== undefined) {
      const inc = await log.inclusion(entry, head.size);
      if (inc !== undefined) return { head: head.note, index: inc.index, proof: inc.proof, witnessed: true };
    }
    return { head: await this.checkpoint(), index: latest.index, proof: latest.proof, witnessed: false };
  }

  /** This node's own cosigned heads, one file per size (docs/STATE.md §Origin log); not the `witnessed/` records it keeps as a witness. */
  get #headsDir(): string {
    return join(originLogDir(this.#o.stateDir), "heads");
  }

  /**
   * Of the kept witnessed heads larger than `index`, the earliest with the most cosignature
   * lines (the latest cosigned head when none is kept: a state from before heads were kept).
   */
  async #earliestWitnessed(index: number, origin: string): Promise<{ note: string; size: number } | undefined> {
    const sizes = (await readdir(this.#headsDir).catch(() => [] as string[])).filter((n) => /^(0|[1-9][0-9]{0,15})$/.test(n)).map(Number).filter((n) => n > index).sort((a, b) => a - b);
    const all = this.#o.witnesses().length;
    let best: { note: string; size: number; lines: number } | undefined;
    for (const size of sizes) {
      const raw = await readBytes(join(this.#headsDir, String(size)));
      if (raw === null) continue;
      const note = Buffer.from(raw).toString("utf8");
      const parsed = parseNote(note);
      if ("reason" in parsed) continue;
      const head = parseCheckpoint(parsed.text);
      if ("reason" in head || head.origin !== origin || head.size !== size) continue;
      const lines = parsed.signatures.filter((x) => x.name !== origin).length;
      if (best === undefined || lines > best.lines) best = { note, size, lines };
      if (lines >= all) break;
    }
    if (best !== undefined) return best;
    const w = await this.witnessedHead();
    return w !== undefined && w.size > index ? w : undefined;
  }

  /** ServedLog.get (lib/http/log-routes.ts). */
  async get(rest: string): Promise<{ contentType: string; body: Uint8Array | string; immutable: boolean } | undefined> {
    if (rest === "checkpoint") return { contentType: "text/plain; charset=utf-8", body: await this.checkpoint(), immutable: false };
    if (rest.startsWith("tile/")) {
      const data = await (await this.log()).tile(rest);
      return data === null ? undefined : { contentType: "application/octet-stream", body: data, immutable: true };
    }
    const inc = /^inclusion\/([0-9a-f]{64})$/.exec(rest);
    if (inc !== null) {
      const found = await this.inclusion(`sha256:${inc[1]}`);
      return found === undefined ? undefined : { contentType: "application/json; charset=utf-8", body: `${JSON.stringify(found)}\n`, immutable: false };
    }
    if (rest === "forks") return { contentType: "application/json; charset=utf-8", body: `${JSON.stringify({ forks: await this.witness.forks() })}\n`, immutable: false };
    const m = /^witness\/([0-9a-f]{64})\/checkpoint$/.exec(rest);
    if (m !== null) {
      // tlog-witness §Monitor Retrieval Mechanism: the origin hash is SHA-256 of the origin line.
      for (const did of this.#o.logKeys().keys()) {
        const origin = logOrigin(did);
        if (createHash("sha256").update(origin).digest("hex") !== m[1]) continue;
        const record = await this.witness.latest(origin);
        return record === undefined ? undefined : { contentType: "text/plain; charset=utf-8", body: record.note, immutable: false };
      }
    }
    return undefined;
  }

  /** ServedLog.addCheckpoint: this node as a witness of the logs of peers.yaml origins. */
  async addCheckpoint(body: string): Promise<{ status: number; contentType: string; body: string }> {
    const request = parseAddCheckpoint(body);
    if ("reason" in request) return { status: 400, contentType: "text/plain; charset=utf-8", body: `${request.reason}\n` };
    const keys = new Map([...this.#o.logKeys()].filter(([did]) => did !== this.#o.did).map(([did, key]) => [logOrigin(did), [logVerifier(did, key)]]));
    const origin = request.note.slice(0, Math.max(0, request.note.indexOf("\n")));
    const cosigner = cosignatureSigner(witnessName(this.#o.did), this.#o.key.privateKey, this.#o.key.publicKeyBytes, this.#o.now);
    const outcome: AddCheckpointOutcome = await this.witness.decide(origin, (latest) => {
      const out = addCheckpoint(request, { logKeys: (o) => keys.get(o), latest: () => latest, cosigners: [cosigner] });
      // The record keeps the note with this witness's own line: what the monitoring endpoint serves.
      return out.status === 200 ? { ...out, record: { ...out.record, note: out.record.note + out.body } } : out;
    });
    return outcome.status === 200 ? { status: 200, contentType: "text/plain; charset=utf-8", body: outcome.body } : { status: outcome.status, contentType: outcome.contentType, body: outcome.body };
  }

  /**
   * Asks every witness to cosign the latest head (tlog-witness add-checkpoint, with the size it
   * last cosigned and a consistency proof from there; one retry after a 409 names that size),
   * and keeps the verified cosignature lines with the head.
   * @example for (const r of await svc.requestCosignatures()) log.info("witness", r)
   */
  async requestCosignatures(): Promise<CosignRound[]> {
    const log = await this.log();
    await log.refresh();
    if (log.size === 0) return [];
    const note = log.note;
    const rounds: CosignRound[] = [];
    const have = await this.checkpoint();
    const lines: string[] = [];
    const known = this.#knownSizes();
    const sizes = await known;
    for (const w of this.#o.witnesses()) {
      const verifier = cosignatureVerifier(witnessName(w.did), w.publicKey);
      // Already cosigned this head: keep it.
      if (have !== note && openNote(have, [verifier]).outcome === "verified") {
        const parsed = parseNote(have);
        if (!("reason" in parsed)) lines.push(...parsed.signatures.filter((s) => s.name === verifier.name && s.keyId === verifier.keyId).map((s) => s.line));
        rounds.push({ witness: w.did, outcome: "cosigned", size: log.size });
        continue;
      }
      let oldSize = Math.min(sizes[w.did] ?? 0, log.size);
      let round: CosignRound = { witness: w.did, outcome: "unreachable" };
      for (let attempt = 0; attempt < 2; attempt++) {
        let answer: { status: number; body: string };
        try {
          answer = await this.#o.post(`${w.url.replace(/\/$/, "")}/log/add-checkpoint`, formatAddCheckpoint({ oldSize, proof: (await log.consistency(oldSize)).map((b) => Uint8Array.from(Buffer.from(b, "base64"))), note }));
        } catch (e) {
          round = { witness: w.did, outcome: "unreachable", detail: (e as Error).message };
          break;
        }
        if (answer.status === 409 && attempt === 0 && /^(0|[1-9][0-9]*)\n$/.test(answer.body) && Number(answer.body) <= log.size) {
          oldSize = Number(answer.body);
          continue;
        }
        if (answer.status !== 200) {
          round = { witness: w.did, outcome: "refused", detail: `${answer.status} ${answer.body.trim().slice(0, 200)}` };
          break;
        }
        // Keep only lines that verify as this witness's cosignature of this head.
        const opened = openNote(`${note}${answer.body}`, [verifier]);
        if (opened.outcome !== "verified") {
          round = { witness: w.did, outcome: "refused", detail: `the answer holds no valid cosignature: ${opened.reason}` };
          break;
        }
        lines.push(...opened.verified.map((s) => s.line));
        sizes[w.did] = log.size;
        round = { witness: w.did, outcome: "cosigned", size: log.size };
        break;
      }
      rounds.push(round);
    }
    await writeBytesAtomic(join(originLogDir(this.#o.stateDir), "witness-sizes.json"), `${JSON.stringify(sizes)}\n`);
    if (lines.length > 0) {
      await writeBytesAtomic(this.#cosignedFile, note + lines.join(""));
      // Every witnessed head is kept: a checkpoint's inclusion is shown against the earliest (attribution weighs when it was witnessed).
      await writeBytesAtomic(join(this.#headsDir, String(log.size)), note + lines.join(""));
    }
    return rounds;
  }

  async #knownSizes(): Promise<Record<string, number>> {
    const raw = await readBytes(join(originLogDir(this.#o.stateDir), "witness-sizes.json"));
    if (raw === null) return {};
    try {
      const data = JSON.parse(Buffer.from(raw).toString("utf8")) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(data).filter((e): e is [string, number] => Number.isSafeInteger(e[1])));
    } catch {
      return {};
    }
  }

  /**
   * This node's log for `status`, the explorer and `/metrics`: its size, the size of the latest
   * witnessed head and who cosigned it, and the fork evidence held.
   */
  async summary(): Promise<{ origin: string; size: number; witnessedSize: number; witnesses: string[]; forks: number }> {
    const log = await this.log();
    await log.refresh();
    const w = await this.witnessedHead();
    return { origin: log.origin, size: log.size, witnessedSize: w?.size ?? 0, witnesses: w?.witnesses ?? [], forks: (await this.witness.forks()).length };
  }
}
