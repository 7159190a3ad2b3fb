/**
 * The naive catch-up the catch-up benchmark compares `sync` with: a node that already knows the
 * peer's batch ids asks for every batch by id (one Request `{ namespace, batchId }` each,
 * docs/FEDERATION_PROTOCOL.md) and imports each answer. Run as its own process so its peak RSS
 * is its own:
 *
 *   node dist/bench/catchup-naive.js <configDir> <namespace> <file with one batch id a line>
 *
 * Prints `{ fetched, imported, bytes, requests }` as JSON.
 */
import { readFileSync } from "node:fs";
import { makeContext } from "../commands/context.js";
import { defaultIo } from "../commands/main.js";
import { withRuntime } from "../commands/node.js";
import { requestBundle } from "../lib/federation/gossip.js";
import { importBundle } from "../lib/pipeline/bundle.js";

const [configDir, namespace, idsFile] = process.argv.slice(2);
if (configDir === undefined || namespace === undefined || idsFile === undefined) throw new Error("usage: catchup-naive.js <configDir> <namespace> <idsFile>");
const batchIds = readFileSync(idsFile, "utf8").split("\n").filter((l) => l !== "");
const ctx = makeContext(defaultIo, { config: configDir });
const totals = await withRuntime(ctx, async (node) => {
  const [peer] = node.peers.routed(namespace, "serve");
  if (peer === undefined) throw new Error(`no serving peer routed for ${namespace}`);
  const t = { fetched: 0, imported: 0, bytes: 0, requests: 0 };
  for (const batchId of batchIds) {
    t.requests++;
    const { bundle, sentBytes, receivedBytes } = await requestBundle(node.client, node.me, node.authContext(), peer, { namespace, batchId }, () => node.now());
    t.bytes += sentBytes + receivedBytes;
    t.fetched += bundle.receipts.length;
    for (const b of await importBundle(namespace, bundle.receipts, bundle.anchors, node.importContext(namespace), bundle.checkpoints)) t.imported += b.receiptsAdded;
  }
  return t;
});
process.stdout.write(`${JSON.stringify(totals)}\n`);
