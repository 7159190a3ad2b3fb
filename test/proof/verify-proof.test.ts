/**
 * Proof files version 2 end to end (docs/EXPLORER.md §Proof files, §Trust files): three real
 * `serve` processes, each with its own state and each a witness (k = 2), export a proof of a
 * batch sealed on a with an openssl-minted token; the real CLI checks it with a node's own
 * configuration and with only a trust file. The forgeries that 0.2.0's `verify-proof` printed
 * as "proof verified" (a relabelled receipt, an interior node as the event of a 2-leaf batch,
 * the root as the only event of a 1-leaf batch) are refused, as are flipped bytes, a version 1
 * file, a wrong origin key and too few cosignatures under --require-final.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatKeyLine } from "../../lib/identity/did.js";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { merkleRoot } from "../../lib/merkle/index.js";
import { parseProofFile } from "../../lib/proof/file.js";
import { trustPolicy } from "../../lib/proof/trust.js";
import { verifyProof, type AnchorCheck } from "../../lib/proof/verify.js";
import { verifyTsaAnchor } from "../../lib/anchors/tsa/verify-anchor.js";
import { runCli, type CliResult } from "../support/cli.js";
import { startMesh, waitUntil, MESH_NAMESPACE as NS, type Mesh } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { sealTsaBatch, type SealedFiles } from "../support/sealer.js";

const NAMES = ["a", "b", "c"];
const did = (n: string) => `did:vm:node:${n}`;

let tsa: OpensslTsa;
let mesh: Mesh;
let sealed: SealedFiles;
/** A directory with no node configuration: where the third party works. */
let outside: string;
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- proof files are edited member by member below
let genuine: any;
let genuineFile: string;
let trustFileA: string;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function writeProof(name: string, proof: any): Promise<string> {
  const file = join(outside, name);
  await writeFile(file, typeof proof === "string" ? proof : JSON.stringify(proof));
  return file;
}

/** The real CLI as a stranger runs it: in a directory without configuration, with only --trust. */
const stranger = (...args: string[]): Promise<CliResult> => runCli(args, { cwd: outside, timeoutMs: 60_000 });

before(async () => {
  tsa = createOpensslTsa();
  outside = await mkdtemp(join(tmpdir(), "vmsh-stranger-"));
  mesh = await startMesh(
    NAMES.map((n) => ({ name: n, routes: NAMES.filter((x) => x !== n) })),
    { trustPem: tsa.rootPem, witnesses: NAMES },
  );
  for (const n of NAMES) await mesh.setQuorum(n, { k: 2, witnesses: NAMES.map(did) });
  sealed = await sealTsaBatch(join(mesh.root, "sealer"), "b-0001", 4, tsa);
  const r = await mesh.node("a").cli("announce", "--namespace", NS, "--batch", sealed.batchFile, "--receipts", sealed.receiptsDir);
  assert.equal(r.code, 0, r.stderr);
  // c, a node that is not the origin, serves the proof once it holds the three cosignatures.
  const c = mesh.node("c");
  const url = `${c.url}/api/v1/receipts/${sealed.leaves[0]}/proof`;
  await waitUntil(
    async () => {
      const res = await fetch(url);
      if (res.status !== 200) return false;
      genuine = await res.json();
      // b and c cosign a's log head too: wait for the log part, so that every test sees one file.
      return genuine.cosignatures.length === 3 && genuine.log !== undefined;
    },
    90_000,
    "c to serve a proof with three cosignatures and a's witnessed log inclusion",
  );
  genuineFile = await writeProof("genuine.json", genuine);
  const t = await mesh.node("a").cli("trust", "export", "--namespace", NS);
  assert.equal(t.code, 0, t.stderr);
  trustFileA = join(outside, "trust-a.json");
  await writeFile(trustFileA, t.stdout);
});

after(async () => {
  await mesh?.stop();
  tsa?.cleanup();
  if (outside !== undefined) await rm(outside, { recursive: true, force: true });
});

describe("proof file v2: what the explorer serves", () => {
  test("export: the API answers a version 2 file binding a's signed checkpoint and the witnesses' cosignatures of it", () => {
    assert.equal(genuine.type, "vmsh-proof");
    assert.equal(genuine.v, 2);
    assert.equal(genuine.exportedBy, did("c"));
    assert.equal(genuine.checkpoint.origin, did("a"));
    assert.equal(genuine.checkpoint.size, 4);
    assert.equal(genuine.checkpoint.batchRoot, sealed.root);
    assert.deepEqual(genuine.cosignatures.map((x: { signer: string }) => x.signer).sort(), NAMES.map(did));
    assert.equal(genuine.anchors.length, 1);
    // The checkpoint's inclusion in a's witnessed log head (test/proof/log-proof.test.ts checks it in depth).
    assert.deepEqual(Object.keys(genuine.log).sort(), ["head", "index", "proof"]);
    assert.equal(genuine.log.index, 0);
  });

  test("trust export: a versioned file of public keys and certificates, only for the namespace asked", async () => {
    const t = JSON.parse(await readFile(trustFileA, "utf8"));
    assert.equal(t.type, "vmsh-trust");
    assert.equal(t.v, 1);
    assert.equal(t.exportedBy, did("a"));
    assert.deepEqual(t.namespaces.map((n: { name: string }) => n.name), [NS]);
    const ns = t.namespaces[0];
    assert.deepEqual(ns.origins.map((o: { did: string }) => o.did), [did("a"), did("b"), did("c")]);
    assert.equal(ns.origins[0].key, mesh.node("a").verifyKey);
    assert.equal(ns.quorum.k, 2);
    assert.deepEqual(ns.quorum.witnesses.map((w: { did: string }) => w.did), NAMES.map(did));
    assert.match(t.tsa.trustBundle, /BEGIN CERTIFICATE/);
    assert.doesNotMatch(await readFile(trustFileA, "utf8"), /PRIVATE KEY/);
    const unknown = await mesh.node("a").cli("trust", "export", "--namespace", "dao:elsewhere");
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /--namespace: dao:elsewhere is not in federation.yaml/);
  });
});

describe("verify-proof: a genuine file", () => {
  test("with a node's configuration: exit 0, the checkpoint's facts, final 2 of 3, the exporter unverified", async () => {
    const r = await mesh.node("b").cli("verify-proof", genuineFile, "--require-final");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /checkpoint: signed by a trusted origin/);
    assert.match(r.stdout, /inclusion: proof recomputes the checkpoint's batch root/);
    assert.match(r.stdout, /quorum: final \(3 of 3, k = 2/);
    assert.match(r.stdout, /log: logged and witnessed: leaf 0 of the head of size 1 of vmsh-federation\/log\/did:vm:node:a/);
    assert.match(r.stdout, new RegExp(`origin\\s+${did("a")}`));
    assert.match(r.stdout, /leaf\s+0 of 4 \(vmsh-dup-sha256\)/);
    assert.match(r.stdout, /exported by did:vm:node:c .*\(unverified: a label of the file, not checked\)/);
    assert.match(r.stdout, /proof verified$/m);
  });

  test("a third party with only the proof file and the trust file, every node stopped: exit 0 offline", async () => {
    // Run last in spirit: the nodes are stopped here and not restarted.
    for (const n of NAMES) await mesh.node(n).stop();
    const r = await stranger("verify-proof", "genuine.json", "--trust", "trust-a.json", "--require-final", "--json");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const v = JSON.parse(r.stdout);
    assert.equal(v.ok, true);
    assert.equal(v.final, true);
    assert.deepEqual(v.anchors.map((a: { outcome: string }) => a.outcome), ["verified"]);
    assert.equal(v.facts.origin, did("a"));
    assert.equal(v.facts.size, 4);
    assert.deepEqual(v.exportedBy, { did: did("c"), at: genuine.exportedAt, verified: false });
    // Without --trust and without a configuration there is no policy: exit 2, nothing checked.
    const none = await stranger("verify-proof", "genuine.json");
    assert.equal(none.code, 2, none.stdout + none.stderr);
  });
});

describe("verify-proof: the forgeries 0.2.0 accepted are refused", () => {
  test("a receipt relabelled into another namespace, batch id and exporter: exit 1 at step 2", async () => {
    const p = structuredClone(genuine);
    p.receipt.namespace = "dao:elsewhere";
    p.receipt.batchId = "b-9999";
    p.exportedBy = "did:vm:node:mallory";
    const r = await stranger("verify-proof", await writeProof("relabelled.json", p), "--trust", "trust-a.json");
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /proof NOT verified: receipt: the receipt's namespace "dao:elsewhere" is not the checkpoint's "dao:vaultmesh"/);
    const batchOnly = structuredClone(genuine);
    batchOnly.receipt.batchId = "b-9999";
    const b = await stranger("verify-proof", await writeProof("rebatched.json", batchOnly), "--trust", "trust-a.json");
    assert.equal(b.code, 1, b.stdout);
    assert.match(b.stdout, /proof NOT verified: receipt: the receipt's batch id "b-9999" is not the checkpoint's "b-0001"/);
  });

  test("relabelling the checkpoint to match breaks the origin's signature", async () => {
    const p = structuredClone(genuine);
    p.receipt.batchId = p.checkpoint.batchId = "b-9999";
    const r = await stranger("verify-proof", await writeProof("recheckpointed.json", p), "--trust", "trust-a.json");
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /proof NOT verified: checkpoint: checkpoint of b-9999 by did:vm:node:a: /);
  });

  test("another exporter's name alone changes no fact: it is shown as unverified", async () => {
    const p = structuredClone(genuine);
    p.exportedBy = "did:vm:node:mallory";
    const r = await stranger("verify-proof", await writeProof("mallory.json", p), "--trust", "trust-a.json");
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /exported by did:vm:node:mallory .*\(unverified/);
    assert.match(r.stdout, new RegExp(`origin\\s+${did("a")}`));
  });

  test("an interior node shown as the event of a 2-leaf batch: exit 1, the origin signed 4 leaves", async () => {
    const [l0, l1] = sealed.leaves;
    const interior = merkleRoot([l0!, l1!], "vmsh-dup-sha256");
    const p = structuredClone(genuine);
    p.receipt.id = p.receipt.eventHash = interior;
    p.receipt.proof = { tree: "vmsh-dup-sha256", index: 0, size: 2, path: [genuine.receipt.proof.path[1]] };
    const r = await stranger("verify-proof", await writeProof("interior.json", p), "--trust", "trust-a.json");
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /proof NOT verified: receipt: the receipt's batch size 2 is not the checkpoint's 4/);
  });

  test("the batch root shown as the only event of a 1-leaf batch: exit 1", async () => {
    const p = structuredClone(genuine);
    p.receipt.id = p.receipt.eventHash = sealed.root;
    p.receipt.proof = { tree: "vmsh-dup-sha256", index: 0, size: 1, path: [] };
    const r = await stranger("verify-proof", await writeProof("root.json", p), "--trust", "trust-a.json");
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /proof NOT verified: receipt: the receipt's batch size 1 is not the checkpoint's 4/);
  });
});

describe("verify-proof: altered files, other versions, other policies", () => {
  test("a flipped byte in the checkpoint, its signature, the receipt or the token: exit 1 naming the step", async () => {
    const cases: Array<[string, (p: typeof genuine) => void, RegExp]> = [
      ["checkpoint createdAt", (p) => (p.checkpoint.createdAt += 1), /checkpoint: checkpoint of b-0001 by did:vm:node:a: /],
      ["checkpoint signature", (p) => (p.checkpoint.sig = flipChar(p.checkpoint.sig, p.checkpoint.sig.length - 5)), /checkpoint: /],
      ["receipt path", (p) => (p.receipt.proof.path[0] = flipChar(p.receipt.proof.path[0], 20)), /inclusion: proof does not recompute batchRoot/],
      ["token", (p) => (p.anchors[0].sig = flipBase64Byte(p.anchors[0].sig, 200)), /anchors: no anchor over sha256:[0-9a-f]{64} verified here/],
    ];
    for (const [what, alter, want] of cases) {
      const p = structuredClone(genuine);
      alter(p);
      const r = await stranger("verify-proof", await writeProof(`flipped-${what.replace(/ /g, "-")}.json`, p), "--trust", "trust-a.json");
      assert.equal(r.code, 1, `${what}: ${r.stdout}`);
      assert.match(r.stdout, new RegExp(`proof NOT verified: ${want.source}`), what);
    }
  });

  test("every byte of the checkpoint, the receipt's path and the token flipped in turn: never verified", async () => {
    const policy = trustPolicy(JSON.parse(await readFile(trustFileA, "utf8")));
    const check: AnchorCheck = async (anchor, root) => {
      const r = await verifyTsaAnchor(anchor, root, { trustPem: policy.tsa!.trustPem!, tsas: policy.tsa!.tsas, inline: true });
      return r.reason === undefined ? { outcome: r.outcome } : { outcome: r.outcome, reason: r.reason };
    };
    assert.equal((await verifyProof(parseProofFile(structuredClone(genuine)), policy, check)).ok, true);
    const text = JSON.stringify(genuine);
    const spans = [JSON.stringify(genuine.checkpoint), JSON.stringify(genuine.receipt.proof.path), JSON.stringify(genuine.anchors[0].sig).slice(0, 600)];
    let tried = 0;
    for (const span of spans) {
      const at = text.indexOf(span);
      for (let i = at; i < at + span.length; i++) {
        const flipped = text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ 1) + text.slice(i + 1);
        let json: unknown;
        try {
          json = JSON.parse(flipped);
        } catch {
          continue;
        }
        let proof;
        try {
          proof = parseProofFile(json);
        } catch {
          continue;
        }
        tried++;
        const v = await verifyProof(proof, policy, check);
        // A flip inside base64 padding bits may leave the token's bytes unchanged; everything else must fail.
        if (v.ok) assert.equal(Buffer.from(proof.anchors[0]!.sig!, "base64").equals(Buffer.from(genuine.anchors[0].sig, "base64")) && JSON.stringify(proof.checkpoint) === JSON.stringify(genuine.checkpoint) && JSON.stringify(proof.receipt.proof.path) === JSON.stringify(genuine.receipt.proof.path), true, `flip at ${i} verified`);
      }
    }
    assert.ok(tried > 300, `only ${tried} flips parsed`);
  });

  test("a version 1 file is refused: it binds no origin", async () => {
    const { checkpoint: _c, cosignatures: _s, ...rest } = genuine;
    const r = await stranger("verify-proof", await writeProof("v1.json", { ...rest, v: 1 }), "--trust", "trust-a.json");
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /version 1 proof file: it binds no origin checkpoint/);
    assert.match(r.stdout, /proof NOT verified/);
  });

  test("a log part of another shape is refused as a file, naming the member", async () => {
    const r = await stranger("verify-proof", await writeProof("log.json", { ...genuine, log: { tree: 7 } }), "--trust", "trust-a.json");
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /proof NOT verified: file: proof\.log: unknown member "tree"/);
  });

  test("a trust file with another key for the origin, or without the origin: exit 1 at step 1", async () => {
    const t = JSON.parse(await readFile(trustFileA, "utf8"));
    t.namespaces[0].origins[0].key = formatKeyLine(generateNodeKey().publicKeyBytes);
    await writeFile(join(outside, "trust-wrong-key.json"), JSON.stringify(t));
    const r = await stranger("verify-proof", "genuine.json", "--trust", "trust-wrong-key.json");
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.stdout, /proof NOT verified: checkpoint: checkpoint of b-0001 by did:vm:node:a: /);
    t.namespaces[0].origins.shift();
    await writeFile(join(outside, "trust-no-origin.json"), JSON.stringify(t));
    const n = await stranger("verify-proof", "genuine.json", "--trust", "trust-no-origin.json");
    assert.equal(n.code, 1, n.stdout);
    assert.match(n.stdout, /proof NOT verified: checkpoint: checkpoint signer did:vm:node:a is not an origin of dao:vaultmesh/);
  });

  test("cosignatures below k: verified, but --require-final exits 1", async () => {
    const p = structuredClone(genuine);
    p.cosignatures = p.cosignatures.slice(0, 1);
    await writeProof("one-cosigner.json", p);
    const plain = await stranger("verify-proof", "one-cosigner.json", "--trust", "trust-a.json");
    assert.equal(plain.code, 0, plain.stdout);
    assert.match(plain.stdout, /quorum: not final: 1 of the 2 witnesses needed cosigned this checkpoint/);
    const strict = await stranger("verify-proof", "one-cosigner.json", "--trust", "trust-a.json", "--require-final");
    assert.equal(strict.code, 1, strict.stdout);
    assert.match(strict.stdout, /proof verified but NOT final \(--require-final\)/);
    // A cosignature copied onto another witness's name does not count: its signature fails.
    p.cosignatures = [genuine.cosignatures[0], { ...genuine.cosignatures[0], signer: genuine.cosignatures.find((x: { signer: string }) => x.signer !== genuine.cosignatures[0].signer).signer }];
    const copied = await stranger("verify-proof", await writeProof("copied-cosigner.json", p), "--trust", "trust-a.json", "--require-final", "--json");
    assert.equal(copied.code, 1, copied.stdout);
    assert.equal(JSON.parse(copied.stdout).quorum.ignored[0].reason, "its signature does not verify with the trust policy's key");
  });

  test("an unreadable proof or trust file exits 2; a trust file that is not one exits 2", async () => {
    const missing = await stranger("verify-proof", "absent.json", "--trust", "trust-a.json");
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /proof file absent.json cannot be read: ENOENT/);
    const noTrust = await stranger("verify-proof", "genuine.json", "--trust", "absent-trust.json");
    assert.equal(noTrust.code, 2);
    assert.match(noTrust.stderr, /--trust absent-trust.json cannot be read: ENOENT/);
    await writeFile(join(outside, "not-trust.json"), JSON.stringify({ type: "vmsh-trust", v: 2 }));
    const bad = await stranger("verify-proof", "genuine.json", "--trust", "not-trust.json");
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--trust not-trust.json is not a trust file: trust: unknown member|trust.v: expected 1/);
  });
});

function flipChar(s: string, i: number): string {
  const alphabet = /[0-9a-f]/.test(s[i]!) && !/[g-zA-Z_-]/.test(s[i]!) ? "0123456789abcdef" : "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  const next = alphabet[(alphabet.indexOf(s[i]!) + 1) % alphabet.length]!;
  return s.slice(0, i) + next + s.slice(i + 1);
}

function flipBase64Byte(b64: string, byte: number): string {
  const bytes = Buffer.from(b64, "base64");
  bytes[byte] = bytes[byte]! ^ 0x01;
  return bytes.toString("base64");
}
