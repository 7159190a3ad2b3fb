/**
 * Steps the anti-entropy item tests share (test/federation/item-anti-entropy.test.ts,
 * test/federation/claim-items.test.ts): a peer's request body, one `sync` of a node with one peer,
 * an upstream writer adding a rail to a sealed batch, and an announce that b refuses.
 */
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { join } from "node:path";
import { MESH_NAMESPACE as NS, type MeshNode } from "./mesh.js";

/** The whole body of a request, as text. */
export function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = "";
    req.setEncoding("utf8").on("data", (d: string) => (text += d)).on("end", () => resolve(text));
  });
}

/** One anti-entropy session of `n` with `peer`, through `sync --json`; the peer's report. */
export async function sync(n: MeshNode, peer = n.name === "a" ? "did:vm:node:b" : "did:vm:node:a"): Promise<Record<string, number | boolean | string>> {
  const r = await n.cli("sync", "--namespace", NS, "--peer", peer, "--json");
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.peers.length, 1, r.stderr);
  assert.equal(doc.peers[0].ok, true, doc.peers[0].error);
  return doc.peers[0];
}

/** Rewrites every receipt file of a sealed batch with `anchor`, as upstream's writers do for each rail. */
export async function rewriteReceipts(dir: string, anchor: object): Promise<void> {
  for (const name of await readdir(dir)) {
    const file = join(dir, name);
    await writeFile(file, JSON.stringify({ ...JSON.parse(await readFile(file, "utf8")), anchor }));
  }
}

/** Announces on the origin; b refuses the gossip (exit 1 for the refused delivery). */
export async function announceOn(a: MeshNode, sealed: { batchFile: string; receiptsDir: string }): Promise<void> {
  const r = await a.cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
  const doc = JSON.parse(r.stdout);
  assert.equal(doc.report.status, "active", r.stderr);
  assert.equal(doc.deliveries.find((d: { peer: string }) => d.peer === "did:vm:node:b")?.outcome, "refused");
}
