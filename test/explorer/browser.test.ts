/**
 * The explorer in a real browser (docs/EXPLORER.md §Tests): Debian's Chromium through
 * playwright-core against three real `serve` processes in the line a – b – c.
 * VMSH_EXPLORER_SCREENSHOTS=1 also writes the screenshots into docs/explorer/.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { copyFile, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../support/browser.js";
import { getFromElsewhere, setExplorerConfig } from "../support/explorer-config.js";
import { LINE_ABC, startMesh, waitUntil, MESH_NAMESPACE as NS, type Mesh } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { repoRoot } from "../support/repo-root.js";
import { sealTsaBatch, type SealedFiles } from "../support/sealer.js";
import { digestBytes } from "../../lib/digest.js";

const TOKEN = "explorer-test-token-0123456789abcdef";
let tsa: OpensslTsa;
let mesh: Mesh;
let browser: Browser;
let first: SealedFiles;
const shots: string[] = [];

async function openPage(url: string, viewport = { width: 1280, height: 800 }, colorScheme: "light" | "dark" = "light"): Promise<{ page: Page; requests: string[] }> {
  const context = await browser.newContext({ viewport, colorScheme, acceptDownloads: true });
  const page = await context.newPage();
  const requests: string[] = [];
  // Every request the page makes is seen here; anything not aimed at the node is refused.
  await page.route("**/*", (route) => {
    const u = route.request().url();
    requests.push(u);
    return u.startsWith(url) ? route.continue() : route.abort();
  });
  await page.goto(`${url}/explorer/`);
  await page.locator("#live.on").waitFor({ timeout: 20_000 });
  return { page, requests };
}

async function shoot(page: Page, name: string): Promise<void> {
  const file = join(mesh.root, name);
  await page.screenshot({ path: file, fullPage: true });
  shots.push(file);
}

before(async () => {
  tsa = createOpensslTsa();
  mesh = await startMesh(LINE_ABC, { trustPem: tsa.rootPem, env: { VMSH_EXPLORER_TOKEN: TOKEN } });
  browser = await launchChromium();
  first = await sealTsaBatch(join(mesh.root, "sealer"), "b-0001", 5, tsa);
  const r = await mesh.node("a").cli("announce", "--namespace", NS, "--batch", first.batchFile, "--receipts", first.receiptsDir);
  assert.equal(r.code, 0, r.stderr);
});
after(async () => {
  await browser?.close();
  if (process.env.VMSH_EXPLORER_SCREENSHOTS === "1") {
    await mkdir(join(repoRoot, "docs", "explorer"), { recursive: true });
    for (const f of shots) await copyFile(f, join(repoRoot, "docs", "explorer", f.split("/").pop()!));
  }
  await mesh?.stop();
  tsa?.cleanup();
});

describe("explorer: the page in Chromium against a three-node line", () => {
  test("graph: node a draws itself, its peer b and b's peer c, with the edges a–b and b–c only", async () => {
    const { page, requests } = await openPage(mesh.node("a").url);
    const nodes = page.locator("#graph .node");
    await waitUntil(async () => (await nodes.count()) === 3, 20_000, "three nodes in the graph");
    const dids = (await nodes.evaluateAll((els) => els.map((e) => `${e.getAttribute("data-did")} ${e.getAttribute("class")}`))).sort();
    assert.deepEqual(dids, ["did:vm:node:a node self", "did:vm:node:b node peer", "did:vm:node:c node remote"]);
    const edges = (await page.locator("#graph .edge-group").evaluateAll((els) => els.map((e) => `${e.getAttribute("data-from")}|${e.getAttribute("data-to")}|${e.getAttribute("data-namespaces")}`))).sort();
    assert.deepEqual(edges, [`did:vm:node:a|did:vm:node:b|${NS}`, `did:vm:node:b|did:vm:node:c|${NS}`]);
    // Keyboard: a graph node takes focus and Enter moves focus to its row in the peers table.
    await page.locator('#graph .node[data-did="did:vm:node:b"]').focus();
    await page.keyboard.press("Enter");
    assert.equal(await page.evaluate<string | null>("document.activeElement && document.activeElement.getAttribute('data-did')"), "did:vm:node:b");
    await page.locator('#batches tr[data-batch="b-0001"]').waitFor({ timeout: 20_000 });
    await shoot(page, "explorer-overview-1280x800.png");
    const origin = mesh.node("a").url;
    assert.ok(requests.length >= 4, requests.join("\n"));
    assert.deepEqual(requests.filter((u) => !u.startsWith(`${origin}/`)), [], "the page asked for something outside the node");
    await page.context().close();
  });

  test("live: a batch announced on a appears on c's page without a reload", async () => {
    const { page } = await openPage(mesh.node("c").url);
    await page.evaluate("window.marker = 42");
    const second = await sealTsaBatch(join(mesh.root, "sealer"), "b-0002", 3, tsa, 1_760_000_100);
    const r = await mesh.node("a").cli("announce", "--namespace", NS, "--batch", second.batchFile, "--receipts", second.receiptsDir);
    assert.equal(r.code, 0, r.stderr);
    await page.locator('#batches tr[data-batch="b-0002"]').waitFor({ timeout: 30_000 });
    assert.equal(await page.evaluate<number | undefined>("window.marker"), 42, "the page was reloaded");
    await page.context().close();
  });

  test("anchor: choosing an anchor with the keyboard shows its verdict and reason", async () => {
    const { page } = await openPage(mesh.node("c").url);
    const batchButton = page.locator('#batches tr[data-batch="b-0001"] button');
    await batchButton.waitFor({ timeout: 20_000 });
    await batchButton.focus();
    await page.keyboard.press("Enter");
    const anchor = page.locator('#batch .anchors button[data-chain="rfc3161:vmsh-test"]');
    await anchor.waitFor();
    await anchor.focus();
    await page.keyboard.press("Enter");
    assert.equal(await page.locator('#anchor-detail [data-testid="verdict"]').textContent(), "verified");
    assert.match((await page.locator('#anchor-detail [data-testid="reason"]').textContent()) ?? "", /every check passed/);
    assert.match((await page.locator("#anchor-detail").textContent()) ?? "", /winner\s*yes/);
    // No quorum in c's federation.yaml: the batch is final because c verified it (docs/FEDERATION_SEMANTICS.md §8).
    assert.match((await page.locator('#batch [data-testid="quorum"]').textContent()) ?? "", /state\s*final\s*cosigners\s*1 of 1: did:vm:node:c/);
    // A batch whose second anchor names a chain c has no endpoint for: held pending, with the reason.
    const mixed = await sealTsaBatch(join(mesh.root, "sealer"), "b-0003", 2, tsa, 1_760_000_200);
    const receiptFile = join(mixed.receiptsDir, "1.json");
    const receipt = JSON.parse(await readFile(receiptFile, "utf8"));
    receipt.anchor = { chain: "eip155:31337", tx: `0x${"ab".repeat(32)}`, block: 7, ts: 1_760_000_210 };
    await writeFile(receiptFile, JSON.stringify(receipt));
    const r = await mesh.node("c").cli("announce", "--namespace", NS, "--batch", mixed.batchFile, "--receipts", mixed.receiptsDir);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const mixedButton = page.locator('#batches tr[data-batch="b-0003"] button');
    await mixedButton.waitFor({ timeout: 20_000 });
    await mixedButton.click();
    await page.locator('#batch .anchors button[data-chain="eip155:31337"]').click();
    assert.equal(await page.locator('#anchor-detail [data-testid="verdict"]').textContent(), "pending");
    assert.equal(await page.locator('#anchor-detail [data-testid="reason"]').textContent(), "no verifier configured for eip155:31337");
    assert.match((await page.locator("#anchor-detail").textContent()) ?? "", /winner\s*no/);
    await shoot(page, "explorer-batch-anchor-1280x800.png");
    await page.context().close();
  });

  test("search: the event hash finds the receipt with its branch, and the downloaded proof verifies with verify-proof", async () => {
    const { page } = await openPage(mesh.node("c").url);
    const leaf = first.leaves[2]!;
    await page.locator("#search-input").fill(leaf);
    await page.keyboard.press("Enter");
    await page.locator('[data-testid="receipt"]').waitFor({ timeout: 20_000 });
    assert.equal(await page.locator('[data-testid="inclusion"]').textContent(), "proof recomputes the batch root");
    // 5 leaves under vmsh-dup: a path of 3 siblings, drawn as 3 steps after the leaf.
    assert.equal(await page.locator('.branch ol li').count(), 4);
    await shoot(page, "explorer-receipt-1280x800.png");
    const [download] = await Promise.all([page.waitForEvent("download"), page.locator('[data-testid="download-proof"]').click()]);
    const file = join(mesh.root, "proof.json");
    await download.saveAs(file);
    const proof = JSON.parse(await readFile(file, "utf8"));
    assert.equal(proof.receipt.eventHash, leaf);
    // No quorum here, so no witness cosigns a's log: the page, the file and verify-proof say unlogged (docs/EXPLORER.md §Proof files).
    assert.match((await page.locator('[data-testid="proof-log"]').textContent()) ?? "", /The file is unlogged: it shows no inclusion of the checkpoint in a witnessed head of its origin's log \(.+\)\.$/);
    assert.equal(proof.log, undefined);
    const ok = await mesh.node("a").cli("verify-proof", file, "--json");
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.equal(JSON.parse(ok.stdout).anchors[0].outcome, "verified");
    assert.equal(JSON.parse(ok.stdout).logged.state, "unlogged");
    // The same file with the leaf swapped for another event of the batch must not verify.
    proof.receipt.eventHash = proof.receipt.id = first.leaves[3]!;
    await writeFile(join(mesh.root, "tampered.json"), JSON.stringify(proof));
    const bad = await mesh.node("a").cli("verify-proof", join(mesh.root, "tampered.json"));
    assert.equal(bad.code, 1, bad.stdout);
    assert.match(bad.stdout, /inclusion: proof does not recompute batchRoot/);
    await page.context().close();
  });

  test("batch list: each version's quorum state is a column and a filter; same-chain anchors are told apart by tx", async () => {
    const c = mesh.node("c");
    // Two TSA anchors on one chain: receipt 1 carries a second token under another tx.
    const twin = await sealTsaBatch(join(mesh.root, "sealer"), "b-0004", 3, tsa, 1_760_000_300);
    const file = join(twin.receiptsDir, "1.json");
    const receipt = JSON.parse(await readFile(file, "utf8"));
    receipt.anchor = { ...receipt.anchor, tx: "tsb-b-0004", sig: Buffer.from(tsa.mint(digestBytes(twin.root), { noNonce: false })).toString("base64") };
    await writeFile(file, JSON.stringify(receipt));
    await c.cli("announce", "--namespace", NS, "--batch", twin.batchFile, "--receipts", twin.receiptsDir);
    // A batch whose only anchor names a chain c has no verifier for: held, awaiting.
    const held = await sealTsaBatch(join(mesh.root, "sealer"), "b-0005", 2, tsa, 1_760_000_400);
    for (const name of ["0.json", "1.json"]) {
      const f = join(held.receiptsDir, name);
      await writeFile(f, JSON.stringify({ ...JSON.parse(await readFile(f, "utf8")), anchor: { chain: "eip155:31337", tx: `0x${"cd".repeat(32)}`, block: 7, ts: 1_760_000_410 } }));
    }
    const h = await c.cli("announce", "--namespace", NS, "--batch", held.batchFile, "--receipts", held.receiptsDir);
    assert.equal(h.code, 1, "held, so nothing announced: exit 1");
    const api = (await (await fetch(`${c.url}/api/v1/namespaces/${encodeURIComponent(NS)}/batches`)).json()) as { items: Array<{ batchId: string; quorum: string | null }> };
    const states = new Map(api.items.map((i) => [i.batchId, i.quorum]));
    assert.equal(states.get("b-0001"), "final");
    assert.equal(states.get("b-0005"), "awaiting", "held: not final");
    const { page } = await openPage(c.url);
    const agreement = (id: string) => page.locator(`#batches tr[data-batch="${id}"] [data-testid="agreement"]`);
    await agreement("b-0004").waitFor({ timeout: 20_000 });
    assert.equal(await agreement("b-0001").textContent(), "final");
    assert.equal(await agreement("b-0005").textContent(), "awaiting");
    await page.locator("#quorum-filter").selectOption("awaiting");
    await page.locator('#batches tr[data-batch="b-0001"]').waitFor({ state: "detached" });
    assert.deepEqual(await page.locator("#batches tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-batch"))), ["b-0005"]);
    await page.locator("#quorum-filter").selectOption("");
    await page.locator('#batches tr[data-batch="b-0004"] button').click();
    const buttons = page.locator('#batch .anchors button[data-chain="rfc3161:vmsh-test"]');
    await buttons.first().waitFor();
    const labels = await buttons.allTextContents();
    assert.equal(labels.length, 2);
    assert.notEqual(labels[0], labels[1], "the two buttons read differently");
    assert.ok(labels.some((l) => l.includes("tsa-b-0004")) && labels.some((l) => l.includes("tsb-b-0004")), labels.join(" | "));
    await page.context().close();
  });

  test("origin logs: a panel per origin shows its size, last witnessed head and witnesses", async () => {
    const a = mesh.node("a");
    const { page } = await openPage(a.url);
    const panels = page.locator('[data-testid="origin-log"]');
    await panels.first().waitFor({ timeout: 20_000 });
    const texts = await panels.allInnerTexts();
    // a's own log holds the checkpoint it announced; no witness is configured in this mesh, so no head is witnessed.
    const own = texts.find((t) => t.includes(`${a.did} (this node)`));
    assert.ok(own !== undefined, texts.join("\n---\n"));
    assert.match(own, new RegExp(`vmsh-federation/log/${a.did}`));
    assert.match(own, /\b[1-9][0-9]* checkpoints\b/);
    assert.match(own, /last witnessed head\s+none yet/);
    assert.match(own, /witnesses\s+none/);
    // b and c are origins a accepts: each has its panel.
    for (const n of ["b", "c"]) assert.ok(texts.some((t) => t.includes(mesh.node(n).did) && !t.includes("(this node)")), `${n}'s panel`);
    await page.context().close();
  });

  test("layout: readable at phone width and in dark mode, with no sideways scrolling", async () => {
    const { page } = await openPage(mesh.node("b").url, { width: 390, height: 844 }, "dark");
    const statuses: Array<[string, number]> = [];
    page.on("response", (res) => statuses.push([res.url(), res.status()]));
    await page.reload();
    await page.locator("#live.on").waitFor({ timeout: 20_000 });
    await page.locator('#batches tr[data-batch="b-0001"]').waitFor({ timeout: 20_000 });
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than a phone screen`);
    // The status and agreement columns are on screen, not scrolled off inside the table.
    for (const col of ["Status", "Agreement"]) {
      const box = await page.locator("#batches thead th", { hasText: col }).boundingBox();
      assert.ok(box !== null && box.x >= 0 && box.x + box.width <= 390, `${col} column at ${JSON.stringify(box)}`);
    }
    // Every cell of the row is one line (no hash broken into a column of characters), and the
    // root in the batch's panel takes a few lines at most.
    const lineCount = (selector: string) =>
      page.evaluate<number[]>(`[...document.querySelectorAll(${JSON.stringify(selector)})].filter((e) => e.offsetParent !== null).map((e) => { const tops = new Set(); const walk = document.createTreeWalker(e, NodeFilter.SHOW_TEXT); for (let t = walk.nextNode(); t !== null; t = walk.nextNode()) { const range = document.createRange(); range.selectNodeContents(t); for (const r of range.getClientRects()) tops.add(Math.round(r.top)); } return tops.size; })`);
    const cells = await lineCount('#batches tr[data-batch="b-0001"] td');
    assert.ok(cells.length >= 3 && cells.every((n) => n === 1), JSON.stringify(cells));
    await page.locator('#batches tr[data-batch="b-0001"] button').click();
    await page.locator("#batch-h").waitFor();
    const [rootLines] = await lineCount("#batch dd .mono");
    assert.ok(rootLines !== undefined && rootLines <= 3, `the root takes ${rootLines} lines`);
    // The page's icon is served: nothing the page asked for answered 404.
    const icon = statuses.find(([u]) => u.endsWith("/explorer/favicon.svg"));
    assert.deepEqual(icon?.[1], 200, JSON.stringify(statuses));
    assert.deepEqual(statuses.filter(([, s]) => s === 404), []);
    const bg = await page.evaluate<string>("getComputedStyle(document.body).backgroundColor");
    assert.equal(bg, "rgb(20, 23, 27)", "prefers-color-scheme: dark is not honoured");
    await shoot(page, "explorer-phone-dark-390x844.png");
    await page.context().close();
  });

  test("access: a non-loopback client is refused without the token and with a wrong one; the right token opens a public explorer", async () => {
    const b = mesh.node("b");
    const loopbackOnly = await getFromElsewhere(`${b.url}/api/v1/node`, { authorization: `Bearer ${TOKEN}` });
    assert.equal(loopbackOnly.status, 403, loopbackOnly.body);
    assert.equal((await getFromElsewhere(`${b.url}/explorer/`)).status, 403);
    await setExplorerConfig(b, "explorer:\n  public: true\n  token: ${VMSH_EXPLORER_TOKEN}");
    const none = await getFromElsewhere(`${b.url}/api/v1/node`);
    assert.equal(none.status, 401, none.body);
    assert.equal(JSON.parse(none.body).error.code, "UNAUTHORIZED");
    const wrong = await getFromElsewhere(`${b.url}/api/v1/node`, { authorization: `Bearer ${TOKEN.slice(0, -1)}x` });
    assert.equal(wrong.status, 401, wrong.body);
    assert.equal((await getFromElsewhere(`${b.url}/api/v1/events`, { authorization: "Basic abc" })).status, 401);
    const right = await getFromElsewhere(`${b.url}/api/v1/node`, { authorization: `Bearer ${TOKEN}` });
    assert.equal(right.status, 200, right.body);
    assert.equal(JSON.parse(right.body).node, "did:vm:node:b");
    // The page itself holds no data: a public explorer serves it, and it asks for the token.
    const page = await getFromElsewhere(`${b.url}/explorer/`);
    assert.equal(page.status, 200);
    assert.match(String(page.headers["content-security-policy"]), /default-src 'none'/);
    await setExplorerConfig(b, "");
    assert.equal((await getFromElsewhere(`${b.url}/api/v1/node`, { authorization: `Bearer ${TOKEN}` })).status, 403);
  });
});
