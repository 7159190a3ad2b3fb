/**
 * Benchmark of the origin log (docs/FEDERATION_PROTOCOL.md §Origin log): the cost of appending
 * one batch's checkpoint to a log already holding 10^5 (tiles and signed head written and
 * fsynced, as `announce` does), against the same append to an empty log; proof sizes at 10^6
 * checkpoints (built in memory from tiles); and a witness round trip (tlog-witness
 * add-checkpoint over loopback HTTP: parse, verify the log signature and the consistency proof,
 * cosign, persist the record) against a GET of the head on the same server; and the origin's
 * inclusion answer against the earliest witnessed head (docs/FEDERATION_PROTOCOL.md §Origin log)
 * with 1,000 kept heads, for the first checkpoint, against the same answer for the last one.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/tlog.bench.js
 */
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { generateNodeKey } from "../lib/identity/keys.js";
import { signCheckpoint } from "../lib/messages/checkpoint.js";
import { fileTileStorage, originLogDir, writeBytesAtomic } from "../lib/origin-log/files.js";
import { logOrigin, OriginLog } from "../lib/origin-log/origin-log.js";
import { OriginLogService } from "../lib/origin-log/service.js";
import { serveLog } from "../lib/http/log-routes.js";
import { formatCheckpoint } from "../lib/tlog/checkpoint.js";
import { ed25519NoteSigner, signNote } from "../lib/tlog/note.js";
import { consistencyProof, inclusionProof } from "../lib/tlog/proof.js";
import { TiledLog, type TileStorage } from "../lib/tlog/tiled-log.js";
import { formatAddCheckpoint } from "../lib/tlog/witness.js";
import { cosignatureSigner } from "../lib/tlog/cosignature.js";
import { digestBytes } from "../lib/digest.js";
import { rfc9162TreeHead } from "../lib/merkle/rfc9162.js";
import { checkpointDigest } from "../lib/reconcile/version-items.js";
import { witnessName } from "../lib/origin-log/witness-name.js";
import { formatTable, type BenchFigures } from "./table.js";

const BIG = 100_000;
const HUGE = 1_000_000;
const APPENDS = 20;
const ROUND_TRIPS = 50;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const digestOf = (i: number) => Uint8Array.from(createHash("sha256").update(`bench-${i}`).digest());

function memoryStorage(): TileStorage {
  const files = new Map<string, Uint8Array>();
  return { read: async (p) => files.get(p) ?? null, write: async (list) => void list.forEach((f) => files.set(f.path, f.data)) };
}

/** Median ms of APPENDS single-checkpoint appends to a file log that already holds `size` entries. */
async function appendCost(size: number): Promise<number> {
  const stateDir = await mkdtemp(join(tmpdir(), "vmsh-tlog-bench-"));
  try {
    const key = generateNodeKey();
    const did = "did:vm:node:bench";
    if (size > 0) {
      const log = new TiledLog(fileTileStorage(originLogDir(stateDir)), 0);
      for (let i = 0; i < size; i += 10_000) await log.append(Array.from({ length: Math.min(10_000, size - i) }, (_, j) => digestOf(i + j)));
      const origin = logOrigin(did);
      await writeBytesAtomic(join(originLogDir(stateDir), "checkpoint"), signNote(formatCheckpoint({ origin, size, rootHash: await log.rootHash() }), [ed25519NoteSigner(origin, key.privateKey, key.publicKeyBytes)]));
    }
    const log = await OriginLog.open(stateDir, did, key);
    const cp = (i: number) => signCheckpoint({ namespace: "dao:bench", origin: did, batchId: `b-${i}`, batchRoot: `sha256:${"0".repeat(63)}${i % 10}`, tree: "rfc9162-sha256", size: 1000, createdAt: 1_760_000_000 + i, ts: 1_760_000_000 + i }, key.privateKey);
    // The first lookup reads every entry bundle once (docs/STATE.md §Origin log): not counted.
    await log.append([cp(-1)]);
    const times: number[] = [];
    for (let i = 0; i < APPENDS; i++) {
      const c = cp(i);
      const t0 = performance.now();
      await log.append([c]);
      times.push(performance.now() - t0);
    }
    return median(times);
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
}

/** Median ms of ROUND_TRIPS add-checkpoint requests (each one checkpoint more) and of GETs of the head. */
async function witnessRoundTrip(): Promise<{ add: number; get: number }> {
  const stateDir = await mkdtemp(join(tmpdir(), "vmsh-tlog-bench-w-"));
  const logKey = generateNodeKey();
  const witnessKey = generateNodeKey();
  const originDid = "did:vm:node:origin";
  const svc = new OriginLogService({ stateDir, did: "did:vm:node:w", key: witnessKey, logKeys: () => new Map([[originDid, logKey.publicKeyBytes]]), witnesses: () => [], now: () => Math.floor(Date.now() / 1000), post: async () => ({ status: 500, body: "" }) });
  const server = createServer((req, res) => void serveLog(req, res, (req.url ?? "").split("?")[0]!, svc).catch(() => res.writeHead(500).end()));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    const log = new TiledLog(memoryStorage(), 0);
    await log.append(Array.from({ length: 1000 }, (_, i) => digestOf(i)));
    const origin = logOrigin(originDid);
    const signer = ed25519NoteSigner(origin, logKey.privateKey, logKey.publicKeyBytes);
    const head = async () => signNote(formatCheckpoint({ origin, size: log.size, rootHash: await log.rootHash() }), [signer]);
    let old = 0;
    const adds: number[] = [];
    for (let i = 0; i <= ROUND_TRIPS; i++) {
      const body = formatAddCheckpoint({ oldSize: old, proof: await consistencyProof(old, log.size, log.reader), note: await head() });
      const t0 = performance.now();
      const res = await fetch(`${url}/log/add-checkpoint`, { method: "POST", body });
      const text = await res.text();
      if (res.status !== 200) throw new Error(`add-checkpoint answered ${res.status}: ${text}`);
      if (i > 0) adds.push(performance.now() - t0);
      old = log.size;
      await log.append([digestOf(10_000 + i)]);
    }
    const gets: number[] = [];
    const hash = createHash("sha256").update(origin).digest("hex");
    for (let i = 0; i < ROUND_TRIPS; i++) {
      const t0 = performance.now();
      const res = await fetch(`${url}/log/witness/${hash}/checkpoint`);
      await res.text();
      gets.push(performance.now() - t0);
    }
    return { add: median(adds), get: median(gets) };
  } finally {
    server.close();
    await rm(stateDir, { recursive: true, force: true });
  }
}

const KEPT_HEADS = 1_000;

/**
 * Median ms of OriginLogService.inclusion over a log of KEPT_HEADS checkpoints with a kept
 * witnessed head at every size: for the first checkpoint when every head carries both witnesses'
 * lines (the first head answers), when each carries one of two (every head is read), and for the
 * last checkpoint (one head to read).
 */
async function inclusionAnswer(): Promise<{ firstFull: number; firstScan: number; last: number }> {
  const stateDir = await mkdtemp(join(tmpdir(), "vmsh-tlog-bench-heads-"));
  try {
    const key = generateNodeKey();
    const did = "did:vm:node:bench";
    const ws = [generateNodeKey(), generateNodeKey()];
    const wDids = ["did:vm:node:w1", "did:vm:node:w2"];
    const svc = new OriginLogService({ stateDir, did, key, logKeys: () => new Map(), witnesses: () => wDids.map((d, i) => ({ did: d, url: "http://w.invalid", publicKey: ws[i]!.publicKeyBytes })), now: () => 1_760_000_000, post: async () => ({ status: 500, body: "" }) });
    const cps = Array.from({ length: KEPT_HEADS }, (_, i) => signCheckpoint({ namespace: "dao:bench", origin: did, batchId: `b-${i}`, batchRoot: `sha256:${"0".repeat(63)}${i % 10}`, tree: "rfc9162-sha256", size: 1000, createdAt: 1_760_000_000 + i, ts: 1_760_000_000 + i }, key.privateKey));
    await (await svc.log()).append(cps);
    const leaves = cps.map((c) => digestBytes(checkpointDigest(c)));
    const origin = logOrigin(did);
    const heads = join(originLogDir(stateDir), "heads");
    await mkdir(heads, { recursive: true });
    const signers = wDids.map((d, i) => cosignatureSigner(witnessName(d), ws[i]!.privateKey, ws[i]!.publicKeyBytes, () => 1_760_000_000));
    const writeHeads = async (witnesses: number) => {
      for (let size = 1; size <= KEPT_HEADS; size++) {
        await writeFile(join(heads, String(size)), signNote(formatCheckpoint({ origin, size, rootHash: rfc9162TreeHead(leaves.slice(0, size)) }), [ed25519NoteSigner(origin, key.privateKey, key.publicKeyBytes), ...signers.slice(0, witnesses)]));
      }
    };
    const time = async (entry: string) => {
      const times: number[] = [];
      for (let i = 0; i < 11; i++) {
        const t0 = performance.now();
        const inc = await svc.inclusion(entry);
        times.push(performance.now() - t0);
        if (inc?.witnessed !== true) throw new Error("no witnessed head answered");
      }
      return median(times);
    };
    const first = checkpointDigest(cps[0]!);
    const lastDigest = checkpointDigest(cps[KEPT_HEADS - 1]!);
    await writeHeads(1);
    const firstScan = await time(first);
    await writeHeads(2);
    return { firstFull: await time(first), firstScan, last: await time(lastDigest) };
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
}

/**
 * @example const { rows } = await run();
 */
export async function run(): Promise<BenchFigures> {
  const empty = await appendCost(0);
  const big = await appendCost(BIG);
  const huge = new TiledLog(memoryStorage(), 0);
  const t0 = performance.now();
  for (let i = 0; i < HUGE; i += 10_000) await huge.append(Array.from({ length: 10_000 }, (_, j) => digestOf(i + j)));
  const buildMs = performance.now() - t0;
  const inclusion = await inclusionProof(123_456, HUGE, huge.reader);
  const consistency = await consistencyProof(HUGE - 1_000, HUGE, huge.reader);
  const rt = await witnessRoundTrip();
  const answer = await inclusionAnswer();
  return {
    name: "origin log (C2SP tlog: tiles, signed heads, witnesses)",
    rows: [
      { metric: `append one checkpoint to a log of ${BIG.toLocaleString("en")} (tiles + signed head, fsynced)`, value: big, unit: "ms", baseline: { name: "same, empty log", value: empty } },
      { metric: `inclusion proof at ${HUGE.toLocaleString("en")} checkpoints`, value: inclusion.length * 32, unit: "bytes", target: `${inclusion.length} hashes` },
      { metric: `consistency proof ${(HUGE - 1_000).toLocaleString("en")} → ${HUGE.toLocaleString("en")}`, value: consistency.length * 32, unit: "bytes", target: `${consistency.length} hashes` },
      { metric: `build ${HUGE.toLocaleString("en")} leaves of tiles in memory (batches of 10,000)`, value: buildMs, unit: "ms" },
      { metric: "witness round trip: add-checkpoint over loopback (verify, cosign, persist)", value: rt.add, unit: "ms", baseline: { name: "GET of the witnessed head", value: rt.get } },
      { metric: `inclusion answer, earliest witnessed head, first of ${KEPT_HEADS.toLocaleString("en")} kept heads (all cosigned by both)`, value: answer.firstFull, unit: "ms", baseline: { name: "same, last checkpoint", value: answer.last } },
      { metric: `inclusion answer, first checkpoint, each of ${KEPT_HEADS.toLocaleString("en")} heads cosigned by 1 of 2 (every head read)`, value: answer.firstScan, unit: "ms", baseline: { name: "same, last checkpoint", value: answer.last } },
    ],
  };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(formatTable([await run()]));
