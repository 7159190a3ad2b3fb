/**
 * Fills a node's state directory with many sealed batches at once, for catch-up tests and
 * benchmarks: each batch has fresh random events, a real RFC 3161 token over its root from the
 * test's openssl TSA and a checkpoint signed by the node that holds it (its origin,
 * docs/FEDERATION_SEMANTICS.md §Checkpoints), and is written with the store's own `putBatch`
 * while no `serve` runs on it. The origin's verdict is recorded as verified; a node that
 * fetches the batches verifies every token again with its own trust bundle.
 */
import { randomBytes } from "node:crypto";
import { readKeyFile } from "../../lib/identity/key-file.js";
import { signCheckpoint } from "../../lib/messages/checkpoint.js";
import { digestBytes } from "../../lib/digest.js";
import { merkleRoot, receiptsForBatch } from "../../lib/merkle/index.js";
import { openStore } from "../../lib/store/index.js";
import type { OpensslTsa } from "./openssl-tsa.js";

export interface SeedOptions {
  namespace: string;
  /** The node whose state is filled: it signs each batch's checkpoint as the batch's origin. */
  origin: { did: string; keyFile: string };
  batches: number;
  receiptsPerBatch: number;
  /** `createdAt` of the first batch; batch k is sealed k seconds later (default 1,760,000,000). */
  firstCreatedAt?: number;
}

/**
 * Writes `batches × receiptsPerBatch` receipts into the store at `stateDir`; returns their ids.
 * @example const ids = await seedStore(a.stateDir, tsa, { namespace: NS, origin: { did: a.did, keyFile: join(a.configDir, "keys", "node.key") }, batches: 50, receiptsPerBatch: 200 })
 */
export async function seedStore(stateDir: string, tsa: OpensslTsa, options: SeedOptions): Promise<string[]> {
  const key = await readKeyFile(options.origin.keyFile);
  const store = await openStore(stateDir);
  const ids: string[] = [];
  try {
    for (let k = 0; k < options.batches; k++) {
      const createdAt = (options.firstCreatedAt ?? 1_760_000_000) + k;
      const leaves = Array.from({ length: options.receiptsPerBatch }, () => `sha256:${randomBytes(32).toString("hex")}`);
      const batchId = `seed-${String(k).padStart(6, "0")}`;
      const root = merkleRoot(leaves, "vmsh-dup-sha256");
      const receipts = receiptsForBatch({ id: batchId, root, leaves, createdAt }, options.namespace);
      const sig = Buffer.from(tsa.mint(digestBytes(root), { noNonce: true })).toString("base64");
      const anchor = { batchId, batchRoot: root, chain: "rfc3161:vmsh-test", tx: `tsa-${batchId}`, block: 0, ts: createdAt + 5, sig, outcome: "verified" as const };
      const checkpoint = signCheckpoint({ namespace: options.namespace, origin: options.origin.did, batchId, batchRoot: root, tree: "vmsh-dup-sha256", size: leaves.length, createdAt, ts: createdAt + 1 }, key.privateKey);
      await store.putBatch({ namespace: options.namespace, batchId, batchRoot: root, createdAt, receipts, anchors: [anchor], checkpoint });
      ids.push(...leaves);
    }
  } finally {
    await store.close();
  }
  return ids;
}
