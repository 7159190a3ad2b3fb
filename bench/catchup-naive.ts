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
import { withNode } from "../commands/node.js";
import { checkBundle } from "../lib/federation/gossip.js";
import { PeerClient } from "../lib/federation/peer-client.js";
import { peerDirectory } from "../lib/federation/peers.js";
import { readKeyFile } from "../lib/identity/key-file.js";
import { signMessage } from "../lib/messages/authenticate.js";
import { LIMITS } from "../lib/messages/limits.js";
import { ReplayCache } from "../lib/messages/replay.js";
import type { Request } from "../lib/messages/schema.js";
import { importBundle } from "../lib/pipeline/bundle.js";

const [configDir, namespace, idsFile] = process.argv.slice(2);
if (configDir === undefined || namespace === undefined || idsFile === undefined) throw new Error("usage: catchup-naive.js <configDir> <namespace> <idsFile>");
const batchIds = readFileSync(idsFile, "utf8").split("\n").filter((l) => l !== "");
const ctx = makeContext(defaultIo, { config: configDir });
const totals = await withNode(ctx, async (node) => {
  const directory = peerDirectory(node.config);
  const [peer] = directory.routed(namespace, "serve");
  if (peer === undefined) throw new Error(`no serving peer routed for ${namespace}`);
  const key = await readKeyFile(node.config.federation.mesh.keyFile);
  const now = () => Math.floor(Date.now() / 1000);
  const auth = { peers: directory.known, isRouted: directory.isRouted, now, skewS: node.config.federation.mesh.clockSkewS, replay: new ReplayCache() };
  const client = new PeerClient();
  const t = { fetched: 0, imported: 0, bytes: 0, requests: 0 };
  try {
    for (const batchId of batchIds) {
      const request = signMessage<Request>({ type: "request", v: 1, namespace, batchId, ts: now(), signer: node.config.federation.mesh.nodeId }, key.privateKey);
      t.requests++;
      t.bytes += Buffer.byteLength(JSON.stringify(request));
      const r = await client.postJson(peer, "/federation/request", request, { maxResponseBytes: LIMITS.maxBundleBytes });
      if (!r.ok) throw new Error(`${batchId}: ${r.status ?? "no status"} ${r.code}: ${r.message}`);
      t.bytes += r.bytes;
      const bundle = checkBundle(r.body, peer, request, auth);
      t.fetched += bundle.receipts.length;
      for (const b of await importBundle(namespace, bundle.receipts, bundle.anchors, node.importContext(namespace))) t.imported += b.receiptsAdded;
    }
  } finally {
    await client.close();
  }
  return t;
});
process.stdout.write(`${JSON.stringify(totals)}\n`);
