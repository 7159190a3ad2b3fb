/**
 * Upstream's files as written (docs/ANCHORS.md §The sealer's placeholder, docs/FEDERATION_PROTOCOL.md
 * §Anchor): a batch sealed with the `vm:internal` placeholder, then anchored one rail at a time
 * with every receipt rewritten each time, exactly as the vm-spawn writers leave them
 * (test/support/upstream-writers.ts), announced after each step against a real anvil, an
 * openssl TSA and a regtest chain served as Bitcoin Core JSON-RPC.
 */
import { checkpointBy } from "../support/checkpoint.js";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Address } from "viem";
import type { Anchor } from "../../lib/anchors/anchor.js";
import { limitConcurrency } from "../../lib/anchors/limit.js";
import { verifyTsaAnchor } from "../../lib/anchors/tsa/verify-anchor.js";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { merkleRoot, receiptsForBatch } from "../../lib/merkle/index.js";
import { signMessage, type AuthenticateContext, type KnownPeer } from "../../lib/messages/authenticate.js";
import { canonicalJson } from "../../lib/messages/canonical.js";
import { anchorClaim, parseAnchor } from "../../lib/messages/items.js";
import { ReplayCache } from "../../lib/messages/replay.js";
import { verifyMessage } from "../../lib/messages/verify-message.js";
import { importBundle } from "../../lib/pipeline/bundle.js";
import { openStore } from "../../lib/store/index.js";
import { PLACEHOLDER_NOTE } from "../../lib/sealer/placeholder.js";
import { deployBatchAnchor, mine, startAnvil, type AnvilNode } from "../support/anvil.js";
import { createRegtestChain, startCoreRpcServer, type RegtestChain, type RunningServer } from "../support/btc-regtest.js";
import { runCli } from "../support/cli.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { rewriteReceipts, sealUpstreamBatch, upstreamBtcAnchor, upstreamEvmAnchor, upstreamTsaAnchor, type UpstreamBatch } from "../support/upstream-writers.js";

const NS = "dao:vaultmesh";
let root: string;
let cfg: string;
let anvil: AnvilNode;
let contract: Address;
let tsa: OpensslTsa;
let btc: RegtestChain;
let core: RunningServer;

const cli = (...args: string[]) => runCli(["--config", cfg, ...args], { timeoutMs: 60_000 });
/** This node routes no peer: announce stores and verifies, then exits 1 because nothing was announced. */
const NOT_ANNOUNCED = 1;
const announce = (b: UpstreamBatch) => cli("announce", "--namespace", NS, "--batch", b.batchFile, "--receipts", b.receiptsDir, "--json");

interface Report {
  status: string;
  receiptsStored: number;
  receiptsAdded: number;
  winner?: string;
  anchors: Array<{ chain: string; tx: string; outcome: string; reason?: string; superseded_by?: string }>;
}

async function stateFiles(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  async function walk(d: string) {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (!e.name.endsWith(".lock")) out.set(p, await readFile(p, "utf8"));
    }
  }
  await walk(join(root, "state"));
  return out;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vmsh-upstream-"));
  cfg = join(root, "config");
  [anvil, tsa] = await Promise.all([startAnvil(), Promise.resolve(createOpensslTsa())]);
  btc = createRegtestChain(3);
  core = await startCoreRpcServer(btc);
  contract = await deployBatchAnchor(anvil);
  assert.equal((await cli("init", "--node-id", "did:vm:node:upstream")).code, 0);
  const fed = join(cfg, "federation.yaml");
  await writeFile(fed, (await readFile(fed, "utf8")).replace(/evm_confirmations: \d+/, "evm_confirmations: 2").replace(/btc_confirmations: \d+/, "btc_confirmations: 2"));
  await writeFile(join(cfg, "tsa-root.pem"), tsa.rootPem);
  await writeFile(
    join(cfg, "anchors.yaml"),
    `eip155:\n  "${anvil.chainId}": { rpcUrl: "${anvil.rpcUrl}", contract: "${contract}" }\nbtc:\n  regtest: { rpcUrl: "${core.url}" }\nrfc3161:\n  trustBundle: tsa-root.pem\n`,
  );
});
after(async () => {
  await anvil?.stop();
  await core?.close();
  tsa?.cleanup();
  await rm(root, { recursive: true, force: true });
});

describe("schema and import: an empty memo is no memo", () => {
  const root = `sha256:${"ab".repeat(32)}`;
  const base = { batchId: "1760000000", batchRoot: root, chain: "eip155:31337", tx: `0x${"cd".repeat(32)}`, block: 7, ts: 1_760_000_100 };

  test("anchorClaim: memo \"\" and an absent memo are one claim with one canonical form; other memos stay", () => {
    const empty = parseAnchor({ ...base, memo: "" }, "a");
    assert.equal(empty.memo, "", "the wire form is kept as sent");
    assert.deepEqual(anchorClaim(empty), parseAnchor(base, "a"));
    assert.equal("memo" in anchorClaim(empty), false);
    assert.equal(canonicalJson(anchorClaim(empty)), canonicalJson(anchorClaim(parseAnchor(base, "a"))));
    assert.equal(anchorClaim(parseAnchor({ ...base, memo: "x" }, "a")).memo, "x");
  });

  test("parseAnchor: a memo that is not a string, or too long, is still refused", () => {
    assert.throws(() => parseAnchor({ ...base, memo: 0 }, "a"), /a\.memo: expected a string/);
    assert.throws(() => parseAnchor({ ...base, memo: null }, "a"), /a\.memo: expected a string/);
    assert.throws(() => parseAnchor({ ...base, memo: "m".repeat(1025) }, "a"), /a\.memo: expected 1 to 1024 characters/);
  });

  test("verifyMessage: an Announce whose signer signed memo \"\" verifies, and a tampered memo does not", () => {
    const key = generateNodeKey();
    const did = "did:vm:node:upstream-peer";
    const now = 1_760_000_200;
    const ctx = (): AuthenticateContext => ({ peers: new Map<string, KnownPeer>([[did, { did, roles: new Set(["announce"] as const), publicKey: key.publicKey }]]), isRouted: () => true, now: () => now, skewS: 300, replay: new ReplayCache(), self: "did:vm:node:receiver" });
    const checkpoint = checkpointBy({ did, key }, { namespace: NS, batchId: base.batchId, batchRoot: root });
    const signed = signMessage({ type: "announce", v: 2, namespace: NS, aud: "did:vm:node:receiver", batchId: base.batchId, batchRoot: root, checkpoint, anchors: [{ ...base, memo: "" }], ts: now, signer: did }, key.privateKey);
    const wire = JSON.parse(JSON.stringify(signed)) as { anchors: Array<Record<string, unknown>> };
    assert.equal(verifyMessage(wire, ctx()).ok, true);
    wire.anchors[0]!.memo = "x";
    const r = verifyMessage(wire, ctx());
    assert.equal(r.ok ? "" : r.error.code, "SIG_INVALID");
  });

  test("importBundle: a TSA anchor sent with memo \"\" and again without is stored once, without a memo", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vmsh-memo-"));
    const store = await openStore(dir);
    try {
      const leaves = ["01", "02", "03"].map((b) => `sha256:${b.repeat(32)}`);
      const batchRoot = merkleRoot(leaves, "vmsh-dup-sha256");
      const receipts = receiptsForBatch({ id: "b-memo", root: batchRoot, leaves, createdAt: 1_760_000_000 }, NS);
      const anchor = { batchId: "b-memo", batchRoot, ...upstreamTsaAnchor(tsa, batchRoot) } as Anchor;
      assert.equal(anchor.memo, "");
      // The batch's origin vouches for its shape (docs/FEDERATION_SEMANTICS.md §Checkpoints).
      const origin = { did: "did:vm:node:origin", key: generateNodeKey() };
      const checkpoint = checkpointBy(origin, { namespace: NS, batchId: "b-memo", batchRoot, size: leaves.length, createdAt: 1_760_000_000 });
      const ictx = { store, verify: (a: Anchor, r: string) => verifyTsaAnchor(a, r, { trustPem: tsa.rootPem }), limit: limitConcurrency(2), now: () => 1_760_000_300, origins: new Map([[origin.did, origin.key.publicKey]]) };
      const [first] = await importBundle(NS, receipts, [parseAnchor(anchor, "a")], ictx, [checkpoint]);
      assert.equal(first!.status, "active");
      const { memo: _m, ...noMemo } = anchor;
      const [second] = await importBundle(NS, receipts, [parseAnchor(noMemo, "a")], ictx, [checkpoint]);
      assert.equal(second!.written, false, "the same claim: nothing to write");
      const stored = await store.anchors(NS, "b-memo");
      assert.equal(stored.length, 1);
      assert.equal("memo" in stored[0]!, false);
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("cli: upstream's sealer and anchor writers, one rail at a time", () => {
  let batch: UpstreamBatch;

  test("announce: a freshly sealed batch (placeholder only) is stored held and says why", async () => {
    batch = await sealUpstreamBatch(join(root, "out"), 9, 1_760_000_000);
    const r = await announce(batch);
    assert.equal(r.code, NOT_ANNOUNCED, r.stderr + r.stdout);
    const out = JSON.parse(r.stdout) as { placeholderReceipts: number; note?: string; notAnnounced?: string; report: Report };
    assert.equal(out.placeholderReceipts, 9);
    assert.equal(out.note, PLACEHOLDER_NOTE);
    assert.equal(out.report.status, "held");
    assert.equal(out.report.receiptsStored, 9);
    assert.deepEqual(out.report.anchors, []);
    assert.equal(JSON.stringify(await stateFiles()).includes("vm:internal"), false, "the placeholder is never stored");
    const human = await cli("announce", "--namespace", NS, "--batch", batch.batchFile, "--receipts", batch.receiptsDir);
    assert.equal(human.code, NOT_ANNOUNCED, human.stderr);
    assert.match(human.stdout, /no anchor yet: the batch is held until one arrives/);
    assert.match(human.stdout, /9 receipts carry the sealer's vm:internal placeholder/);
  });

  test("announce: a placeholder naming another batch is refused with the file named, state unchanged", async () => {
    const other = await sealUpstreamBatch(join(root, "out-bad"), 3, 1_760_000_500);
    const [first] = (await readdir(other.receiptsDir)).sort();
    const file = join(other.receiptsDir, first!);
    const json = JSON.parse(await readFile(file, "utf8")) as { anchor: { tx: string } };
    json.anchor.tx = "batch:1760000000";
    await writeFile(file, JSON.stringify(json, null, 2));
    const before = await stateFiles();
    const r = await announce(other);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`${first!.replace(".", "\\.")}: anchor\\.tx: the sealer's placeholder of batch 1760000500 is "batch:1760000500"`));
    assert.deepEqual(await stateFiles(), before);
  });

  test("announce: the TSA rail (memo \"\", no policy OID) verifies and the batch becomes active", async () => {
    assert.equal(await rewriteReceipts(batch.receiptsDir, batch.id, upstreamTsaAnchor(tsa, batch.root)), 9);
    const r = await announce(batch);
    assert.equal(r.code, NOT_ANNOUNCED, r.stderr + r.stdout);
    const { report, note } = JSON.parse(r.stdout) as { report: Report; note?: string };
    assert.equal(note, undefined);
    assert.equal(report.status, "active");
    assert.equal(report.winner, "rfc3161:tsa/tsq:request.tsq");
    assert.equal((JSON.parse(r.stdout) as { notAnnounced?: string }).notAnnounced, `no peers are routed for ${NS} in federation.yaml`);
    assert.equal(report.receiptsAdded, 0);
    assert.equal(JSON.stringify(await stateFiles()).includes("memo"), false, "an empty memo is stored as no memo");
  });

  test("announce: the EVM rail (memo \"\" always) verifies and wins over the TSA", async () => {
    const evm = await upstreamEvmAnchor(anvil, contract, batch);
    await mine(anvil, 2);
    await rewriteReceipts(batch.receiptsDir, batch.id, evm);
    const r = await announce(batch);
    assert.equal(r.code, NOT_ANNOUNCED, r.stderr + r.stdout);
    const { report } = JSON.parse(r.stdout) as { report: Report };
    assert.equal(report.winner, `eip155:${anvil.chainId}/${String(evm.tx)}`);
    assert.deepEqual(report.anchors.map((a) => [a.chain, a.outcome]).sort(), [[`eip155:${anvil.chainId}`, "verified"], ["rfc3161:tsa", "verified"]]);
    // The same claim without the empty memo is the same claim: nothing changes.
    const before = await stateFiles();
    const { memo: _m, ...noMemo } = evm;
    await rewriteReceipts(batch.receiptsDir, batch.id, noMemo);
    const again = await announce(batch);
    assert.equal(again.code, NOT_ANNOUNCED, again.stderr);
    assert.deepEqual(await stateFiles(), before);
  });

  test("announce: the BTC rail, read back once mined, verifies and wins; its memo is kept", async () => {
    const anchor = upstreamBtcAnchor(btc, batch.root, { minedBeforeReadBack: true });
    btc.mine(1);
    await rewriteReceipts(batch.receiptsDir, batch.id, anchor);
    const r = await announce(batch);
    assert.equal(r.code, NOT_ANNOUNCED, r.stderr + r.stdout);
    const { report } = JSON.parse(r.stdout) as { report: Report };
    assert.equal(report.winner, `btc:regtest/${String(anchor.tx)}`);
    assert.equal(report.anchors.length, 3);
    assert.ok(report.anchors.every((a) => a.outcome === "verified"));
    assert.match(JSON.stringify([...(await stateFiles()).values()]), /OP_RETURN:RV\+sha256/);
  });

  test("announce: a BTC anchor read back before it was mined names the wrong height and is rejected, nothing else changes", async () => {
    const anchor = upstreamBtcAnchor(btc, batch.root);
    const claimed = anchor.block as number;
    btc.mine(2);
    await rewriteReceipts(batch.receiptsDir, batch.id, anchor);
    const r = await announce(batch);
    assert.equal(r.code, 1, r.stderr + r.stdout);
    const { report } = JSON.parse(r.stdout) as { report: Report };
    const late = report.anchors.find((a) => a.tx === anchor.tx)!;
    assert.equal(late.outcome, "rejected");
    assert.equal(late.reason, `transaction is in block height ${claimed + 1}, anchor says ${claimed}`);
    assert.equal(report.status, "active");
    assert.match(report.winner!, /^btc:regtest\//);
    assert.notEqual(report.winner, `btc:regtest/${String(anchor.tx)}`);
  });
});
