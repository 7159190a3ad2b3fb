/**
 * /health latency while hostile time-stamp tokens are verified (docs/ANCHORS.md §Budgets):
 * tokens whose certificate bag holds 9 CA certificates that share one name and key (the case
 * that froze `serve` before the budgets). One process holds an HTTP server answering /health
 * and the anchor verifier, as `serve` does; tokens go through `verifierFor`, four at a time
 * (the node's endpoint-call limit), for as long as /health is probed. Three phases in one run:
 * idle, tokens verified on the worker thread (what `serve` does), and the same tokens verified
 * on the event loop (`inline: true`), to show what the thread buys. Loopback only, about 20 s on an idle machine.
 *
 *   npx tsc -p tsconfig.json && node scripts/run-bench.mjs tsa
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import type { Anchor } from "../lib/anchors/anchor.js";
import { limitConcurrency } from "../lib/anchors/limit.js";
import { verifyTsaAnchor } from "../lib/anchors/tsa/index.js";
import { digestBytes, formatDigest, sha256 } from "../lib/digest.js";
import { createCrossIssuingTsa } from "../test/support/hostile-tsa.js";
import { createOpensslTsa } from "../test/support/openssl-tsa.js";
import { formatTable, type BenchFigures } from "./table.js";

const CAS = 9;
/** Probes per phase; the inline phase needs fewer to show the event loop held (each may wait a whole token). */
const PROBES = 200;
const INLINE_PROBES = 40;
const GAP_MS = 10;

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const round = (x: number): number => Math.round(x * 100) / 100;

async function probe(url: string, count: number): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    const res = await fetch(url);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`/health answered ${res.status}`);
    ms.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, GAP_MS));
  }
  return ms;
}

/** Probes /health while `verify` runs four at a time without pause; returns latencies and tokens done. */
async function underLoad(url: string, probes: number, verify: () => Promise<unknown>): Promise<{ ms: number[]; tokens: number; seconds: number }> {
  const limit = limitConcurrency(4);
  let stop = false;
  let tokens = 0;
  const worker = async (): Promise<void> => {
    while (!stop) {
      await limit(verify);
      tokens++;
      // Tokens reach serve through I/O: yield to the event loop as an arriving request would,
      // or an inline verification that settles at once would chain microtasks forever.
      await new Promise((r) => setImmediate(r));
    }
  };
  const t0 = performance.now();
  const loops = Array.from({ length: 4 }, worker);
  const ms = await probe(url, probes);
  stop = true;
  await Promise.all(loops);
  return { ms, tokens, seconds: (performance.now() - t0) / 1000 };
}

export async function run(): Promise<BenchFigures> {
  const tsa = createOpensslTsa();
  const hostile = createCrossIssuingTsa(CAS);
  const server = createServer((_req, res) => res.end('{"ok":true}'));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/health`;
    const batchRoot = formatDigest(sha256(new TextEncoder().encode("bench batch")));
    const anchor: Anchor = { batchId: "b", batchRoot, chain: "rfc3161:bench", tx: "t", block: 0, ts: 1, sig: Buffer.from(hostile.mint(digestBytes(batchRoot), CAS)).toString("base64") };
    const check = async (inline: boolean): Promise<void> => {
      const r = await verifyTsaAnchor(anchor, batchRoot, { trustPem: tsa.rootPem, inline });
      if (r.outcome !== "rejected") throw new Error(`hostile token was ${r.outcome}`);
    };
    await check(false); // start the worker thread before measuring
    const idle = await probe(url, PROBES);
    const threaded = await underLoad(url, PROBES, () => check(false));
    const inline = await underLoad(url, INLINE_PROBES, () => check(true));
    const idleP99 = percentile(idle, 99);
    const baseline = { name: "/health p99 idle, same run", value: round(idleP99) };
    const threadedP99 = percentile(threaded.ms, 99);
    return {
      name: `TSA verification under hostile tokens (${CAS} cross-issuing CAs each)`,
      rows: [
        { metric: "/health p99, idle", value: round(idleP99), unit: "ms" },
        { metric: "/health p99 while hostile tokens are verified on the worker thread", value: round(threadedP99), unit: "ms", baseline, target: "≤ 100 ms", met: threadedP99 <= 100 },
        { metric: "/health p99 while the same tokens are verified on the event loop (inline)", value: round(percentile(inline.ms, 99)), unit: "ms", baseline },
        { metric: "hostile tokens rejected per second, worker thread", value: round(threaded.tokens / threaded.seconds), unit: "/s" },
        { metric: "hostile tokens rejected per second, inline", value: round(inline.tokens / inline.seconds), unit: "/s" },
      ],
    };
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    hostile.cleanup();
    tsa.cleanup();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) console.log(formatTable([await run()]));
