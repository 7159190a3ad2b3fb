import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Address } from "viem";
import { digestBytes } from "../../lib/digest.js";
import { inclusionProofs, merkleRoot } from "../../lib/merkle/index.js";
import { deployBatchAnchor, mine, sendAnchor, startAnvil, type AnvilNode } from "../support/anvil.js";
import { runCli } from "../support/cli.js";
import { waitUntil } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { startServe } from "../support/serve-process.js";

// docs/FEDERATION_SEMANTICS.md §9. Endpoint outages: an endpoint that cannot be asked changes no verdict.
const NS = "dao:vaultmesh";
let root: string;
let cfg: string;
let anvil: AnvilNode;
let contract: Address;
let tsa: OpensslTsa;

async function seal(id: string, anchors: (root: string) => Promise<Record<string, unknown>[]>): Promise<{ batchFile: string; receiptsDir: string }> {
  const leaves = Array.from({ length: 2 }, () => `sha256:${randomBytes(32).toString("hex")}`);
  const batchRoot = merkleRoot(leaves, "vmsh-dup-sha256");
  const dir = join(root, "sealer", id);
  const receiptsDir = join(dir, "receipts");
  await mkdir(receiptsDir, { recursive: true });
  const batchFile = join(dir, "batch.json");
  await writeFile(batchFile, JSON.stringify({ id, root: batchRoot, leaves, createdAt: 1_760_000_000 }));
  const proofs = inclusionProofs(leaves, "vmsh-dup-sha256");
  const list = await anchors(batchRoot);
  for (const [i, leaf] of leaves.entries()) {
    await writeFile(join(receiptsDir, `${i}.json`), JSON.stringify({ eventHash: leaf, batchRoot, path: proofs[i]!.path, anchor: list[i % list.length], verifier: "did:vm:node:sealer", integrity: "vmr1-test" }));
  }
  return { batchFile, receiptsDir };
}

const evm = async (batchRoot: string, batchId: string) => {
  const sent = await sendAnchor(anvil, { contract, root: batchRoot, batchId });
  return { chain: `eip155:${anvil.chainId}`, contract, tx: sent.tx, block: sent.block, ts: 1_760_000_100 };
};
const tsaAnchor = (batchRoot: string) => ({ chain: "rfc3161:vmsh-test", tx: "tsa-1", block: 0, ts: 1_760_000_050, sig: Buffer.from(tsa.mint(digestBytes(batchRoot))).toString("base64") });
const cli = (...args: string[]) => runCli(["--config", cfg, ...args], { timeoutMs: 60_000 });

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vmsh-outage-"));
  cfg = join(root, "config");
  [anvil, tsa] = await Promise.all([startAnvil(), Promise.resolve(createOpensslTsa())]);
  contract = await deployBatchAnchor(anvil);
  assert.equal((await cli("init", "--node-id", "did:vm:node:auditor", "--listen", "127.0.0.1:0")).code, 0);
  const fed = join(cfg, "federation.yaml");
  await writeFile(fed, (await readFile(fed, "utf8")).replace("evm_confirmations: 12", "evm_confirmations: 3").replace(/interval_s: \d+/, "interval_s: 1"));
  await writeFile(join(cfg, "tsa-root.pem"), tsa.rootPem);
  await writeFile(join(cfg, "anchors.yaml"), `eip155:\n  "${anvil.chainId}": { rpcUrl: "${anvil.rpcUrl}", contract: "${contract}" }\nrfc3161:\n  trustBundle: tsa-root.pem\n`);
});
after(async () => {
  await anvil?.stop();
  tsa?.cleanup();
  await rm(root, { recursive: true, force: true });
});

describe("outage: an unreachable EVM endpoint changes no verdict and no winner", () => {
  let countsBefore: unknown;

  test("setup: b-0001 verified on EVM (winner) and TSA; b-0002 pending on EVM", async () => {
    const b1 = await seal("b-0001", async (r) => [await evm(r, "b-0001"), tsaAnchor(r)]);
    await mine(anvil, 3);
    // A lone node stores and verifies, and exits 1 for having announced to no one (README "The command line").
    let r = await cli("announce", "--namespace", NS, "--batch", b1.batchFile, "--receipts", b1.receiptsDir, "--json");
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stdout, /no peers are routed/);
    assert.match(JSON.parse(r.stdout).report.winner, /^eip155:/);
    const b2 = await seal("b-0002", async (r2) => [await evm(r2, "b-0002")]);
    r = await cli("announce", "--namespace", NS, "--batch", b2.batchFile, "--receipts", b2.receiptsDir, "--json");
    assert.equal(r.code, 1, r.stderr);
    r = await cli("verify-online", "--json");
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.equal(JSON.parse(r.stdout).notRechecked, 0);
    countsBefore = JSON.parse((await cli("status", "--json")).stdout).counts;
    assert.deepEqual((countsBefore as { anchors: unknown }).anchors, { verified: 2, pending: 1, rejected: 0 });
  });

  test("verify-online with anvil stopped: exit 1, verdicts and winner kept, each unchecked anchor named", async () => {
    await anvil.stop();
    const r = await cli("verify-online", "--batch", "b-0001", "--json");
    assert.equal(r.code, 1, r.stderr + r.stdout);
    const doc = JSON.parse(r.stdout);
    const e = doc.anchors.find((a: { chain: string }) => a.chain.startsWith("eip155:"));
    const t = doc.anchors.find((a: { chain: string }) => a.chain.startsWith("rfc3161:"));
    assert.equal(e.was, "verified");
    assert.equal(e.outcome, "verified");
    assert.match(e.recheckFailed.reason, /EVM endpoint .* failed/);
    assert.equal(typeof e.recheckFailed.at, "number");
    assert.equal(t.outcome, "verified");
    assert.equal(t.superseded_by, `eip155:${anvil.chainId}/${e.tx}`, "the EVM anchor still wins");
    assert.equal(doc.notRechecked, 1);
    assert.deepEqual(JSON.parse((await cli("status", "--json")).stdout).counts, countsBefore);
  });

  test("verify-online (table): says which anchor was not re-checked and why", async () => {
    const r = await cli("verify-online");
    assert.equal(r.code, 1);
    assert.match(r.stdout, /not re-checked: dao:vaultmesh batch b-0001 eip155:\d+ 0x[0-9a-f]+ keeps "verified"; last re-check failed at \d{4}-\d\d-\d\dT[^:]+:\d\d:\d\d\.\d+Z: EVM endpoint/);
    assert.match(r.stdout, /not re-checked: dao:vaultmesh batch b-0002 eip155:\d+ 0x[0-9a-f]+ keeps "pending"/);
    assert.deepEqual(JSON.parse((await cli("status", "--json")).stdout).counts, countsBefore);
  });

  test("serve: each failed re-check of the pending anchor is counted in /metrics, logged once per window", async () => {
    const s = await startServe(["--config", cfg, "serve", "--log-format", "json"]);
    try {
      const errors = async () => {
        const text = await (await fetch(`${s.url}/metrics`)).text();
        return Number(/vmsh_federation_verify_errors_total\{rail="eip155",reason="unreachable"\} (\d+)/.exec(text)?.[1] ?? 0);
      };
      await waitUntil(async () => (await errors()) >= 2, 30_000, "two failed re-checks counted");
      const logged = s.stderr().split("\n").filter((l) => l.includes("anchor re-check failed"));
      assert.equal(logged.length, 1, s.stderr());
      const line = JSON.parse(logged[0]!);
      assert.equal(line.level, "warn");
      assert.equal(line.batch, "b-0002");
      assert.equal(line.kept, "pending");
      assert.match(line.error, /EVM endpoint/);
    } finally {
      assert.equal(await s.stop(), 0);
    }
    assert.deepEqual(JSON.parse((await cli("status", "--json")).stdout).counts, countsBefore);
  });
});
