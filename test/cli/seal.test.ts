/**
 * `vmsh-federation seal` (docs/FEDERATION_SEMANTICS.md §The sealer's files, docs/ANCHORS.md
 * §Sealing with a TSA): upstream's file shapes under both tree rules, a root stamped by a real
 * openssl TSA over HTTP on loopback, `announce` taking the result, and every refusal leaving
 * nothing behind.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createServer } from "node:net";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestBytes } from "../../lib/digest.js";
import { merkleRoot, verifyInclusion } from "../../lib/merkle/index.js";
import { runCli } from "../support/cli.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { serveTsa, type HttpTsa } from "../support/tsa-http.js";

const NS = "dao:vaultmesh";
let root: string;
let cfg: string;
let tsa: OpensslTsa;
let http: HttpTsa;
const cli = (...args: string[]) => runCli(["--config", cfg, ...args], { cwd: root, timeoutMs: 60_000 });
const sha = (text: string) => `sha256:${createHash("sha256").update(text).digest("hex")}`;

async function tree(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) if (e.isFile()) out.push(join(e.parentPath, e.name));
  return out.sort();
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vmsh-seal-"));
  cfg = join(root, "config");
  tsa = createOpensslTsa();
  http = await serveTsa(tsa);
  assert.equal((await cli("init", "--node-id", "did:vm:node:sealer")).code, 0);
  await writeFile(join(cfg, "tsa-root.pem"), tsa.rootPem);
  await writeFile(join(cfg, "anchors.yaml"), "rfc3161:\n  trustBundle: tsa-root.pem\n");
  await mkdir(join(root, "notes"));
  for (const n of ["a", "b", "c"]) await writeFile(join(root, "notes", `${n}.txt`), `note ${n}\n`);
});
after(async () => {
  await http?.close();
  tsa?.cleanup();
  await rm(root, { recursive: true, force: true });
});

describe("seal", () => {
  test("seal: files and --tsa make upstream's batch and receipt files, rfc9162-sha256, stamped by the TSA over HTTP", async () => {
    const asked = http.requests;
    const r = await cli("seal", "--tsa", http.url, "--id", "b-files", "--json", "notes/a.txt", "notes/b.txt", "notes/c.txt");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(http.requests, asked + 1, "one query");
    const doc = JSON.parse(r.stdout) as { batchFile: string; receiptsDir: string; tree: string; root: string; anchor: { chain: string } };
    assert.equal(doc.batchFile, join(root, "sealer", "batches", "b-files.json"));
    assert.equal(doc.receiptsDir, join(root, "sealer", "receipts", "b-files"));
    const batch = JSON.parse(await readFile(doc.batchFile, "utf8")) as Record<string, unknown>;
    assert.deepEqual(Object.keys(batch), ["id", "root", "leaves", "createdAt"], "upstream's batch file shape, nothing added");
    const leaves = ["a", "b", "c"].map((n) => sha(`note ${n}\n`));
    assert.deepEqual(batch.leaves, leaves);
    assert.equal(batch.root, merkleRoot(leaves, "rfc9162-sha256"));
    assert.equal(doc.tree, "rfc9162-sha256");
    const names = (await readdir(doc.receiptsDir)).sort();
    assert.deepEqual(names, ["0000.json", "0001.json", "0002.json"]);
    for (const [i, name] of names.entries()) {
      const receipt = JSON.parse(await readFile(join(doc.receiptsDir, name), "utf8")) as Record<string, any>;
      assert.deepEqual(Object.keys(receipt), ["eventHash", "batchRoot", "path", "index", "anchor", "verifier", "integrity"]);
      assert.equal(receipt.index, i);
      assert.equal(verifyInclusion({ id: leaves[i]!, namespace: NS, batchId: "b-files", ts: 1, eventHash: leaves[i]!, batchRoot: batch.root as string, proof: { tree: "rfc9162-sha256", index: i, size: 3, path: receipt.path } }).ok, true);
      // upstream's tsaWriter: chain, tx, block 0, ts = genTime, the whole TimeStampResp, memo "".
      assert.deepEqual(Object.keys(receipt.anchor), ["chain", "tx", "block", "ts", "sig", "memo"]);
      assert.deepEqual([receipt.anchor.chain, receipt.anchor.tx, receipt.anchor.block, receipt.anchor.memo], ["rfc3161:tsa", "tsq:request.tsq", 0, ""]);
      assert.equal(receipt.verifier, "did:vm:arbiter:local-sealer");
      assert.equal(receipt.integrity, `vmr1-b-files-${name.slice(0, 4)}`);
    }
    // openssl itself agrees that the token stamps the 32 raw root bytes (docs/ANCHORS.md: the root hashed once more).
    const first = JSON.parse(await readFile(join(doc.receiptsDir, "0000.json"), "utf8")) as { anchor: { sig: string; ts: number } };
    await writeFile(join(root, "root.bin"), digestBytes(batch.root as string));
    await writeFile(join(root, "resp.tsr"), Buffer.from(first.anchor.sig, "base64"));
    await writeFile(join(root, "issuing.pem"), tsa.issuingPem);
    await writeFile(join(root, "ca.pem"), tsa.rootPem);
    const verified = execFileSync("openssl", ["ts", "-verify", "-data", join(root, "root.bin"), "-in", join(root, "resp.tsr"), "-CAfile", join(root, "ca.pem"), "-untrusted", join(root, "issuing.pem")], { encoding: "utf8" });
    assert.match(verified, /Verification: OK/);
    assert.ok(Math.abs(first.anchor.ts - Math.floor(Date.now() / 1000)) < 3600, "ts is the token's genTime");

    // announce takes it: the TSA anchor verifies with this node's trust bundle and the batch is active.
    const a = await cli("announce", "--namespace", NS, "--batch", doc.batchFile, "--receipts", doc.receiptsDir, "--json");
    const rep = JSON.parse(a.stdout) as { report: { status: string; receiptsStored: number; anchors: Array<{ chain: string; outcome: string }> }; notAnnounced?: string };
    assert.equal(rep.report.status, "active", a.stdout + a.stderr);
    assert.equal(rep.report.receiptsStored, 3);
    assert.deepEqual(rep.report.anchors.map((x) => [x.chain, x.outcome]), [["rfc3161:tsa", "verified"]]);
    assert.equal(a.code, 1, "stored and verified; no peer is routed here, so nothing was announced");
  });

  test("seal: --event-hash with --tree vmsh-dup-sha256 writes the upstream sealer's own rule (no index), and announce takes it", async () => {
    const hashes = [sha("x"), sha("y"), sha("z")];
    const r = await cli("seal", "--tree", "vmsh-dup-sha256", "--tsa", http.url, "--tsa-name", "local", "--out", "out2", "--id", "b-dup", "--event-hash", hashes[0]!, hashes[1]!.slice(7), "--event-hash", hashes[2]!);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /vmsh-dup-sha256 has the duplicate-last-node ambiguity/);
    assert.match(r.stdout, /vmsh-federation announce --namespace <ns> --batch out2\/batches\/b-dup\.json --receipts out2\/receipts\/b-dup/);
    const batch = JSON.parse(await readFile(join(root, "out2", "batches", "b-dup.json"), "utf8")) as { root: string; leaves: string[] };
    assert.deepEqual(batch.leaves, hashes);
    assert.equal(batch.root, merkleRoot(hashes, "vmsh-dup-sha256"));
    const receipt = JSON.parse(await readFile(join(root, "out2", "receipts", "b-dup", "0002.json"), "utf8")) as Record<string, any>;
    assert.deepEqual(Object.keys(receipt), ["eventHash", "batchRoot", "path", "anchor", "verifier", "integrity"], "exactly what upstream's sealer writes");
    assert.equal(receipt.anchor.chain, "rfc3161:local");
    const a = await cli("announce", "--namespace", NS, "--batch", "out2/batches/b-dup.json", "--receipts", "out2/receipts/b-dup", "--json");
    assert.equal((JSON.parse(a.stdout) as { report: { status: string } }).report.status, "active", a.stdout + a.stderr);
  });

  test("seal: without --tsa every receipt carries the sealer's placeholder; announce holds the batch", async () => {
    const r = await cli("seal", "--out", "out3", "--id", "b-bare", "notes/a.txt");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /none yet \(the sealer's vm:internal placeholder\)/);
    const receipt = JSON.parse(await readFile(join(root, "out3", "receipts", "b-bare", "0000.json"), "utf8")) as { anchor: unknown };
    const batch = JSON.parse(await readFile(join(root, "out3", "batches", "b-bare.json"), "utf8")) as { createdAt: number };
    assert.deepEqual(receipt.anchor, { chain: "vm:internal", tx: "batch:b-bare", block: 0, ts: batch.createdAt });
    const a = await cli("announce", "--namespace", NS, "--batch", "out3/batches/b-bare.json", "--receipts", "out3/receipts/b-bare", "--json");
    assert.equal(a.code, 1);
    const doc = JSON.parse(a.stdout) as { placeholderReceipts: number; report: { status: string } };
    assert.deepEqual([doc.placeholderReceipts, doc.report.status], [1, "held"]);
  });

  test("seal: a TSA that fails, answers 500, or stamps something else writes nothing (exit 1)", async () => {
    const before = await tree(join(root, "out4"));
    http.mode = "http-500";
    const busy = await cli("seal", "--out", "out4", "--id", "b-f1", "--tsa", http.url, "notes/a.txt");
    assert.equal(busy.code, 1, busy.stderr);
    assert.match(busy.stderr, /--tsa http:\/\/127\.0\.0\.1:\d+\/tsr: answered HTTP 500, not a time-stamp response/);
    http.mode = "other-imprint";
    const other = await cli("seal", "--out", "out4", "--id", "b-f2", "--tsa", http.url, "notes/a.txt", "--json");
    assert.equal(other.code, 1, other.stderr);
    assert.equal((JSON.parse(other.stdout) as { error: { code: string } }).error.code, "TSA_FAILED");
    assert.match(other.stderr, /the token stamps sha256:[0-9a-f]{64}, not sha256\(root bytes\)/);
    http.mode = "honest";
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as { port: number }).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const gone = await cli("seal", "--out", "out4", "--id", "b-f3", "--tsa", `http://127.0.0.1:${port}/tsr`, "notes/a.txt");
    assert.equal(gone.code, 1, gone.stderr);
    assert.match(gone.stderr, /cannot be reached: ECONNREFUSED/);
    assert.deepEqual(await tree(join(root, "out4")), before);
  });

  test("seal: usage mistakes exit 2 and write nothing", async () => {
    const cases: Array<[string[], RegExp]> = [
      [[], /nothing to seal/],
      [["notes/missing.txt"], /notes\/missing\.txt: cannot be read: ENOENT/],
      [["notes"], /notes: cannot be read: EISDIR/],
      [["--event-hash", "sha256:xyz"], /--event-hash: expected sha256:<64 hex digits>/],
      [["notes/a.txt", "--event-hash", sha("note a\n")], /event 1: sha256:[0-9a-f]{64} is also event 0/],
      [["--tree", "sha1", "notes/a.txt"], /--tree: expected vmsh-dup-sha256 or rfc9162-sha256/],
      [["--id", "../x", "notes/a.txt"], /id: expected a batch id/],
      [["--id", "b-files", "--out", "sealer", "notes/a.txt"], /batch b-files is sealed; give another --id/],
    ];
    for (const [args, message] of cases) {
      const before = await tree(join(root, "out5"));
      const r = await cli("seal", ...(args.includes("--out") ? [] : ["--out", "out5"]), ...args);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(" "));
      assert.deepEqual(await tree(join(root, "out5")), before, args.join(" "));
    }
  });

  test("seal --help teaches with an example", async () => {
    const r = await runCli(["seal", "--help"]);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /Example:\n\s+\$ vmsh-federation seal --tsa \S+ /);
    assert.match(r.stdout, /\$ vmsh-federation announce --namespace dao:vaultmesh/);
    const top = await runCli(["--help"]);
    assert.match(top.stdout, /^\s+seal \[options\] \[files\.\.\.\]/m);
  });
});
