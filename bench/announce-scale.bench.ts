/**
 * What a command costs on a big node against an empty one, through the real CLI, in one run
 * (docs/BENCHMARKS.md, flat costs): `announce` of a 1,000-receipt batch with one TSA anchor,
 * `status --json`, and `verify-online` of that one batch, on nodes holding 0, 10^5 and 10^6
 * receipts (`--max N` for another largest size, e.g. 10^7 where the disk allows). Runs are
 * interleaved across the sizes (median of `--runs`, default 5), so load from other processes
 * falls on all alike. The big states are generated once (files written directly in the store's
 * layout, as bench/store-scale.bench.ts does) and cached under the OS temp directory; each
 * announce adds its batch to them.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/announce-scale.bench.js [--runs N] [--max N]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { loadConfig } from "../lib/config/load.js";
import { generateNodeKey } from "../lib/identity/keys.js";
import { signCheckpoint } from "../lib/messages/checkpoint.js";
import { IdFilter, readIdFilter, versionsDigest, writeIdFilter } from "../lib/store/id-filter.js";
import { openStore } from "../lib/store/index.js";
import { batchPath, idFilterPath, layout, namespaceDir, namespaceManifestPath, namespaceMetaPath } from "../lib/store/layout.js";
import { writeManifest } from "../lib/store/manifest.js";
import { NamespaceState } from "../lib/store/namespace-state.js";
import { fileIdentity } from "../lib/store/scan.js";
import { BIN } from "../test/support/cli.js";
import { createOpensslTsa, type OpensslTsa } from "../test/support/openssl-tsa.js";
import { sealTsaBatch } from "../test/support/sealer.js";
import { hashOf, sampleBatch } from "../test/store/sample.js";
import { formatTable, type BenchFigures, type BenchRow } from "./table.js";

/** Names the generated layout; a new value regenerates the cache. */
const CACHE_VERSION = "announce-scale-v1";
const NS = "dao:vaultmesh";
const PER_BATCH = 1_000;
const ANNOUNCED = 1_000;
const T0 = 1_700_000_000;
const ORIGIN = { did: "did:vm:node:bench-origin", key: generateNodeKey() };

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number) => n.toLocaleString("en");

/**
 * Generated batch number `b`: sampleBatch's shape, but one proof path shared by the batch's
 * receipts (the store never checks paths), so 10^7 receipts cost one hash each to make.
 */
function generatedBatch(b: number): ReturnType<typeof sampleBatch> {
  const batch = sampleBatch({ namespace: NS, batchId: `g-${String(b).padStart(6, "0")}`, size: 1, createdAt: T0 + b * 60, anchors: [{ outcome: "verified" }] });
  const path = Array.from({ length: Math.ceil(Math.log2(PER_BATCH)) }, (_, d) => hashOf(`node/${batch.batchRoot}/${d}`));
  batch.receipts = Array.from({ length: PER_BATCH }, (_, i) => {
    const id = hashOf(`event/s/${NS}/${batch.batchId}/${i}`);
    return { id, namespace: NS, batchId: batch.batchId, batchRoot: batch.batchRoot, eventHash: id, ts: batch.createdAt, proof: { tree: "vmsh-dup-sha256" as const, index: i, size: PER_BATCH, path } };
  });
  return batch;
}

/** Writes `receipts` receipts as batch files of PER_BATCH, meta.json and the manifest, in the store's layout (no fsync: bench data). */
async function generate(stateDir: string, receipts: number): Promise<void> {
  await (await openStore(stateDir)).close();
  if (receipts === 0) return;
  const paths = layout(stateDir);
  const state = new NamespaceState(NS);
  // The id filter a node that stored these receipts would hold (docs/STATE.md §Id filter), so the first announce reads no keys either.
  const filter = IdFilter.sizedFor(receipts);
  for (let b = 0; b < receipts / PER_BATCH; b++) {
    if (b > 0 && b % 1_000 === 0) process.stderr.write(`generating ${receipts.toLocaleString("en")} receipts: ${(b * PER_BATCH).toLocaleString("en")} written\n`);
    const batch = generatedBatch(b);
    const checkpoint = signCheckpoint({ namespace: NS, origin: ORIGIN.did, batchId: batch.batchId, batchRoot: batch.batchRoot, tree: "vmsh-dup-sha256", size: PER_BATCH, createdAt: batch.createdAt, ts: T0 }, ORIGIN.key.privateKey);
    const path = batchPath(paths, NS, batch.batchId, batch.batchRoot, ORIGIN.did);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, `${JSON.stringify({ kind: "batch", ...batch, checkpoint })}\n`);
    for (const r of batch.receipts) filter.add(r.id);
    const identity = (await fileIdentity(path))!;
    state.addSummary(path, { batchId: batch.batchId, batchRoot: batch.batchRoot, identity, dirIdentity: (await fileIdentity(dirname(path)))!, createdAt: batch.createdAt, receiptCount: PER_BATCH, anchorCount: 1, cosignatureCount: 0, outcomes: { verified: 1, pending: 0, rejected: 0 }, origin: ORIGIN.did, size: PER_BATCH });
  }
  writeFileSync(namespaceMetaPath(paths, NS), `${JSON.stringify({ kind: "namespace", namespace: NS, rev: 1 })}\n`);
  state.rev = 1;
  state.receiptsLoaded = false;
  state.manifestReceipts = receipts;
  await writeManifest(namespaceManifestPath(paths, NS), state, namespaceDir(paths, NS));
  await writeIdFilter(idFilterPath(paths, NS), filter, NS, versionsDigest(state.batchesByPath.values()));
}

/** A node (configuration + state) holding `receipts` receipts, trusting `tsa`; the big ones cached between runs. */
async function node(receipts: number, tsa: OpensslTsa, scratch: string): Promise<string> {
  const base = receipts === 0 ? join(scratch, "empty") : join(tmpdir(), `vmsh-${CACHE_VERSION}-${receipts}`);
  const cfg = join(base, "config");
  if (!existsSync(join(base, "complete"))) {
    rmSync(base, { recursive: true, force: true });
    mkdirSync(base, { recursive: true });
    cli(["--config", cfg, "init", "--node-id", "did:vm:node:bench", "--listen", "127.0.0.1:0"]);
    const { config } = await loadConfig(cfg, {});
    await generate(config.federation.mesh.stateDir, receipts);
    writeFileSync(join(base, "complete"), `${new Date().toISOString()}\n`);
  }
  // The scratch TSA is new each run: trust this run's root.
  writeFileSync(join(cfg, "tsa-root.pem"), tsa.rootPem);
  writeFileSync(join(cfg, "anchors.yaml"), "rfc3161:\n  trustBundle: tsa-root.pem\n");
  return cfg;
}

/**
 * An announce that stored its batch with a verified anchor but had no peer to send it to exits 1
 * (`announce --help`): the benchmark's node has no peers, so that is its success.
 */
function unannounced(r: { status: number | null; stdout: string }): boolean {
  return r.status === 1 && /, active\n/.test(r.stdout) && r.stdout.includes("Not announced: no peers are routed");
}

function cli(args: readonly string[]): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, ...args], { stdio: ["ignore", "pipe", "pipe"], encoding: "utf8", maxBuffer: 1 << 30 });
  const ms = performance.now() - t0;
  if (r.status !== 0 && !unannounced(r)) throw new Error(`${args.join(" ")} exited ${r.status ?? r.signal}: ${r.stderr}${r.stdout.slice(0, 2000)}`);
  return ms;
}

/**
 * What the id filter costs one `announce` at `ids` receipts without generating such a store:
 * read it, test 1,000 new ids, add them, write it (docs/STATE.md §Id filter). Median of 3.
 */
async function filterCost(ids: number, scratch: string): Promise<{ ms: number; bytes: number }> {
  const filter = IdFilter.sizedFor(ids);
  for (let i = 0; i < ids; i++) filter.add(`sha256:${i.toString(16).padStart(64, "0")}`);
  const path = join(scratch, `ids-${ids}.json`);
  mkdirSync(scratch, { recursive: true });
  await writeIdFilter(path, filter, NS, "v0");
  const times: number[] = [];
  for (let round = 0; round < 3; round++) {
    const t0 = performance.now();
    const f = (await readIdFilter(path, NS, `v${round}`))!;
    const fresh = Array.from({ length: ANNOUNCED }, (_, i) => `sha256:${(ids + round * ANNOUNCED + i).toString(16).padStart(64, "f")}`);
    // As the store does: every id tested (a "may hold" would send it to the keys), then added.
    const maybe = fresh.filter((id) => f.mayHave(id)).length;
    for (const id of fresh) f.add(id);
    if (maybe > 5) throw new Error(`${maybe} of ${ANNOUNCED} new ids reported as maybe held`);
    await writeIdFilter(path, f, NS, `v${round + 1}`);
    times.push(performance.now() - t0);
  }
  const { size } = await import("node:fs").then((fs) => fs.statSync(path));
  return { ms: median(times), bytes: size };
}

export async function run(options: { runs?: number; max?: number } = {}): Promise<BenchFigures> {
  const runs = options.runs ?? 5;
  const max = options.max ?? 1_000_000;
  const sizes = [0, 100_000, 1_000_000, max].filter((s, i, a) => a.indexOf(s) === i && s <= max);
  const scratch = join(tmpdir(), `vmsh-bench-announce-${process.pid}`);
  const tsa = createOpensslTsa();
  try {
    const configs = new Map<number, string>();
    for (const s of sizes) configs.set(s, await node(s, tsa, scratch));
    const samples = new Map(sizes.map((s) => [s, { announce: [] as number[], status: [] as number[], verify: [] as number[] }]));
    const stamp = Date.now();
    for (let i = 0; i < runs; i++) {
      for (const s of sizes) {
        const cfg = configs.get(s)!;
        const id = `a-${stamp}-${i}`;
        const b = await sealTsaBatch(join(scratch, `sealer-${s}`), id, ANNOUNCED, tsa, Math.floor(stamp / 1000) + i);
        const x = samples.get(s)!;
        x.announce.push(cli(["--config", cfg, "announce", "--namespace", NS, "--batch", b.batchFile, "--receipts", b.receiptsDir]));
        x.status.push(cli(["--config", cfg, "status", "--json"]));
        x.verify.push(cli(["--config", cfg, "verify-online", "--namespace", NS, "--batch", id]));
      }
    }
    const rows: BenchRow[] = [];
    const empty = samples.get(0)!;
    const what = [
      ["announce", `announce of ${fmt(ANNOUNCED)} receipts (one TSA anchor)`, (s: number) => (s >= 1_000_000 ? 1.3 : 1.2)],
      ["status", "status --json", () => 2],
      ["verify", "verify-online --batch of that batch", () => 2],
    ] as Array<["announce" | "status" | "verify", string, (s: number) => number]>;
    for (const [key, label, limit] of what) {
      const base = median(empty[key]);
      for (const s of sizes.filter((x) => x > 0)) {
        const value = median(samples.get(s)![key]);
        const l = key === "announce" ? limit(s) : s >= 1_000_000 ? limit(s) : undefined;
        rows.push({ metric: `${label} into/at ${fmt(s)} receipts`, value, unit: "ms", baseline: { name: "same, empty node", value: base }, ...(l === undefined ? {} : { target: `≤ ${l}× empty`, met: value <= l * base }) });
      }
    }
    for (const ids of [1_000_000, 10_000_000]) {
      const f = await filterCost(ids, scratch);
      rows.push({ metric: `id filter at ${fmt(ids)} receipts (synthetic): read, test and add 1,000 ids, write (${fmt(Math.round(f.bytes / 1e6))} MB file)`, value: f.ms, unit: "ms", baseline: { name: "announce into an empty node", value: median(empty.announce) } });
    }
    return { name: `command costs on a big node (CLI, median of ${runs} interleaved runs, wall time)`, rows };
  } finally {
    tsa.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const arg = (name: string) => {
    const at = process.argv.indexOf(name);
    return at < 0 ? undefined : Number(process.argv[at + 1]);
  };
  const runs = arg("--runs");
  const max = arg("--max");
  console.log(formatTable([await run({ ...(runs === undefined ? {} : { runs }), ...(max === undefined ? {} : { max }) })]));
}
