import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Address, Hex } from "viem";
import { digestBytes } from "../../lib/digest.js";
import { inclusionProofs, merkleRoot } from "../../lib/merkle/index.js";
import { deployBatchAnchor, mine, revertTo, sendAnchor, snapshot, startAnvil, type AnvilNode } from "../support/anvil.js";
import { runCli } from "../support/cli.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";

const NS = "dao:vaultmesh";
let root: string;
let cfg: string;
let anvil: AnvilNode;
let contract: Address;
let tsa: OpensslTsa;

interface Sealed {
  dir: string;
  batchFile: string;
  receiptsDir: string;
  root: string;
  id: string;
}

/**
 * Writes sealer output (docs/FEDERATION_SEMANTICS.md §The sealer's files) for a fresh batch. `makeAnchors` is called once with the root;
 * receipt i carries anchor `pick(i)` of them, as a sealer copies one anchor into many receipts.
 */
async function seal(id: string, size: number, makeAnchors: (root: string) => Promise<Record<string, unknown>[]> | Record<string, unknown>[], pick: (i: number) => number = () => 0): Promise<Sealed> {
  const leaves = Array.from({ length: size }, () => `sha256:${randomBytes(32).toString("hex")}`);
  const batchRoot = merkleRoot(leaves, "vmsh-dup-sha256");
  const dir = join(root, "sealer", id);
  const receiptsDir = join(dir, "receipts");
  await mkdir(receiptsDir, { recursive: true });
  const batchFile = join(dir, "batch.json");
  await writeFile(batchFile, JSON.stringify({ id, root: batchRoot, leaves, createdAt: 1_760_000_000 }));
  const proofs = inclusionProofs(leaves, "vmsh-dup-sha256");
  const anchors = await makeAnchors(batchRoot);
  for (const [i, leaf] of leaves.entries()) {
    const receipt = { eventHash: leaf, batchRoot, path: proofs[i]!.path, anchor: anchors[pick(i)], verifier: "did:vm:node:sealer", integrity: "vmr1-test" };
    await writeFile(join(receiptsDir, `${i}.json`), JSON.stringify(receipt));
  }
  return { dir, batchFile, receiptsDir, root: batchRoot, id };
}

async function evmAnchor(batchRoot: string, batchId: string): Promise<Record<string, unknown>> {
  const sent = await sendAnchor(anvil, { contract, root: batchRoot, batchId });
  return { chain: `eip155:${anvil.chainId}`, contract, tx: sent.tx, block: sent.block, ts: 1_760_000_100 };
}

function tsaAnchor(batchRoot: string): Record<string, unknown> {
  const token = tsa.mint(digestBytes(batchRoot));
  return { chain: "rfc3161:vmsh-test", tx: "tsa-1", block: 0, ts: 1_760_000_050, sig: Buffer.from(token).toString("base64") };
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

const cli = (...args: string[]) => runCli(["--config", cfg, ...args], { timeoutMs: 60_000 });

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vmsh-announce-"));
  cfg = join(root, "config");
  [anvil, tsa] = await Promise.all([startAnvil(), Promise.resolve(createOpensslTsa())]);
  contract = await deployBatchAnchor(anvil);
  assert.equal((await cli("init", "--node-id", "did:vm:node:auditor")).code, 0);
  const fed = join(cfg, "federation.yaml");
  await writeFile(fed, (await readFile(fed, "utf8")).replace("evm_confirmations: 12", "evm_confirmations: 2"));
  await writeFile(join(cfg, "tsa-root.pem"), tsa.rootPem);
  await writeFile(join(cfg, "anchors.yaml"), `eip155:\n  "${anvil.chainId}": { rpcUrl: "${anvil.rpcUrl}", contract: "${contract}" }\nrfc3161:\n  trustBundle: tsa-root.pem\n`);
});
after(async () => {
  await anvil?.stop();
  tsa?.cleanup();
  await rm(root, { recursive: true, force: true });
});

describe("cli: announce and verify-online against a real anvil and openssl TSA", () => {
  let sealed: Sealed;
  let snap: Hex;

  test("announce: stores a batch anchored on EVM and TSA, EVM wins, TSA superseded", async () => {
    snap = await snapshot(anvil);
    sealed = await seal("b-0001", 5, async (r) => [await evmAnchor(r, "b-0001"), tsaAnchor(r)], (i) => (i < 3 ? 0 : 1));
    await mine(anvil, 2);
    const r = await cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir, "--json");
    assert.equal(r.code, 1, r.stderr + r.stdout);
    const { report, notAnnounced } = JSON.parse(r.stdout);
    assert.equal(notAnnounced, `no peers are routed for ${NS} in federation.yaml`, "stored and verified; with no peer routed nothing was announced (exit 1)");
    assert.equal(report.status, "active");
    assert.equal(report.receiptsStored, 5);
    const evm = report.anchors.find((a: { chain: string }) => a.chain.startsWith("eip155:"));
    const ts = report.anchors.find((a: { chain: string }) => a.chain.startsWith("rfc3161:"));
    assert.equal(evm.outcome, "verified");
    assert.equal(ts.outcome, "verified");
    assert.equal(report.winner, `eip155:${anvil.chainId}/${evm.tx}`);
    assert.equal(ts.superseded_by, report.winner);
  });

  test("announce: announcing the same batch again changes nothing on disk", async () => {
    const before = await stateFiles();
    const r = await cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /already stored: nothing changed/);
    assert.match(r.stdout, /Not announced: no peers are routed/);
    assert.deepEqual(await stateFiles(), before);
  });

  test("verify-online: re-verifies every stored anchor and prints a table", async () => {
    const r = await cli("verify-online");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /namespace\s+batch\s+chain\s+tx\s+outcome\s+reason/);
    assert.match(r.stdout, /2 verified, 0 pending, 0 rejected/);
  });

  test("verify-online: a reorg that drops the EVM anchor rejects it, exits 1, and hands the win to the TSA anchor", async () => {
    await revertTo(anvil, snap);
    await mine(anvil, 5);
    const r = await cli("verify-online", "--namespace", NS, "--json");
    assert.equal(r.code, 1, r.stderr);
    const doc = JSON.parse(r.stdout);
    const evm = doc.anchors.find((a: { chain: string }) => a.chain.startsWith("eip155:"));
    assert.equal(evm.was, "verified");
    assert.equal(evm.outcome, "rejected");
    assert.match(evm.reason, /reorg|not found/);
    const ts = doc.anchors.find((a: { chain: string }) => a.chain.startsWith("rfc3161:"));
    assert.equal(ts.outcome, "verified");
    assert.equal(ts.superseded_by, undefined);
  });

  test("announce: an anchor on a chain with no configured verifier leaves the batch held (pending); nothing announced, exit 1", async () => {
    const s = await seal("b-0002", 2, () => [{ chain: "eip155:8453", tx: `0x${"11".repeat(32)}`, block: 7, ts: 1 }]);
    const r = await cli("announce", "--namespace", NS, "--batch", s.batchFile, "--receipts", s.receiptsDir, "--json");
    assert.equal(r.code, 1, r.stderr);
    const { report, notAnnounced } = JSON.parse(r.stdout);
    assert.equal(notAnnounced, "no anchor verified yet; serve announces the batch once one verifies");
    assert.equal(report.status, "held");
    assert.equal(report.anchors[0].reason, "no verifier configured for eip155:8453");
  });

  test("announce: a TSA token over another root is rejected and the command exits 1", async () => {
    const s = await seal("b-0003", 3, () => [tsaAnchor(`sha256:${"00".repeat(32)}`)]);
    const r = await cli("announce", "--namespace", NS, "--batch", s.batchFile, "--receipts", s.receiptsDir, "--json");
    assert.equal(r.code, 1);
    const { report, rejectedClaims } = JSON.parse(r.stdout);
    assert.equal(report.anchors[0].outcome, "rejected");
    assert.deepEqual(rejectedClaims, [`${report.anchors[0].chain}/${report.anchors[0].tx}`]);
    assert.equal(report.status, "held");
  });

  const broken: Array<[string, (s: Sealed) => Promise<void>, RegExp, number]> = [
    ["a root its leaves do not give", async (s) => {
      const b = JSON.parse(await readFile(s.batchFile, "utf8"));
      await writeFile(s.batchFile, JSON.stringify({ ...b, root: `sha256:${"ee".repeat(32)}` }));
    }, /batch b-bad says root sha256:e{64}, its leaves give sha256:[0-9a-f]{64}/, 1],
    ["a receipt with a forged path", async (s) => {
      const f = join(s.receiptsDir, "1.json");
      const r = JSON.parse(await readFile(f, "utf8"));
      r.path[0] = `sha256:${"ab".repeat(32)}`;
      await writeFile(f, JSON.stringify(r));
    }, /1\.json: path is not the inclusion path of leaf 1 in batch b-bad/, 1],
    ["a receipt with an index outside the batch", async (s) => {
      const f = join(s.receiptsDir, "0.json");
      await writeFile(f, JSON.stringify({ ...JSON.parse(await readFile(f, "utf8")), index: 4 }));
    }, /0\.json: index 4 disagrees with the batch/, 1],
    // A file that is not a sealer file at all is a usage error (exit 2), as a missing one is.
    ["a batch file that is not JSON", async (s) => writeFile(s.batchFile, "{ nope"), /batch\.json: not valid JSON/, 2],
    ["a batch file of another shape", async (s) => writeFile(s.batchFile, JSON.stringify({ id: "b-bad", root: 5 })), /batch\.json: /, 2],
    ["a receipt file that is not JSON", async (s) => writeFile(join(s.receiptsDir, "0.json"), "nope"), /0\.json: not valid JSON/, 2],
    ["a missing batch file", async (s) => rm(s.batchFile), /batch\.json: cannot be read: ENOENT/, 2],
  ];
  for (const [name, breakIt, message, code] of broken) {
    test(`announce: refuses ${name}, naming the file, and stores nothing`, async () => {
      const s = await seal("b-bad", 3, (r) => [tsaAnchor(r)]);
      await breakIt(s);
      const before = await stateFiles();
      const r = await cli("announce", "--namespace", NS, "--batch", s.batchFile, "--receipts", s.receiptsDir);
      assert.equal(r.code, code, r.stderr);
      assert.match(r.stderr, message);
      assert.deepEqual(await stateFiles(), before);
      await rm(s.dir, { recursive: true });
    });
  }

  test("announce: two different anchors under one (chain, tx) in the receipts are refused", async () => {
    const s = await seal("b-twice", 2, (r) => [tsaAnchor(r), tsaAnchor(r)], (i) => i);
    const r = await cli("announce", "--namespace", NS, "--batch", s.batchFile, "--receipts", s.receiptsDir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /1\.json: anchor rfc3161:vmsh-test\/tsa-1 differs from the one another receipt of batch b-twice carries/);
  });

  test("announce: an unconfigured namespace is a usage error (exit 2)", async () => {
    const r = await cli("announce", "--namespace", "dao:elsewhere", "--batch", sealed.batchFile);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--namespace: dao:elsewhere is not in federation\.yaml namespaces \(configured: dao:vaultmesh\)/);
  });
});
