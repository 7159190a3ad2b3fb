/**
 * The state store at 10^6 receipts (5,000 batches × 200, docs/STATE.md §Manifest) against the
 * same operations at 10^3 (5 batches × 200), in one run:
 *   - open read-only with `receiptIndex: "lazy"` (what `status` and `verify-online` need), in a
 *     fresh process: wall time and peak RSS; then `counts()` (status) on that open;
 *   - verify-online of one batch, store side, in a fresh process: open lazily, read the batch,
 *     record the anchor's re-check (putAnchors), close (which rewrites the manifest). The TSA or
 *     chain check itself costs the same at both sizes and is left out, so the ratio is the store's;
 *   - answering a `want` page (answerRequest, 100 ids) on an open store with its keys loaded;
 *   - appending a 200-receipt batch, median of 5, round-robin over the two stores.
 * The 10^6 state takes a few minutes to generate; it is cached under the OS temp directory,
 * keyed by SCALE_VERSION (bump it when the generated layout changes). Appends accumulate in it.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/store-scale.bench.js
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { answerRequest } from "../lib/federation/answer-request.js";
import { generateNodeKey } from "../lib/identity/keys.js";
import { signCheckpoint } from "../lib/messages/checkpoint.js";
import type { Request } from "../lib/messages/schema.js";
import { openStore, type Store } from "../lib/store/index.js";
import { batchPath, layout, namespaceDir, namespaceManifestPath, namespaceMetaPath } from "../lib/store/layout.js";
import { writeManifest } from "../lib/store/manifest.js";
import { NamespaceState } from "../lib/store/namespace-state.js";
import { fileIdentity } from "../lib/store/scan.js";
import { sampleBatch } from "../test/store/sample.js";
import type { BenchFigures, BenchRow } from "./table.js";

/** Names the generated state's layout; a new value regenerates the cache. */
const SCALE_VERSION = "store-scale-v4";
const NS = "acme/audit";
const PER_BATCH = 200;
const BIG = 5_000;
const SMALL = 5;
const T0 = 1_700_000_000;
const WANT = 100;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
/** The origin that signs every generated batch's checkpoint: a version without one is not served (docs/FEDERATION_SEMANTICS.md §Checkpoints). */
const ORIGIN = { did: "did:vm:node:bench-origin", key: generateNodeKey() };
const batchAt = (b: number) => {
  const batch = sampleBatch({ namespace: NS, batchId: `b-${String(b).padStart(5, "0")}`, size: PER_BATCH, createdAt: T0 + b * 60, anchors: [{ outcome: "verified" }] });
  const checkpoint = signCheckpoint({ namespace: NS, origin: ORIGIN.did, batchId: batch.batchId, batchRoot: batch.batchRoot, tree: "vmsh-dup-sha256", size: PER_BATCH, createdAt: batch.createdAt, ts: T0 }, ORIGIN.key.privateKey);
  return { ...batch, checkpoint };
};

/**
 * Writes `batches` batch files, meta.json and the manifest directly (no fsync: this is bench
 * data, not a node's state), in the exact layout the store writes.
 */
async function generate(stateDir: string, batches: number): Promise<void> {
  await (await openStore(stateDir)).close();
  const paths = layout(stateDir);
  const state = new NamespaceState(NS);
  for (let b = 0; b < batches; b++) {
    const batch = batchAt(b);
    const path = batchPath(paths, NS, batch.batchId, batch.batchRoot);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${JSON.stringify({ kind: "batch", ...batch })}\n`);
    const identity = (await fileIdentity(path))!;
    state.addSummary(path, { batchId: batch.batchId, batchRoot: batch.batchRoot, identity, dirIdentity: (await fileIdentity(dirname(path)))!, createdAt: batch.createdAt, receiptCount: PER_BATCH, anchorCount: 1, cosignatureCount: 0, outcomes: { verified: 1, pending: 0, rejected: 0 }, origin: ORIGIN.did, size: PER_BATCH });
  }
  writeFileSync(namespaceMetaPath(paths, NS), `${JSON.stringify({ kind: "namespace", namespace: NS, rev: 1 })}\n`);
  state.rev = 1;
  state.receiptsLoaded = false;
  state.manifestReceipts = batches * PER_BATCH;
  await writeManifest(namespaceManifestPath(paths, NS), state, namespaceDir(paths, NS));
}

/** The cached 10^6 state, generated on first use. */
async function bigState(): Promise<string> {
  const base = join(tmpdir(), `vmsh-${SCALE_VERSION}-${BIG}x${PER_BATCH}`);
  const stateDir = join(base, "state");
  if (existsSync(join(base, "complete"))) return stateDir;
  rmSync(base, { recursive: true, force: true });
  mkdirSync(base, { recursive: true });
  await generate(stateDir, BIG);
  writeFileSync(join(base, "complete"), `${new Date().toISOString()}\n`);
  return stateDir;
}

interface ChildFigures {
  ms: number;
  statusMs: number;
  maxRssMiB: number;
  receipts: number;
  source: string;
}

function peakRssKiB(): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
  return m ? Number(m[1]) : process.resourceUsage().maxRSS;
}

/** Child: one measured operation on a fresh process, figures as JSON on stdout. */
async function child(mode: string, dir: string): Promise<void> {
  const t0 = performance.now();
  const store = await openStore(dir, { readOnly: mode === "open", receiptIndex: "lazy" });
  const source = store.openedFrom().get(NS)?.source ?? "none";
  let statusMs = 0;
  if (mode === "open") {
    const t1 = performance.now();
    const c = store.counts();
    store.equivocations();
    statusMs = performance.now() - t1 + (t1 - t0);
    if (c.receipts === 0) throw new Error("empty store");
  } else {
    const middle = store.listBatches(NS)[Math.floor(store.listBatches(NS).length / 2)]!;
    const batch = (await store.getBatch(NS, middle.batchId, middle.batchRoot))!;
    const anchor = batch.anchors[0]!;
    await store.putAnchors(NS, middle.batchId, [{ ...anchor, evidence: { checkedAt: Math.floor(Date.now() / 1000) } }]);
  }
  const receipts = store.counts().receipts;
  await store.close();
  const ms = performance.now() - t0;
  process.stdout.write(JSON.stringify({ ms, statusMs, maxRssMiB: peakRssKiB() / 1024, receipts, source } satisfies ChildFigures));
}

function inChild(mode: string, dir: string): ChildFigures {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), "--child", mode, dir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${mode} child failed: ${r.stderr}`);
  const figures = JSON.parse(r.stdout) as ChildFigures;
  if (figures.source !== "manifest") throw new Error(`${mode} child opened ${dir} from ${figures.source}, not from its manifest`);
  return figures;
}

/** Median figures of `runs` children, alternating the two stores so machine noise falls on both. */
function children(mode: string, small: string, big: string, runs: number): { small: ChildFigures; big: ChildFigures } {
  const s: ChildFigures[] = [];
  const b: ChildFigures[] = [];
  for (let k = 0; k < runs; k++) {
    s.push(inChild(mode, small));
    b.push(inChild(mode, big));
  }
  const pick = (xs: ChildFigures[]): ChildFigures => ({ ...xs[0]!, ms: median(xs.map((x) => x.ms)), statusMs: median(xs.map((x) => x.statusMs)), maxRssMiB: median(xs.map((x) => x.maxRssMiB)) });
  return { small: pick(s), big: pick(b) };
}

/** answerRequest for WANT ids: of one batch (a peer missing a batch), or one from each of WANT batches. */
async function wantPage(store: Store, batches: number, scattered: boolean): Promise<number> {
  const ids: string[] = [];
  for (let k = 0; k < WANT; k++) {
    const b = scattered ? Math.floor((k * batches) / WANT) : Math.floor(batches / 2);
    ids.push(batchAt(Math.min(b, batches - 1)).receipts[scattered ? k % PER_BATCH : k]!.id);
  }
  const request = { type: "request", namespace: NS, want: ids } as unknown as Request;
  const t0 = performance.now();
  const answer = await answerRequest(store, request);
  const ms = performance.now() - t0;
  if (answer.receipts.length !== WANT) throw new Error(`want page answered ${answer.receipts.length} receipts`);
  return ms;
}

/**
 * Runs the benchmark and returns its rows.
 * @example const { rows } = await run();
 */
export async function run(): Promise<BenchFigures> {
  const big = await bigState();
  const tmp = mkdtempSync(join(tmpdir(), "vmsh-store-scale-"));
  try {
    const small = join(tmp, "small");
    await generate(small, SMALL);
    const opens = children("open", small, big, 3);
    const verifies = children("verify", small, big, 3);

    const t0 = performance.now();
    const stores = [await openStore(small), await openStore(big)] as const;
    const loadMs = performance.now() - t0;
    const loadedRssMiB = process.memoryUsage().rss / 2 ** 20;
    const sizes = [SMALL, BIG];
    const want: [number[], number[]] = [[], []];
    const scattered: [number[], number[]] = [[], []];
    const append: [number[], number[]] = [[], []];
    for (let i = 0; i < 2; i++) await wantPage(stores[i]!, sizes[i]!, false); // warm-up
    for (let k = 0; k < 5; k++) {
      for (let i = 0; i < 2; i++) {
        want[i]!.push(await wantPage(stores[i]!, sizes[i]!, false));
        scattered[i]!.push(await wantPage(stores[i]!, sizes[i]!, true));
        const batch = sampleBatch({ namespace: NS, batchId: `append-${Date.now()}-${k}`, size: PER_BATCH, createdAt: T0 + 10 * BIG * 60 + k });
        const t1 = performance.now();
        await stores[i]!.putBatch(batch);
        append[i]!.push(performance.now() - t1);
      }
    }
    const receipts = stores[1].counts().receipts;
    for (const s of stores) await s.close();

    const n = (x: number) => x.toLocaleString("en");
    const within2 = (a: number, b: number) => ({ target: "≤ 2× of 10^3", met: a / b <= 2 });
    const rows: BenchRow[] = [
      { metric: `open ${n(opens.big.receipts)} receipts read-only, lazy: time`, value: opens.big.ms, unit: "ms", baseline: { name: `${n(opens.small.receipts)} receipts`, value: opens.small.ms }, target: "≤ 1,000 ms", met: opens.big.ms <= 1000 },
      { metric: `open ${n(opens.big.receipts)} receipts read-only, lazy: peak RSS`, value: opens.big.maxRssMiB, unit: "MiB", baseline: { name: `${n(opens.small.receipts)} receipts`, value: opens.small.maxRssMiB }, target: "≤ 200 MiB", met: opens.big.maxRssMiB <= 200 },
      { metric: "status (open + counts) at 10^6", value: opens.big.statusMs, unit: "ms", baseline: { name: "same at 10^3", value: opens.small.statusMs }, ...within2(opens.big.statusMs, opens.small.statusMs) },
      { metric: "verify-online of one batch, store side (open, read, putAnchors, close) at 10^6", value: verifies.big.ms, unit: "ms", baseline: { name: "same at 10^3", value: verifies.small.ms }, ...within2(verifies.big.ms, verifies.small.ms) },
      { metric: `answer a want page of ${WANT} ids of one batch at 10^6 (keys loaded)`, value: median(want[1]), unit: "ms", baseline: { name: "same at 10^3", value: median(want[0]) }, ...within2(median(want[1]), median(want[0])) },
      { metric: `answer a want page of ${WANT} ids from ${WANT} batches at 10^6 (keys loaded)`, value: median(scattered[1]), unit: "ms", baseline: { name: `${WANT} ids from ${SMALL} batches at 10^3`, value: median(scattered[0]) } },
      { metric: `append a ${PER_BATCH}-receipt batch at ${n(receipts)} receipts`, value: median(append[1]), unit: "ms", baseline: { name: "store of 10^3", value: median(append[0]) }, target: "≤ 1.5× of 10^3", met: median(append[1]) / median(append[0]) <= 1.5 },
      { metric: "eager open of both stores (every receipt key read): time", value: loadMs, unit: "ms" },
      { metric: "eager open of both stores: RSS with 10^6 keys in memory", value: loadedRssMiB, unit: "MiB" },
    ];
    return { name: "store at 10^6 receipts (5,000 batches × 200, manifest)", rows };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === "--child") await child(process.argv[3]!, process.argv[4]!);
  else {
    const { formatTable } = await import("./table.js");
    console.log(formatTable([await run()]));
  }
}
