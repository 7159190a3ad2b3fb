/**
 * Child process for the crash and concurrency tests (not a test itself).
 *   crash <stateDir> <prefix>        put batches in a loop until killed, printing "committed <batchId>"
 *   crash-many <stateDir> <prefix>   the same, five batches per putBatches call (one transaction)
 *   concurrent <stateDir> <prefix> <n>  put n batches, n doc increments and n anchors on a shared batch
 */
import { openStore } from "../../lib/store/index.js";
import { sampleBatch } from "./sample.js";

const [mode, stateDir, prefix, count] = process.argv.slice(2);
if (stateDir === undefined || prefix === undefined) throw new Error("usage: store-writer crash|concurrent <stateDir> <prefix> [n]");
const store = await openStore(stateDir, { lockTimeoutMs: 20_000 });
if (mode === "crash") {
  for (let i = 0; ; i++) {
    const batchId = `${prefix}-${i}`;
    await store.putBatch(sampleBatch({ batchId, size: 20 + (i % 7) * 10, createdAt: 1_732_000_000 + i }));
    process.stdout.write(`committed ${batchId}\n`);
  }
} else if (mode === "crash-many") {
  for (let i = 0; ; i += 5) {
    const batches = Array.from({ length: 5 }, (_, k) => sampleBatch({ batchId: `${prefix}-${i + k}`, size: 20 + ((i + k) % 7) * 10, createdAt: 1_732_000_000 + i + k }));
    const results = await store.putBatches(batches);
    for (const [k, r] of results.entries()) {
      if ("error" in r) throw r.error;
      process.stdout.write(`committed ${batches[k]!.batchId}\n`);
    }
  }
} else if (mode === "concurrent") {
  const n = Number(count);
  for (let i = 0; i < n; i++) {
    await store.putBatch(sampleBatch({ batchId: `${prefix}-${i}`, size: 10, createdAt: 1_732_000_000 + i }));
    await store.updateDoc<Record<string, number>>("counters", (c) => ({ ...c, [prefix]: (c?.[prefix] ?? 0) + 1, total: (c?.["total"] ?? 0) + 1 }));
    const anchors = sampleBatch({ batchId: "shared", size: 4, anchors: [{ tx: `0x${prefix}${i}`, outcome: "verified" }] }).anchors;
    await store.putAnchors("acme/audit", "shared", anchors);
  }
  await store.close();
  process.stdout.write("done\n");
} else {
  throw new Error(`unknown mode ${mode}`);
}
