/**
 * A hostile peer's topology and text against a real `serve` (docs/EXPLORER.md §Topology bounds,
 * §Peer-controlled text): "mallory" is admitted and routed, its endpoint is the test's own server
 * (test/hardening/hostile-server.ts). Its signed topology answer lists 1,000 peers, each with long
 * namespaces the asking node does not route to it; its /health names itself with a right-to-left
 * override (U+202E) followed by "rejected" and a screen-clearing ESC sequence. The API draws at most 20 of mallory's peers and counts
 * the rest, drops the foreign namespaces, and Chromium shows the bound and the text isolated in
 * `<bdi>`; `status` in a terminal shows the controls escaped (`\u202e`, `\u001b`).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Browser } from "playwright-core";
import { MAX_REMOTES_PER_PEER } from "../../lib/explorer/api.js";
import { messageDigest } from "../../lib/messages/canonical.js";
import { launchChromium } from "../support/browser.js";
import { waitUntil, MESH_NAMESPACE as NS } from "../support/mesh.js";
import { sealTsaBatch } from "../support/sealer.js";
import { useMesh } from "../support/use-mesh.js";
import { joseSign, nowS, startHostileServer, type HostileServer } from "../hardening/hostile-server.js";

const RLO = "\u202e";
const LISTED = 1_000;
/** What mallory's /health says it is: its DID, an override, a word the override would turn around, and a screen-clearing escape. */
const HEALTH_NODE = `did:vm:node:mallory${RLO} rejected\u001b[2J`;
/** How status and the explorer repeat it: the ESC written out at once, the override kept for each to treat (escaped in a terminal, isolated on the page). */
const HEALTH_SAID = `did:vm:node:mallory${RLO} rejected\\u001b[2J`;
const MEMO = `approved${RLO} by the sealer`;
const longNamespace = (i: number, k: number) => `dao:${"long".repeat(28)}:${i}-${k}`;

let server: HostileServer;
let browser: Browser;
const mesh = useMesh([{ name: "a", routes: [] }], async () => {
  server = await startHostileServer(() => mesh.guests.get("mallory")!);
  return { guests: [{ name: "mallory", roles: ["announce", "serve", "request"], url: server.url }], antiEntropyIntervalS: 3600 };
});

/** The computed `unicode-bidi` of an element, in the page (the test compiles without DOM types). */
const unicodeBidi = (el: unknown): string => (globalThis as unknown as { getComputedStyle(e: unknown): { unicodeBidi: string } }).getComputedStyle(el).unicodeBidi;

type TopologyJson = { nodes: Array<{ did: string; kind: string }>; edges: Array<{ from: string; to: string; namespaces: string[] }>; errors: unknown[]; truncated?: Array<{ peer: string; shown: number; hidden: number }> };

async function topology(): Promise<{ json: TopologyJson; bytes: number }> {
  const res = await fetch(`${mesh.node("a").url}/api/v1/topology`);
  const text = await res.text();
  assert.equal(res.status, 200, text.slice(0, 300));
  return { json: JSON.parse(text) as TopologyJson, bytes: Buffer.byteLength(text) };
}

describe("explorer: a hostile peer's topology and text", () => {
  before(async () => {
    const mallory = mesh.guests.get("mallory")!;
    server.routes.set("/health", async () => ({ status: 200, body: { status: "ok", node: HEALTH_NODE, version: "0.3.0", uptimeS: 1 } }));
    server.routes.set("/federation/topology", async (text) => {
      const request = JSON.parse(text) as { signer: string };
      const peers = Array.from({ length: LISTED }, (_, i) => ({ did: `did:vm:node:far-${String(i).padStart(4, "0")}`, namespaces: [NS, longNamespace(i, 0), longNamespace(i, 1), longNamespace(i, 2)].sort() }));
      const answer = await joseSign({ type: "topology", v: 1, request: messageDigest(request as never), node: mallory.did, peers, ts: nowS(), signer: mallory.did }, mallory.key, mallory.did);
      return { status: 200, body: answer };
    });
    // A batch whose anchor carries a memo with the override, shown in the anchor's detail.
    const sealed = await sealTsaBatch(join(mesh.root, "sealer"), "b-memo", 2, mesh.tsa);
    for (const f of await readdir(sealed.receiptsDir)) {
      const file = join(sealed.receiptsDir, f);
      const receipt = JSON.parse(await readFile(file, "utf8")) as { anchor: Record<string, unknown> };
      receipt.anchor.memo = MEMO;
      await writeFile(file, JSON.stringify(receipt));
    }
    const r = await mesh.node("a").cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.close();
  });

  test("topology bound: 1,000 listed peers give 20 drawn and 980 counted, foreign namespaces dropped, a small answer", async (t) => {
    const mallory = mesh.guests.get("mallory")!;
    const { json, bytes } = await topology();
    const remotes = json.nodes.filter((n) => n.kind === "remote");
    assert.equal(remotes.length, MAX_REMOTES_PER_PEER);
    assert.deepEqual(json.truncated, [{ peer: mallory.did, shown: MAX_REMOTES_PER_PEER, hidden: LISTED - MAX_REMOTES_PER_PEER }]);
    assert.equal(json.nodes.length, 2 + MAX_REMOTES_PER_PEER, "this node, mallory and the drawn peers");
    for (const e of json.edges) assert.deepEqual(e.namespaces, [NS], `edge ${e.from} – ${e.to}`);
    t.diagnostic(`/api/v1/topology: ${bytes} bytes, ${json.nodes.length} nodes, ${json.edges.length} edges`);
    assert.ok(bytes < 16_000, `/api/v1/topology is ${bytes} bytes`);
  });

  test("topology bound: Chromium draws the 20, a '+980 more' mark, and the caption says so; peer text sits in <bdi>", async (t) => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${mesh.node("a").url}/explorer/`);
    const nodes = page.locator("#graph .node");
    await waitUntil(async () => (await nodes.count()) === 2 + MAX_REMOTES_PER_PEER, 20_000, "the bounded graph");
    assert.equal(await page.locator("#graph .more").count(), 1);
    assert.equal(await page.locator("#graph .more text").textContent(), `+${LISTED - MAX_REMOTES_PER_PEER} more`);
    const elements = await page.locator("#graph svg *").count();
    t.diagnostic(`graph: ${elements} SVG elements`);
    assert.ok(elements < 250, "the graph stays a few hundred elements");
    assert.match((await page.locator("#graph-caption").textContent()) ?? "", /mallory lists 1000 peers; 20 are drawn\./);
    // Labels stay inside the drawing: every node's box lies within the SVG's.
    const spill = await page.evaluate<number>(`(() => {
      const svg = document.querySelector("#graph svg").getBoundingClientRect();
      return [...document.querySelectorAll("#graph .node, #graph .more")].filter((g) => {
        const r = g.getBoundingClientRect();
        return r.left < svg.left - 1 || r.right > svg.right + 1 || r.top < svg.top - 1 || r.bottom > svg.bottom + 1;
      }).length;
    })()`);
    assert.equal(spill, 0, "nodes drawn outside the graph");
    // mallory's /health text: in the peers table, isolated; ")" after it is the page's, outside.
    const cell = page.locator('#peers tr[data-did="did:vm:node:mallory"] td').nth(1);
    await cell.locator("bdi").waitFor({ timeout: 20_000 });
    assert.equal(await cell.locator("bdi").textContent(), `answers as ${HEALTH_SAID}, not did:vm:node:mallory`);
    assert.equal(await cell.textContent(), `no (answers as ${HEALTH_SAID}, not did:vm:node:mallory)`);
    assert.equal(await cell.locator("bdi").evaluate(unicodeBidi), "isolate");
    // The anchor's memo, in the anchor detail, isolated too.
    const batch = page.locator('#batches tr[data-batch="b-memo"] button');
    await batch.waitFor({ timeout: 20_000 });
    await batch.click();
    const anchor = page.locator('#batch .anchors button[data-chain="rfc3161:vmsh-test"]');
    await anchor.waitFor();
    await anchor.click();
    const memo = page.locator('#anchor-detail [data-testid="memo"] bdi');
    assert.equal(await memo.textContent(), MEMO);
    assert.equal(await memo.evaluate(unicodeBidi), "isolate");
    await context.close();
  });

  test("terminal: status shows mallory's U+202E as \\u202e and its ESC as \\u001b, and --json keeps the override exact", async () => {
    // mallory's /health does not answer as the DID peers.yaml names: an unreachable routed peer, exit 1.
    const text = await mesh.node("a").cli("status");
    assert.equal(text.code, 1, text.stderr);
    assert.ok(!text.stdout.includes(RLO) && !text.stderr.includes(RLO), "a raw U+202E reached the terminal");
    assert.ok(!text.stdout.includes("\u001b"), "a raw ESC reached the terminal");
    assert.ok(text.stdout.includes(`no (answers as did:vm:node:mallory\\u202e rejected\\u001b[2J, not did:vm:node:mallory)`), text.stdout);
    const json = await mesh.node("a").cli("status", "--json");
    assert.equal(json.code, 1, json.stderr);
    assert.ok(!json.stdout.includes(RLO));
    const peers = (JSON.parse(json.stdout) as { peers: Array<{ did: string; detail: string }> }).peers;
    assert.equal(peers.find((p) => p.did === "did:vm:node:mallory")?.detail, `answers as ${HEALTH_SAID}, not did:vm:node:mallory`);
  });
});
