/**
 * Benchmark of the import pipeline (docs/ANCHORS.md §Outcomes, lib/pipeline): receipts imported per second
 * when one 10,000-receipt bundle (10 batches of 1,000) goes through `importBundle` into a
 * fresh store, with each batch's RFC 3161 anchor minted by a real openssl TSA and checked by
 * the real TSA verifier. Baseline: `verifyInclusion` of the same receipts alone, so the ratio
 * is the cost of everything else (anchor verification, store writes, conflict resolution).
 * The verifier is wrapped with a counter to show each batch version's anchor is verified once,
 * although the input lists every anchor twice (bundle + announce, as peers send them).
 * A second row times verifyBatchInclusion alone (each batch checked against its rebuilt tree)
 * against its floor: sha256 of the same interior nodes in one loop over prepared inputs.
 *
 *   npx tsc -p tsconfig.json && node dist/bench/import.bench.js
 */
import { createHash, hash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type { Anchor } from "../lib/anchors/anchor.js";
import { limitConcurrency } from "../lib/anchors/limit.js";
import { verifyTsaAnchor } from "../lib/anchors/tsa/index.js";
import { digestBytes } from "../lib/digest.js";
import { merkleRoot, receiptsForBatch, verifyBatchInclusion, verifyInclusion } from "../lib/merkle/index.js";
import { generateNodeKey } from "../lib/identity/keys.js";
import { signCheckpoint, type Checkpoint } from "../lib/messages/checkpoint.js";
import { encodeLeaves } from "../lib/messages/leaves.js";
import { importBundle, type VersionLeaves } from "../lib/pipeline/bundle.js";
import type { Receipt } from "../lib/receipt.js";
import { openStore } from "../lib/store/index.js";
import { createOpensslTsa } from "../test/support/openssl-tsa.js";
import { formatTable, type BenchFigures } from "./table.js";

const NS = "dao:vaultmesh";
const BATCHES = 10;
const PER_BATCH = 1_000;
const ROUNDS = 3;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** The bundle: BATCHES sealed batches, each with one TSA anchor over its root. */
/** The origin that signs the bundle's checkpoints (docs/FEDERATION_SEMANTICS.md §Checkpoints). */
const ORIGIN = { did: "did:vm:node:bench-origin", key: generateNodeKey() };

function makeBundle(mint: (data: Uint8Array) => Uint8Array, salt = ""): Bundle {
  const receipts: Receipt[] = [];
  const anchors: Anchor[] = [];
  const checkpoints: Checkpoint[] = [];
  const versions: VersionLeaves[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const id = `b-${String(b).padStart(4, "0")}`;
    const createdAt = 1_760_000_000 + b * 60;
    const leaves = Array.from({ length: PER_BATCH }, (_, i) => `sha256:${createHash("sha256").update(`${salt}${id}/${i}`).digest("hex")}`);
    const root = merkleRoot(leaves, "vmsh-dup-sha256");
    receipts.push(...receiptsForBatch({ id, root, leaves, createdAt }, NS));
    checkpoints.push(signCheckpoint({ namespace: NS, origin: ORIGIN.did, batchId: id, batchRoot: root, tree: "vmsh-dup-sha256", size: leaves.length, createdAt, ts: createdAt }, ORIGIN.key.privateKey));
    versions.push({ checkpoint: checkpoints.at(-1)!, leaves: encodeLeaves(leaves) });
    const token = Buffer.from(mint(digestBytes(root))).toString("base64");
    anchors.push({ batchId: id, batchRoot: root, chain: "rfc3161:vmsh-bench", tx: `tsa-${id}`, block: 0, ts: createdAt + 5, sig: token });
  }
  return { receipts, anchors, checkpoints, leaves: versions };
}

/** The bundle as receipts with paths, and the same versions as leaves (docs/FEDERATION_PROTOCOL.md §Leaves). */
interface Bundle {
  receipts: Receipt[];
  anchors: Anchor[];
  checkpoints: Checkpoint[];
  leaves: VersionLeaves[];
}

interface ImportRound {
  ms: number;
  /** CPU time of the process (user + system, all threads) over the import. */
  cpuMs: number;
  /** Calls of the TSA verifier, per batch root. */
  verifyCalls: Map<string, number>;
  /** Batch versions the store keeps as their leaves after the import (docs/STATE.md §Leaves form). */
  keptAsLeaves: number;
}

async function importOnce(dir: string, bundle: Bundle, trustPem: string, asLeaves = false): Promise<ImportRound> {
  const store = await openStore(dir);
  const verifyCalls = new Map<string, number>();
  try {
    const ctx = {
      store,
      verify: (anchor: Anchor, batchRoot: string) => {
        verifyCalls.set(batchRoot, (verifyCalls.get(batchRoot) ?? 0) + 1);
        return verifyTsaAnchor(anchor, batchRoot, { trustPem });
      },
      limit: limitConcurrency(4),
      now: () => Math.floor(Date.now() / 1000),
      origins: new Map([[ORIGIN.did, ORIGIN.key.publicKey]]),
    };
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const reports = asLeaves ? await importBundle(NS, [], [...bundle.anchors, ...bundle.anchors], ctx, bundle.checkpoints, bundle.leaves) : await importBundle(NS, bundle.receipts, [...bundle.anchors, ...bundle.anchors], ctx, bundle.checkpoints);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const added = reports.reduce((s, r) => s + r.receiptsAdded, 0);
    const held = reports.filter((r) => r.status !== "active");
    if (added !== bundle.receipts.length || held.length > 0) throw new Error(`import stored ${added} receipts, ${held.length} batches not active: ${JSON.stringify(held[0]?.anchors)}`);
    let kept = 0;
    for (const c of bundle.checkpoints) if ((await store.getBatch(NS, c.batchId, c.batchRoot, c.origin))?.leaves !== undefined) kept++;
    return { ms, cpuMs, verifyCalls, keptAsLeaves: kept };
  } finally {
    await store.close();
  }
}

function inclusionOnce(receipts: readonly Receipt[]): number {
  const t0 = performance.now();
  for (const r of receipts) if (!verifyInclusion(r).ok) throw new Error(`inclusion failed for ${r.id}`);
  return performance.now() - t0;
}

/** verifyBatchInclusion of every batch of the bundle, as importBatch calls it. */
function batchInclusionOnce(receipts: readonly Receipt[]): number {
  const t0 = performance.now();
  for (let b = 0; b < BATCHES; b++) {
    const batch = receipts.slice(b * PER_BATCH, (b + 1) * PER_BATCH);
    const { verdicts, rebuilt } = verifyBatchInclusion(batch, { root: batch[0]!.batchRoot });
    if (!rebuilt || verdicts.some((v) => !v.ok)) throw new Error(`batch ${b} did not verify against its rebuilt tree`);
  }
  return performance.now() - t0;
}

/**
 * The floor: every interior node of every batch's vmsh-dup tree as a 64-byte input, prepared
 * beforehand (levels computed once), then hashed in one loop, nothing else.
 */
function floorInputs(receipts: readonly Receipt[]): Buffer[] {
  const inputs: Buffer[] = [];
  for (let b = 0; b < BATCHES; b++) {
    let level = receipts.slice(b * PER_BATCH, (b + 1) * PER_BATCH).map((r) => digestBytes(r.eventHash));
    while (level.length > 1) {
      const next: Uint8Array[] = [];
      for (let i = 0; i < level.length; i += 2) {
        const input = Buffer.concat([level[i]!, level[i + 1] ?? level[i]!]);
        inputs.push(input);
        next.push(hash("sha256", input, "buffer"));
      }
      level = next;
    }
  }
  return inputs;
}

function floorOnce(inputs: readonly Buffer[]): number {
  const t0 = performance.now();
  let x = 0;
  for (const input of inputs) x ^= hash("sha256", input, "buffer")[0]!;
  const ms = performance.now() - t0;
  if (x < 0) throw new Error("unreachable");
  return ms;
}

/**
 * Mints the bundle, imports it `ROUNDS` times into fresh stores next to the inclusion-only
 * baseline, and returns the medians.
 * @example const { rows } = await run();
 */
export async function run(): Promise<BenchFigures> {
  const tsa = createOpensslTsa();
  const root = mkdtempSync(join(tmpdir(), "vmsh-import-bench-"));
  try {
    const bundle = makeBundle((data) => tsa.mint(data));
    const n = bundle.receipts.length;
    const leafBundles = Array.from({ length: ROUNDS }, (_, k) => makeBundle((data) => tsa.mint(data), `round-${k}/`));
    // Other receipts every round too: a version whose receipts are its whole leaves is kept as
    // leaves, and the store would not hash leaves it rebuilt a round ago again.
    const receiptBundles = Array.from({ length: ROUNDS }, (_, k) => makeBundle((data) => tsa.mint(data), `receipts-${k}/`));
    inclusionOnce(bundle.receipts); // warm-up
    const inputs = floorInputs(bundle.receipts);
    batchInclusionOnce(bundle.receipts);
    floorOnce(inputs);
    const importMs: number[] = [];
    const importCpu: number[] = [];
    const leavesMs: number[] = [];
    const leavesCpu: number[] = [];
    const inclusionMs: number[] = [];
    const batchMs: number[] = [];
    const floorMs: number[] = [];
    let calls = new Map<string, number>();
    let keptAsLeaves = 0;
    for (let k = 0; k < ROUNDS; k++) {
      const round = await importOnce(join(root, `store-${k}`), receiptBundles[k]!, tsa.rootPem);
      importMs.push(round.ms);
      importCpu.push(round.cpuMs);
      calls = round.verifyCalls;
      keptAsLeaves = round.keptAsLeaves;
      // Other leaves every round: the store would not hash leaves it rebuilt a moment ago again (lib/store/leaves.ts).
      const leaves = await importOnce(join(root, `leaves-${k}`), leafBundles[k]!, tsa.rootPem, true);
      leavesMs.push(leaves.ms);
      leavesCpu.push(leaves.cpuMs);
      inclusionMs.push(inclusionOnce(bundle.receipts));
      batchMs.push(batchInclusionOnce(bundle.receipts));
      floorMs.push(floorOnce(inputs));
    }
    const counts = [...calls.values()];
    const perVersion = counts.length === BATCHES && counts.every((c) => c === counts[0]) ? counts[0]! : Number.NaN;
    const shape = `${n.toLocaleString("en")} receipts, ${BATCHES}×${PER_BATCH.toLocaleString("en")}`;
    return {
      name: "import (lib/pipeline importBundle, fresh store)",
      rows: [
        { metric: `receipts imported/s (${shape})`, value: (n / median(importMs)) * 1000, unit: "receipts/s", baseline: { name: "verifyInclusion alone", value: (n / median(inclusionMs)) * 1000 }, target: "≥ 100,000", met: n / median(importMs) * 1000 >= 100_000 },
        { metric: `receipts imported/s, the same versions as leaves + checkpoints (${shape})`, value: (n / median(leavesMs)) * 1000, unit: "receipts/s", baseline: { name: "as receipts with paths", value: (n / median(importMs)) * 1000 }, target: "≥ 100,000", met: (n / median(leavesMs)) * 1000 >= 100_000 },
        { metric: `CPU time of the import as leaves, per ${n.toLocaleString("en")} receipts (user + system, all threads)`, value: median(leavesCpu), unit: "ms", baseline: { name: "as receipts with paths", value: median(importCpu) } },
        { metric: `verifyBatchInclusion, one rebuilt tree per batch (${shape})`, value: (n / median(batchMs)) * 1000, unit: "receipts/s", baseline: { name: `sha256 floor: ${inputs.length.toLocaleString("en")} interior nodes, one loop`, value: (n / median(floorMs)) * 1000 } },
        { metric: `TSA verifier calls per batch version (anchors listed twice)`, value: perVersion, unit: "calls" },
        { metric: `batch versions kept as leaves after importing them as receipts with paths (of ${BATCHES})`, value: keptAsLeaves, unit: "versions" },
      ],
    };
  } finally {
    rmSync(root, { recursive: true, force: true });
    tsa.cleanup();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(formatTable([await run()]));
