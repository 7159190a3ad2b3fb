/**
 * A forger's attempts on verify-proof (docs/EXPLORER.md §Proof files, §What verify-proof checks,
 * §Trust files), each a crafted file checked by the real CLI, `verify-proof FILE --trust TRUST`,
 * in a directory without any node configuration. Two genuine batches of one namespace (A: 4
 * leaves under vmsh-dup, B: 3 leaves under rfc9162), signed by a real origin key and stamped by
 * an openssl TSA, give the pieces: they are mixed, relabelled, re-encoded and padded; trust
 * files are bent the same way. Every attempt exits 1 naming the first failing step (or 2 for a
 * file that cannot be read or a trust file that is not one), and the genuine file still passes.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { appendFile, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestBytes } from "../../lib/digest.js";
import { formatKeyLine } from "../../lib/identity/did.js";
import { generateNodeKey, type NodeKey } from "../../lib/identity/keys.js";
import { messageDigest } from "../../lib/messages/canonical.js";
import { signCheckpoint, type Checkpoint } from "../../lib/messages/checkpoint.js";
import { signCosignature, type Cosignature } from "../../lib/messages/cosignature.js";
import { inclusionProof, merkleRoot } from "../../lib/merkle/index.js";
import type { TreeKind } from "../../lib/receipt.js";
import { runCli, type CliResult } from "../support/cli.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";

const NS = "dao:vaultmesh";
const TSA_CHAIN = "rfc3161:vmsh-test";
const X = { did: "did:vm:node:x", key: generateNodeKey() };
const Y = { did: "did:vm:node:y", key: generateNodeKey() };
const W = ["w1", "w2", "w3"].map((n) => ({ did: `did:vm:node:${n}`, key: generateNodeKey() }));

let tsa: OpensslTsa;
/** Another certificate authority's TSA: genuine tokens, but not under the trust file's roots. */
let rogue: OpensslTsa;
let dir: string;

interface Batch {
  id: string;
  tree: TreeKind;
  leaves: string[];
  root: string;
  checkpoint: Checkpoint;
  anchor: { batchId: string; batchRoot: string; chain: string; tx: string; block: number; ts: number; sig: string };
  cosignatures: Cosignature[];
}
let A: Batch;
let B: Batch;
/* eslint-disable @typescript-eslint/no-explicit-any -- crafted files are edited member by member */
let genuine: any;
let trust: any;

function batch(id: string, tree: TreeKind, size: number, createdAt: number, origin: { did: string; key: NodeKey }): Batch {
  const leaves = Array.from({ length: size }, () => `sha256:${randomBytes(32).toString("hex")}`);
  const root = merkleRoot(leaves, tree);
  const checkpoint = signCheckpoint({ namespace: NS, origin: origin.did, batchId: id, batchRoot: root, tree, size, createdAt, ts: createdAt + 1 }, origin.key.privateKey);
  const anchor = { batchId: id, batchRoot: root, chain: TSA_CHAIN, tx: `tsa-${id}`, block: 0, ts: createdAt + 5, sig: token(tsa, root) };
  const winner = { chain: TSA_CHAIN, tx: anchor.tx };
  const cosignatures = W.map((w) => signCosignature({ namespace: NS, origin: origin.did, batchId: id, batchRoot: root, checkpoint: messageDigest(checkpoint), winner, verified: [winner], ts: createdAt + 10, signer: w.did }, w.key.privateKey));
  return { id, tree, leaves, root, checkpoint, anchor, cosignatures };
}

/** A checkpoint of `cp`'s batch signed again by `key` with `over` changed. */
function resign(cp: Checkpoint, key: NodeKey, over: Partial<Checkpoint>): Checkpoint {
  const { type: _t, v: _v, signer: _s, sig: _g, ...fields } = { ...cp, ...over };
  return signCheckpoint(fields, key.privateKey);
}

const token = (authority: OpensslTsa, root: string, options: Parameters<OpensslTsa["mint"]>[1] = {}): string => Buffer.from(authority.mint(digestBytes(root), options)).toString("base64");

function receiptOf(b: Batch, index: number) {
  return { id: b.leaves[index]!, namespace: NS, batchId: b.id, batchRoot: b.root, eventHash: b.leaves[index]!, ts: b.checkpoint.createdAt, proof: inclusionProof(b.leaves, index, b.tree) };
}

function proofOf(b: Batch, index: number) {
  return {
    type: "vmsh-proof",
    v: 2,
    receipt: receiptOf(b, index),
    checkpoint: b.checkpoint,
    anchors: [b.anchor],
    cosignatures: b.cosignatures,
    exportedBy: "did:vm:node:c",
    exportedAt: 1_760_000_100,
    exporterVerdicts: [{ chain: b.anchor.chain, tx: b.anchor.tx, outcome: "verified" }],
  };
}

const keyEntry = (p: { did: string; key: NodeKey }) => ({ did: p.did, key: formatKeyLine(p.key.publicKeyBytes) });

let files = 0;
async function put(content: unknown): Promise<string> {
  const file = join(dir, `f${files++}.json`);
  await writeFile(file, typeof content === "string" || content instanceof Uint8Array ? content : JSON.stringify(content));
  return file;
}

/** The real CLI as a stranger runs it: no configuration, only the files. */
const verify = (file: string, trustFile = "trust.json", ...extra: string[]): Promise<CliResult> => runCli(["verify-proof", file, "--trust", trustFile, ...extra], { cwd: dir, timeoutMs: 60_000 });

async function refused(content: unknown, want: RegExp, trustFile?: string): Promise<CliResult> {
  const r = await verify(await put(content), trustFile);
  assert.equal(r.code, 1, `${want}: exit ${r.code}\n${r.stdout}${r.stderr}`);
  assert.match(r.stdout, new RegExp(`proof NOT verified: ${want.source}`));
  assert.doesNotMatch(r.stdout, /^proof verified/m);
  return r;
}

before(async () => {
  tsa = createOpensslTsa();
  rogue = createOpensslTsa();
  dir = await mkdtemp(join(tmpdir(), "vmsh-forger-"));
  A = batch("b-a", "vmsh-dup-sha256", 4, 1_760_000_000, X);
  B = batch("b-b", "rfc9162-sha256", 3, 1_760_000_600, X);
  genuine = proofOf(A, 1);
  trust = {
    type: "vmsh-trust",
    v: 1,
    exportedBy: X.did,
    exportedAt: 1_760_000_000,
    namespaces: [{ name: NS, origins: [keyEntry(X), keyEntry(Y)], quorum: { k: 2, witnesses: W.map(keyEntry) } }],
    tsa: { trustBundle: tsa.rootPem, tsas: [] },
  };
  await writeFile(join(dir, "trust.json"), JSON.stringify(trust));
  await writeFile(join(dir, "genuine.json"), JSON.stringify(genuine));
});

after(async () => {
  tsa?.cleanup();
  rogue?.cleanup();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

describe("the pieces are genuine", () => {
  test("both genuine files verify and are final (2 of 3 witnesses): what fails below fails for the attack", async () => {
    for (const file of ["genuine.json", await put(proofOf(B, 2))]) {
      const r = await verify(file, "trust.json", "--require-final");
      assert.equal(r.code, 0, `${file}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /quorum: final \(3 of 3, k = 2/);
    }
  });
});

describe("pieces of two genuine proofs, mixed", () => {
  test("A's checkpoint with B's receipt: step 2 names the batch id; with B's receipt relabelled to A's ids, the root", async () => {
    await refused({ ...genuine, receipt: receiptOf(B, 0) }, /receipt: the receipt's batch id "b-b" is not the checkpoint's "b-a"/);
    await refused({ ...genuine, receipt: { ...receiptOf(B, 0), batchId: A.id } }, /receipt: the receipt's batch root "sha256:[0-9a-f]{64}" is not the checkpoint's "sha256:[0-9a-f]{64}"/);
    // B's receipt made to name A's root and tree: the path does not recompute it.
    const r = receiptOf(B, 0);
    await refused({ ...genuine, receipt: { ...r, batchId: A.id, batchRoot: A.root, ts: A.checkpoint.createdAt, proof: { ...r.proof, tree: A.tree, size: 4, index: 0, path: r.proof.path.slice(0, 2) } } }, /inclusion: proof does not recompute batchRoot/);
  });

  test("anchors of another root: B's anchor as it is, and B's token labelled with A's root, both rejected and named", async () => {
    const r = await refused({ ...genuine, anchors: [B.anchor] }, /anchors: no anchor over sha256:[0-9a-f]{64} verified here; first, rfc3161:vmsh-test\/tsa-b-b: rejected: anchors root sha256:[0-9a-f]{64}, not the checkpoint's/);
    assert.match(r.stdout, /tsa-b-b\s+rejected/);
    await refused({ ...genuine, anchors: [{ ...B.anchor, batchId: A.id, batchRoot: A.root }] }, /anchors: no anchor over .* verified here; first, rfc3161:vmsh-test\/tsa-b-b: rejected: time-stamp token rejected: messageImprint \(sha256\) does not match/);
  });

  test("cosignatures of another checkpoint (B's, A's re-signed, another namespace's) do not count toward k", async () => {
    const resigned = resign(A.checkpoint, X.key, { ts: A.checkpoint.ts + 60 });
    const winner = { chain: TSA_CHAIN, tx: A.anchor.tx };
    const ofResigned = W.slice(0, 2).map((w) => signCosignature({ namespace: NS, origin: X.did, batchId: A.id, batchRoot: A.root, checkpoint: messageDigest(resigned), winner, verified: [winner], ts: 1_760_000_020, signer: w.did }, w.key.privateKey));
    const otherNs = W.slice(0, 2).map((w) => signCosignature({ namespace: "dao:other", origin: X.did, batchId: A.id, batchRoot: A.root, checkpoint: messageDigest(A.checkpoint), winner, verified: [winner], ts: 1_760_000_020, signer: w.did }, w.key.privateKey));
    const p = await put({ ...genuine, cosignatures: [...B.cosignatures, ...ofResigned, ...otherNs, A.cosignatures[0]] });
    const plain = await verify(p, "trust.json", "--json");
    assert.equal(plain.code, 0, plain.stdout);
    const v = JSON.parse(plain.stdout);
    assert.equal(v.final, false);
    assert.deepEqual(v.quorum.cosigners, [W[0]!.did]);
    assert.equal(v.quorum.ignored.length, 7);
    for (const i of v.quorum.ignored) assert.match(i.reason, /^names another checkpoint/);
    const strict = await verify(p, "trust.json", "--require-final");
    assert.equal(strict.code, 1, strict.stdout);
    assert.match(strict.stdout, /proof verified but NOT final \(--require-final\): 1 of the 2 witnesses needed cosigned this checkpoint/);
  });

  test("a receipt of the other tree rule with the same root, and paths one longer or shorter than the depth", async () => {
    const r = receiptOf(A, 1);
    await refused({ ...genuine, receipt: { ...r, proof: { ...r.proof, tree: "rfc9162-sha256" } } }, /receipt: the receipt's tree "rfc9162-sha256" is not the checkpoint's "vmsh-dup-sha256"/);
    const cp = resign(A.checkpoint, X.key, { tree: "rfc9162-sha256" });
    // The origin's word on a tree rule the root was not built with: the path cannot recompute it.
    await refused({ ...genuine, checkpoint: cp, receipt: { ...r, proof: { ...r.proof, tree: "rfc9162-sha256" } } }, /inclusion: proof does not recompute batchRoot: rfc9162-sha256 path/);
    await refused({ ...genuine, receipt: { ...r, proof: { ...r.proof, path: [...r.proof.path, r.proof.path[0]] } } }, /inclusion: proof\.path has 3 elements; vmsh-dup-sha256 needs exactly 2 for index 1 in size 4/);
    await refused({ ...genuine, receipt: { ...r, proof: { ...r.proof, path: r.proof.path.slice(1) } } }, /inclusion: proof\.path has 1 elements; vmsh-dup-sha256 needs exactly 2/);
  });

  test("a receipt ts other than the checkpoint's createdAt: step 2", async () => {
    await refused({ ...genuine, receipt: { ...genuine.receipt, ts: genuine.receipt.ts + 1 } }, /receipt: the receipt's ts 1760000001 is not the checkpoint's 1760000000/);
  });
});

describe("encodings: duplicate members, case, look-alikes, numbers", () => {
  test("a member named twice, at any level and under any escape, is refused: a reader would see the first, JSON.parse the last", async () => {
    const text = JSON.stringify(genuine);
    const cases: Array<[string, RegExp]> = [
      [text.replace('"namespace":"dao:vaultmesh"', '"namespace":"dao:elsewhere","namespace":"dao:vaultmesh"'), /file: proof\.receipt: member "namespace" appears twice/],
      [text.replace('"batchId":"b-a"', '"batchId":"b-9999","b\\u0061tchId":"b-a"'), /file: proof\.receipt: member "batchId" appears twice/],
      [text.replace('"exportedBy":', '"exportedBy":"did:vm:node:mallory","exportedBy":'), /file: proof: member "exportedBy" appears twice/],
      [text.replace(/"signer":"did:vm:node:w1"/, '"signer":"did:vm:node:w9","signer":"did:vm:node:w1"'), /file: proof\.cosignatures\[0\]: member "signer" appears twice/],
    ];
    for (const [crafted, want] of cases) {
      assert.notEqual(crafted, text);
      // JSON.parse alone keeps the last copy: the genuine value.
      assert.deepEqual(Object.keys(JSON.parse(crafted)), Object.keys(genuine));
      await refused(crafted, want);
    }
  });

  test("case variants and look-alikes of digests, namespaces and DIDs are refused by their member or by step 1", async () => {
    const digestCase = (p: any) => ({ ...p, receipt: { ...p.receipt, id: p.receipt.id.replace("sha256:", "SHA256:"), eventHash: p.receipt.eventHash.replace("sha256:", "SHA256:") } });
    await refused(digestCase(genuine), /file: proof\.receipt\.id: expected "sha256:" and 64 lower-case hex digits/);
    await refused({ ...genuine, receipt: { ...genuine.receipt, proof: { ...genuine.receipt.proof, path: [genuine.receipt.proof.path[0].toUpperCase().replace("SHA256:", "sha256:"), genuine.receipt.proof.path[1]] } } }, /file: proof\.receipt\.proof\.path\[0\]\.h: expected "sha256:" and 64 lower-case hex digits/);
    await refused({ ...genuine, receipt: { ...genuine.receipt, namespace: "dao:vаultmesh" } }, /file: proof\.receipt\.namespace: does not match/);
    await refused({ ...genuine, receipt: { ...genuine.receipt, namespace: ` ${NS}` } }, /file: proof\.receipt\.namespace: does not match/);
    await refused({ ...genuine, checkpoint: { ...A.checkpoint, origin: "did:vm:node:X", signer: "did:vm:node:X" } }, /checkpoint: checkpoint signer did:vm:node:X is not an origin of dao:vaultmesh/);
    // Y is a trusted origin too: putting Y's name on X's signature fails the signature, not the list.
    await refused({ ...genuine, checkpoint: { ...A.checkpoint, origin: Y.did, signer: Y.did } }, /checkpoint: checkpoint of b-a by did:vm:node:y: sig kid/);
  });

  test("numbers: strings, floats, negatives, unsafe or huge values, index >= size, size 0", async () => {
    const withProof = (over: object) => ({ ...genuine, receipt: { ...genuine.receipt, proof: { ...genuine.receipt.proof, ...over } } });
    await refused(withProof({ index: "1" }), /file: proof\.receipt\.proof\.index: expected an integer/);
    await refused(withProof({ index: 1.5 }), /file: proof\.receipt\.proof\.index: expected an integer/);
    await refused(withProof({ index: -1 }), /file: proof\.receipt\.proof\.index: expected 0 to 4294967296, got -1/);
    await refused(withProof({ index: 2 ** 53 }), /file: proof\.receipt\.proof\.index: expected an integer/);
    await refused(withProof({ index: 4 }), /file: proof\.receipt\.proof\.index: index 4 is outside a batch of 4 leaves/);
    await refused(withProof({ size: 2 ** 40 }), /file: proof\.receipt\.proof\.size: expected 1 to 4294967296/);
    await refused({ ...genuine, checkpoint: { ...A.checkpoint, size: 0 } }, /file: proof\.checkpoint\.size: expected 1 to 4294967296, got 0/);
    await refused(JSON.stringify(genuine).replace('"size":4', '"size":1e400'), /file: proof\.receipt\.proof\.size: expected an integer/);
    // A size the origin did not sign, with a path of that depth: step 2 before any hashing.
    await refused(withProof({ size: 8, path: [...genuine.receipt.proof.path, genuine.receipt.proof.path[0]] }), /receipt: the receipt's batch size 8 is not the checkpoint's 4/);
  });
});

describe("anchors: tokens over the right root that must not count", () => {
  test("a token from a TSA the trust file does not hold, and one whose signer's certificate had expired: rejected, named", async () => {
    await refused({ ...genuine, anchors: [{ ...A.anchor, sig: token(rogue, A.root) }] }, /anchors: no anchor over .* verified here; first, rfc3161:vmsh-test\/tsa-b-a: rejected: time-stamp token rejected: .*(trust|root|chain)/i);
    await refused({ ...genuine, anchors: [{ ...A.anchor, sig: token(tsa, A.root, { signer: "expired" }) }] }, /anchors: .* rejected: time-stamp token rejected: .*is not valid at/);
  });

  test("a token whose messageImprint is SHA-512 of the root bytes verifies (docs/ANCHORS.md: SHA-1/256/384/512); one over the root's hex text does not", async () => {
    const r = await verify(await put({ ...genuine, anchors: [{ ...A.anchor, sig: token(tsa, A.root, { imprint: "sha512" }) }] }));
    assert.equal(r.code, 0, r.stdout);
    const hexText = Buffer.from(tsa.mint(Buffer.from(A.root.slice("sha256:".length), "utf8"))).toString("base64");
    await refused({ ...genuine, anchors: [{ ...A.anchor, sig: hexText }] }, /anchors: .* rejected: time-stamp token rejected: messageImprint \(sha256\) does not match/);
  });

  test("65 anchors or 65 cosignatures: refused as a file, before any token is checked", async () => {
    await refused({ ...genuine, anchors: Array(65).fill(A.anchor) }, /file: proof\.anchors: expected a list of at most 64/);
    await refused({ ...genuine, cosignatures: Array(65).fill(A.cosignatures[0]) }, /file: proof\.cosignatures: expected a list of at most 64/);
  });
});

describe("unknown members: refused at every level of both files", () => {
  test("proof file: top, receipt, receipt.proof, checkpoint, anchor, cosignature, exporter verdict", async () => {
    const at: Array<[string, (p: any) => void]> = [
      ["proof", (p) => (p.note = 1)],
      ["proof.receipt", (p) => (p.receipt.note = 1)],
      ["proof.receipt.proof", (p) => (p.receipt.proof.note = 1)],
      ["proof.checkpoint", (p) => (p.checkpoint.note = 1)],
      ["proof.anchors[0]", (p) => (p.anchors[0].note = 1)],
      ["proof.cosignatures[0]", (p) => (p.cosignatures[0].note = 1)],
      ["proof.exporterVerdicts[0]", (p) => (p.exporterVerdicts[0].note = 1)],
    ];
    for (const [path, alter] of at) {
      const p = structuredClone(genuine);
      alter(p);
      await refused(p, new RegExp(`file: ${path.replace(/[.[\]]/g, "\\$&")}: unknown member "note"`));
    }
  });

  test("trust file: top, namespace, origin, quorum, witness, tsa, named tsa: exit 2 naming the member", async () => {
    const at: Array<[string, (t: any) => void]> = [
      ["trust", (t) => (t.note = 1)],
      ["trust.namespaces[0]", (t) => (t.namespaces[0].note = 1)],
      ["trust.namespaces[0].origins[0]", (t) => (t.namespaces[0].origins[0].note = 1)],
      ["trust.namespaces[0].quorum", (t) => (t.namespaces[0].quorum.note = 1)],
      ["trust.namespaces[0].quorum.witnesses[1]", (t) => (t.namespaces[0].quorum.witnesses[1].note = 1)],
      ["trust.tsa", (t) => (t.tsa.note = 1)],
      ["trust.tsa.tsas[0]", (t) => (t.tsa.tsas = [{ name: "vmsh-test", note: 1 }])],
    ];
    for (const [path, alter] of at) {
      const t = structuredClone(trust);
      alter(t);
      const r = await verify("genuine.json", await put(t));
      assert.equal(r.code, 2, `${path}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`is not a trust file: ${path.replace(/[.[\]]/g, "\\$&")}: unknown member "note"`));
    }
  });
});

describe("trust files a careless or hostile operator could write", () => {
  test("one key for two origins, or for two witnesses; a witness twice; k above the witnesses; k = 0; a member twice: exit 2", async () => {
    const cases: Array<[string, (t: any) => void, RegExp]> = [
      ["same key, two origins", (t) => (t.namespaces[0].origins[1].key = t.namespaces[0].origins[0].key), /trust\.namespaces\[0\]\.origins\[1\]\.key: did:vm:node:y has the same key as did:vm:node:x: one key speaks for one DID/],
      ["same key, two witnesses", (t) => (t.namespaces[0].quorum.witnesses[2].key = t.namespaces[0].quorum.witnesses[0].key), /quorum\.witnesses\[2\]\.key: did:vm:node:w3 has the same key as did:vm:node:w1/],
      ["witness twice", (t) => t.namespaces[0].quorum.witnesses.push(t.namespaces[0].quorum.witnesses[0]), /quorum\.witnesses\[3\]\.did: did:vm:node:w1 is listed twice/],
      ["k above", (t) => (t.namespaces[0].quorum.k = 4), /quorum\.k: 4 is more than the 3 witnesses listed/],
      ["k = 0", (t) => (t.namespaces[0].quorum.k = 0), /quorum\.k: expected 1 to 256, got 0/],
    ];
    for (const [what, alter, want] of cases) {
      const t = structuredClone(trust);
      alter(t);
      const r = await verify("genuine.json", await put(t));
      assert.equal(r.code, 2, `${what}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, want, what);
    }
    const dup = JSON.stringify(trust).replace('"k":2', '"k":3,"k":2');
    const r = await verify("genuine.json", await put(dup));
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /is not a trust file: trust\.namespaces\[0\]\.quorum: member "k" appears twice/);
  });

  test("an origin 'key' of small order, under which anyone signs: the trust file is refused (exit 2), so a keyless forgery is never checked", async () => {
    // The identity point: R = identity, S = 0 verifies every message (see proof-units.test.ts).
    const identity = Buffer.alloc(32);
    identity[0] = 1;
    const t = structuredClone(trust);
    const z = { did: "did:vm:node:z" };
    t.namespaces[0].origins.push({ did: z.did, key: formatKeyLine(identity) });
    const forgedSig = `${Buffer.from(JSON.stringify({ alg: "EdDSA", kid: `${z.did}#key-1` })).toString("base64url")}..${Buffer.concat([identity, Buffer.alloc(32)]).toString("base64url")}`;
    const forged = { ...genuine, checkpoint: { ...A.checkpoint, origin: z.did, signer: z.did, batchId: "b-forged", sig: forgedSig }, receipt: { ...genuine.receipt, batchId: "b-forged" } };
    const r = await verify(await put(forged), await put(t));
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /trust\.namespaces\[0\]\.origins\[2\]\.key: the key of did:vm:node:z is a point of small order/);
  });

  test("a node's own configuration holding that key: verify-proof without --trust and trust export both exit 2 naming it", async () => {
    const identity = Buffer.alloc(32);
    identity[0] = 1;
    const cfg = join(dir, "cfg");
    const init = await runCli(["--config", cfg, "init", "--node-id", "did:vm:node:n"], { cwd: dir });
    assert.equal(init.code, 0, init.stderr);
    // A "key" a joining peer handed over, pasted into peers.yaml as its init would print one.
    await appendFile(join(cfg, "peers.yaml"), `  - did: "did:vm:node:z"\n    roles: [origin]\n    keys: { verify: "${formatKeyLine(identity)}" }\n`);
    await writeFile(join(cfg, "tsa-root.pem"), tsa.rootPem);
    await appendFile(join(cfg, "anchors.yaml"), "rfc3161:\n  trustBundle: tsa-root.pem\n");
    const forgedSig = `${Buffer.from(JSON.stringify({ alg: "EdDSA", kid: "did:vm:node:z#key-1" })).toString("base64url")}..${Buffer.concat([identity, Buffer.alloc(32)]).toString("base64url")}`;
    const forged = await put({ ...genuine, checkpoint: { ...A.checkpoint, origin: "did:vm:node:z", signer: "did:vm:node:z", batchId: "b-forged", sig: forgedSig }, receipt: { ...genuine.receipt, batchId: "b-forged" } });
    const r = await runCli(["--config", cfg, "verify-proof", forged], { cwd: dir, timeoutMs: 60_000 });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    // peers.yaml refuses the key when the configuration is read (lib/identity/weak-key.ts), before any trust policy is built.
    assert.match(r.stderr, /peers\.yaml: peers\[0\]\.keys\.verify: the key is a point of small order/);
    assert.doesNotMatch(r.stdout, /proof verified/);
    const t = await runCli(["--config", cfg, "trust", "export"], { cwd: dir });
    assert.equal(t.code, 2, t.stdout + t.stderr);
    assert.equal(t.stdout, "");
    assert.match(t.stderr, /peers\.yaml: peers\[0\]\.keys\.verify: the key is a point of small order/);
  });

  test("the trust file of another namespace: step 1 says it lists no origins for this one", async () => {
    const t = structuredClone(trust);
    t.namespaces[0].name = "dao:other";
    await refused(genuine, /checkpoint: the trust policy lists no origins for namespace dao:vaultmesh/, await put(t));
  });
});

describe("files that are not text a proof can be read from", () => {
  test("larger than 16 MiB, /dev/zero, a directory: exit 2 without reading past the bound", async () => {
    const big = join(dir, "big.json");
    await writeFile(big, Buffer.alloc(16 * 1024 * 1024 + 1, 0x20));
    const r = await verify(big);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /proof file .*big\.json is larger than 16777216 bytes; at most 16777216 are read/);
    const zero = await verify("/dev/zero");
    assert.equal(zero.code, 2, zero.stderr);
    assert.match(zero.stderr, /proof file \/dev\/zero is larger than 16777216 bytes/);
    const folder = await verify(dir);
    assert.equal(folder.code, 2, folder.stderr);
    assert.match(folder.stderr, /cannot be read: EISDIR/);
    const trustZero = await verify("genuine.json", "/dev/zero");
    assert.equal(trustZero.code, 2);
    assert.match(trustZero.stderr, /--trust \/dev\/zero is larger than 8388608 bytes/);
  });

  test("a byte that is not UTF-8, even in an unchecked label: exit 2 naming its offset, never decoded as U+FFFD", async () => {
    const p = structuredClone(genuine);
    p.exporterVerdicts[0].reason = "XX";
    const text = Buffer.from(JSON.stringify(p), "utf8");
    const at = text.indexOf("XX");
    text[at] = 0xff;
    const r = await verify(await put(text));
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`is not UTF-8 text \\(byte ${at} starts an invalid sequence\\)`));
    const t = Buffer.from(JSON.stringify(trust).replace(X.did, "did:vm:node:\u00e9"), "latin1");
    const bad = await verify("genuine.json", await put(t));
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--trust .* is not UTF-8 text/);
  });
});
