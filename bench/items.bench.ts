/**
 * Benchmark of anti-entropy over attachment items (docs/ANTI_ENTROPY.md §Attachment items): a
 * namespace of 500 batch versions × 200 receipts, each version with its checkpoint and two
 * anchor claims as items (101,500 items). The responder holds `d` more claims, one per version
 * (a rail added while gossip missed the initiator). Measured: reconcile round trips and bytes
 * (binary payloads, both directions, the same exchange `sync` runs), and the bytes of the `want`
 * Request and the Bundle that fetch those claims (JSON as sent, each claim carrying a real
 * 4-5 KB TSA token). Baseline: the naive listing of every item id (32 B each).
 *
 *   npx tsc -p tsconfig.json && node dist/bench/items.bench.js
 */
import { createHash, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { merkleRoot, receiptsForBatch } from "../lib/merkle/index.js";
import { signCheckpoint } from "../lib/messages/checkpoint.js";
import { NamespaceIndexes } from "../lib/reconcile/namespace-indexes.js";
import { openStore } from "../lib/store/index.js";
import type { Anchor } from "../lib/anchors/anchor.js";
import { claimDigest } from "../lib/conflict/index.js";
import { generateNodeKey } from "../lib/identity/keys.js";
import { signMessage } from "../lib/messages/authenticate.js";
import { messageDigest } from "../lib/messages/canonical.js";
import type { Bundle, Request } from "../lib/messages/schema.js";
import { itemId } from "../lib/reconcile/version-items.js";
import type { ReceiptKey } from "../lib/store/types.js";
import { exchange, honest, indexOf } from "../test/reconcile/exchange.js";
import { fixturePath } from "../test/support/repo-root.js";
import type { BenchFigures } from "./table.js";

const VERSIONS = 500;
const RECEIPTS = 200;
const BASE_TS = 1_760_000_000;
const NS = "dao:vaultmesh";

export interface ItemsBenchRow {
  d: number;
  items: number;
  roundTrips: number;
  reconcileBytes: number;
  requestBytes: number;
  bundleBytes: number;
  naiveBytes: number;
  exact: boolean;
}

const hex = (s: string) => createHash("sha256").update(s).digest("hex");
const root = (v: number) => `sha256:${hex(`root ${v}`)}`;
const batchId = (v: number) => `b-${String(v).padStart(4, "0")}`;

/**
 * One TSA claim on version v, claim k: a real token's bytes with the last three replaced by
 * (v, k), so that each claim has its own token digest (a TSA claim's identity, docs/ANCHORS.md).
 */
function claim(v: number, k: number, token: string): Anchor {
  const sig = `${token.slice(0, -4)}${Buffer.from([v >> 8, v & 255, k]).toString("base64")}`;
  return { batchId: batchId(v), batchRoot: root(v), chain: "rfc3161:digicert", tx: `tsa-${v}-${k}`, block: 0, ts: BASE_TS + v + 5, memo: `rail ${k}`, sig };
}

/** The origin every synthetic version is sealed by. */
const ORIGIN = "did:vm:node:origin";

/** Keys of the shared universe: receipts, a checkpoint item and two claim items per version. */
function universe(token: string): ReceiptKey[] {
  const keys: ReceiptKey[] = [];
  for (let v = 0; v < VERSIONS; v++) {
    const ts = BASE_TS + v;
    for (let i = 0; i < RECEIPTS; i++) keys.push({ ts, id: `sha256:${hex(`event ${v} ${i}`)}` });
    keys.push({ ts, id: itemId("checkpoint", batchId(v), root(v), ORIGIN, `sha256:${hex(`checkpoint ${v}`)}`) });
    for (let k = 0; k < 2; k++) keys.push({ ts, id: itemId("claim", batchId(v), root(v), ORIGIN, claimDigest(claim(v, k, token))) });
  }
  return keys;
}

function measure(base: readonly ReceiptKey[], d: number, token: string): ItemsBenchRow {
  const step = d === 0 ? 0 : Math.floor(VERSIONS / d);
  const added: Anchor[] = [];
  for (let j = 0; j < d; j++) added.push(claim(j * step, 2, token));
  const extra = added.map((a) => ({ ts: BASE_TS + Number(a.batchId.slice(2)), id: itemId("claim", a.batchId, a.batchRoot, ORIGIN, claimDigest(a)) }));
  const initiator = new Map([[NS, indexOf(base)]]);
  const responder = new Map([[NS, indexOf([...base, ...extra])]]);
  const r = exchange(initiator, honest(responder), {}, 11);
  const need = (r.initiator.find((x) => x.namespace === NS)?.need ?? []).map((k) => k.id).sort();
  const exact = r.error === undefined && JSON.stringify(need) === JSON.stringify(extra.map((k) => k.id).sort());
  let requestBytes = 0;
  let bundleBytes = 0;
  if (d > 0) {
    const me = generateNodeKey();
    const request = signMessage<Request>({ type: "request", v: 2, namespace: NS, aud: "did:vm:node:b", want: need, ts: BASE_TS, signer: "did:vm:node:a" } as Omit<Request, "sig">, me.privateKey);
    const bundle = signMessage<Bundle>({ type: "bundle", v: 2, namespace: NS, aud: "did:vm:node:a", request: messageDigest(request), checkpoints: [], receipts: [], anchors: added, ts: BASE_TS, signer: "did:vm:node:b" }, me.privateKey);
    requestBytes = Buffer.byteLength(JSON.stringify(request));
    bundleBytes = Buffer.byteLength(JSON.stringify(bundle));
  }
  return { d, items: base.length + extra.length, roundTrips: r.roundTrips, reconcileBytes: r.bytes, requestBytes, bundleBytes, naiveBytes: (base.length + extra.length) * 32, exact };
}

/**
 * What building the item index costs on a real store of the same shape: the first `prepare` reads
 * every version's file and saves the table; a later one reads only versions whose stamp changed;
 * the next process's first one starts from the saved table.
 */
async function prepareCost(token: string): Promise<{ firstMs: number; againMs: number; savedMs: number; receiptsOnlyMs: number; items: number }> {
  const dir = await mkdtemp(join(tmpdir(), "vmsh-items-bench-"));
  try {
    const store = await openStore(join(dir, "state"));
    const origin = generateNodeKey();
    for (let v = 0; v < VERSIONS; v++) {
      const leaves = Array.from({ length: RECEIPTS }, () => `sha256:${randomBytes(32).toString("hex")}`);
      const batchRoot = merkleRoot(leaves, "vmsh-dup-sha256");
      const createdAt = BASE_TS + v;
      const checkpoint = signCheckpoint({ namespace: NS, origin: "did:vm:node:a", batchId: batchId(v), batchRoot, tree: "vmsh-dup-sha256", size: RECEIPTS, createdAt, ts: createdAt + 1 }, origin.privateKey);
      const anchors = [0, 1].map((k) => ({ ...claim(v, k, token), batchRoot, outcome: "verified" as const }));
      await store.putBatch({ namespace: NS, batchId: batchId(v), batchRoot, createdAt, receipts: receiptsForBatch({ id: batchId(v), root: batchRoot, leaves, createdAt }, NS), anchors, checkpoint });
    }
    await store.close();
    const reopened = await openStore(join(dir, "state"));
    let t = performance.now();
    const receiptsOnly = new NamespaceIndexes({ receiptKeys: (ns) => reopened.receiptKeys(ns), receiptCount: (ns) => reopened.receiptCount(ns), onReceiptsAdded: (l) => reopened.onReceiptsAdded(l) });
    receiptsOnly.get(NS);
    const receiptsOnlyMs = performance.now() - t;
    receiptsOnly.close();
    const indexes = new NamespaceIndexes(reopened);
    t = performance.now();
    await indexes.prepare(NS);
    const items = indexes.get(NS).size - reopened.receiptCount(NS);
    const firstMs = performance.now() - t;
    t = performance.now();
    await indexes.prepare(NS);
    const againMs = performance.now() - t;
    indexes.close();
    // Another process (a `sync` run): the table the first prepare saved spares it every file read.
    const next = new NamespaceIndexes(reopened);
    t = performance.now();
    await next.prepare(NS);
    const savedMs = performance.now() - t;
    next.close();
    await reopened.close();
    return { firstMs, againMs, savedMs, receiptsOnlyMs, items };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs every case.
 * @example const { rows } = await run();
 */
export async function run(): Promise<BenchFigures & { raw: ItemsBenchRow[] }> {
  const token = readFileSync(fixturePath("real", "tsa", "digicert", "response.tsr")).toString("base64");
  const base = universe(token);
  const raw = [0, 1, 10, 100, 500].map((d) => measure(base, d, token));
  const fmt = (x: number) => x.toLocaleString("en");
  const cost = await prepareCost(token);
  const rows = [
    { metric: `item index over a real store of ${fmt(VERSIONS * RECEIPTS)} receipts (${fmt(cost.items)} items): first prepare (reads every version file)`, value: cost.firstMs, unit: "ms", baseline: { name: "receipt keys only", value: cost.receiptsOnlyMs } },
    { metric: "… a later prepare with nothing changed", value: cost.againMs, unit: "ms" },
    { metric: "… the first prepare of the next process, from the saved table", value: cost.savedMs, unit: "ms" },
  ];
  rows.push(...raw.flatMap((x) => [
    { metric: `${fmt(VERSIONS * RECEIPTS)} receipts + ${fmt(VERSIONS * 3)} items, ${x.d} claim${x.d === 1 ? "" : "s"} missing: reconcile (${x.roundTrips} RT${x.roundTrips === 1 ? "" : "s"}${x.exact ? "" : ", NOT EXACT"})`, value: x.reconcileBytes, unit: "B", baseline: { name: "list every item id", value: x.naiveBytes } },
    ...(x.d === 0 ? [] : [{ metric: `… fetch ${x.d === 1 ? "that claim" : `those ${x.d} claims`}: want Request + Bundle (${fmt(x.requestBytes + x.bundleBytes)} B), per claim`, value: (x.requestBytes + x.bundleBytes) / x.d, unit: "B/claim" }]),
  ]));
  return { name: "anti-entropy over items (claims, checkpoints)", rows, raw };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { raw, rows } = await run();
  for (const r of rows.slice(0, 3)) console.log(`${r.metric}: ${r.value.toFixed(0)} ${r.unit}`);
  console.log("d  items  RTs  reconcile B  B/diff  request B  bundle B  naive B  exact");
  for (const x of raw) console.log([x.d, x.items, x.roundTrips, x.reconcileBytes, x.d === 0 ? "-" : (x.reconcileBytes / x.d).toFixed(0), x.requestBytes, x.bundleBytes, x.naiveBytes, x.exact ? "yes" : "NO"].join("  "));
}
