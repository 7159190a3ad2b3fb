/**
 * Exit codes a CI script can trust (README "The command line"): nothing announced is 1, a
 * routed peer that does not answer makes `status` 1 and is named in its JSON, and a pending
 * anchor's reason is today's, not the one from before a verifier was configured.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import { readdir, readFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatKeyLine } from "../../lib/identity/did.js";
import { runCli } from "../support/cli.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { sealTsaBatch } from "../support/sealer.js";

const NS = "dao:vaultmesh";
let root: string;
let cfg: string;
let tsa: OpensslTsa;
const cli = (...args: string[]) => runCli(["--config", cfg, ...args], { timeoutMs: 60_000 });

/** A loopback port nothing listens on: bound, then closed. */
async function deadPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function stateFiles(): Promise<string[]> {
  const out: string[] = [];
  async function walk(d: string) {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (!e.name.endsWith(".lock")) out.push(`${p} ${await readFile(p, "utf8")}`);
    }
  }
  await walk(join(root, "state"));
  return out.sort();
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vmsh-exit-"));
  cfg = join(root, "config");
  tsa = createOpensslTsa();
  assert.equal((await cli("init", "--node-id", "did:vm:node:ci")).code, 0);
  await writeFile(join(cfg, "tsa-root.pem"), tsa.rootPem);
  await writeFile(join(cfg, "anchors.yaml"), "rfc3161:\n  trustBundle: tsa-root.pem\n");
});
after(async () => {
  tsa?.cleanup();
  await rm(root, { recursive: true, force: true });
});

describe("exit codes", () => {
  test("announce with another batch's receipts directory: nothing announced, exit 1, says why", async () => {
    const mine = await sealTsaBatch(join(root, "s"), "b-mine", 3, tsa);
    const other = await sealTsaBatch(join(root, "s"), "b-other", 3, tsa);
    const r = await cli("announce", "--namespace", NS, "--batch", mine.batchFile, "--receipts", other.receiptsDir, "--json");
    assert.equal(r.code, 1, r.stdout + r.stderr);
    const doc = JSON.parse(r.stdout) as { otherBatchFiles: number; notAnnounced?: string; report: { status: string } };
    assert.equal(doc.otherBatchFiles, 3);
    assert.equal(doc.report.status, "held");
    assert.equal(doc.notAnnounced, "no anchor verified yet; serve announces the batch once one verifies");
    const human = await cli("announce", "--namespace", NS, "--batch", mine.batchFile, "--receipts", other.receiptsDir);
    assert.equal(human.code, 1);
    assert.match(human.stdout, /3 receipt files in the directory belong to other batches/);
    assert.match(human.stdout, /Not announced: no anchor verified yet/);
  });

  test("announce: a missing, unreadable or malformed input file is a usage error (exit 2) and stores nothing", async () => {
    const s = await sealTsaBatch(join(root, "u"), "b-usage", 2, tsa);
    const before = await stateFiles();
    const missing = await cli("announce", "--namespace", NS, "--batch", join(root, "u", "nope.json"));
    assert.equal(missing.code, 2, missing.stderr);
    assert.match(missing.stderr, /nope\.json: cannot be read: ENOENT/);
    await writeFile(join(s.receiptsDir, "1.json"), "{ truncated");
    const malformed = await cli("announce", "--namespace", NS, "--batch", s.batchFile, "--receipts", s.receiptsDir, "--json");
    assert.equal(malformed.code, 2, malformed.stderr);
    assert.equal((JSON.parse(malformed.stdout) as { error: { code: string } }).error.code, "SEALER_FILE_INVALID");
    assert.match(malformed.stderr, /1\.json: not valid JSON/);
    await writeFile(s.batchFile, JSON.stringify({ id: "b-usage", leaves: "x" }));
    const shape = await cli("announce", "--namespace", NS, "--batch", s.batchFile);
    assert.equal(shape.code, 2, shape.stderr);
    assert.match(shape.stderr, /batch\.json: /);
    const dir = await cli("announce", "--namespace", NS, "--batch", join(root, "u"));
    assert.equal(dir.code, 2, dir.stderr);
    assert.deepEqual(await stateFiles(), before);
  });

  test("status: 1 when a routed peer does not answer, and --json names it; an unrouted one does not count", async () => {
    const key = formatKeyLine(new Uint8Array(32).fill(5));
    const key2 = formatKeyLine(new Uint8Array(32).fill(6));
    const [p1, p2] = [await deadPort(), await deadPort()];
    await writeFile(
      join(cfg, "peers.yaml"),
      `peers:\n  - { did: "did:vm:node:gone", url: "http://127.0.0.1:${p1}", roles: [announce, serve, request], keys: { verify: "${key}" } }\n  - { did: "did:vm:node:spare", url: "http://127.0.0.1:${p2}", roles: [request], keys: { verify: "${key2}" } }\n`,
    );
    const unrouted = await cli("status", "--json");
    assert.equal(unrouted.code, 0, unrouted.stdout + unrouted.stderr);
    assert.deepEqual((JSON.parse(unrouted.stdout) as { unreachable: string[] }).unreachable, []);
    const fed = join(cfg, "federation.yaml");
    const text = await readFile(fed, "utf8");
    await writeFile(fed, text.replace(/peers: \[\]/, 'peers: ["did:vm:node:gone"]'));
    try {
      const r = await cli("status", "--json");
      assert.equal(r.code, 1, r.stdout + r.stderr);
      const doc = JSON.parse(r.stdout) as { unreachable: string[]; peers: Array<{ did: string; reachable: boolean }> };
      assert.deepEqual(doc.unreachable, ["did:vm:node:gone"]);
      const human = await cli("status");
      assert.equal(human.code, 1);
      assert.match(human.stdout, /Unreachable routed peers: did:vm:node:gone/);
    } finally {
      await writeFile(fed, text);
      await writeFile(join(cfg, "peers.yaml"), "peers: []\n");
    }
  });

  test("verify-online: once a verifier is configured, a pending anchor no longer says 'no verifier configured'", async () => {
    const s = await sealTsaBatch(join(root, "v"), "b-evm", 2, tsa);
    // The receipts carry an EVM anchor instead; this node has no EVM verifier yet.
    const evm = { chain: "eip155:31337", contract: `0x${"42".repeat(20)}`, tx: `0x${"ab".repeat(32)}`, block: 9, ts: 1_760_000_100 };
    for (const name of await readdir(s.receiptsDir)) {
      const f = join(s.receiptsDir, name);
      await writeFile(f, JSON.stringify({ ...JSON.parse(await readFile(f, "utf8")), anchor: evm }));
    }
    const r = await cli("announce", "--namespace", NS, "--batch", s.batchFile, "--receipts", s.receiptsDir, "--json");
    assert.equal(r.code, 1, r.stderr);
    assert.equal((JSON.parse(r.stdout) as { report: { anchors: Array<{ reason?: string }> } }).report.anchors[0]!.reason, "no verifier configured for eip155:31337");
    const port = await deadPort();
    await writeFile(join(cfg, "anchors.yaml"), `eip155:\n  "31337": { rpcUrl: "http://127.0.0.1:${port}" }\nrfc3161:\n  trustBundle: tsa-root.pem\n`);
    const v = await cli("verify-online", "--namespace", NS, "--batch", "b-evm", "--json");
    assert.equal(v.code, 1, "the endpoint could not be asked");
    const row = (JSON.parse(v.stdout) as { anchors: Array<{ outcome: string; reason?: string; recheckFailed?: { reason: string } }> }).anchors[0]!;
    assert.equal(row.outcome, "pending");
    assert.doesNotMatch(row.reason ?? "", /no verifier configured/);
    assert.match(row.reason ?? "", new RegExp(`127\\.0\\.0\\.1:${port}`));
    const human = await cli("verify-online", "--namespace", NS, "--batch", "b-evm");
    assert.doesNotMatch(human.stdout, /no verifier configured/);
  });
});
