/**
 * An independent reader of the C2SP formats, written here from the specification texts
 * (signed-note, tlog-checkpoint, tlog-cosignature, tlog-tiles; RFC 9162 §2.1) with node:crypto
 * alone, verifies what lib/tlog writes: signed heads, cosignatures, tiles, inclusion and
 * consistency proofs. It imports nothing from lib/tlog or lib/merkle for reading; lib/tlog only
 * produces the artefacts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash, createPublicKey, verify } from "node:crypto";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { formatCheckpoint } from "../../lib/tlog/checkpoint.js";
import { cosignatureSigner } from "../../lib/tlog/cosignature.js";
import { ed25519NoteSigner, signNote } from "../../lib/tlog/note.js";
import { consistencyProof, inclusionProof } from "../../lib/tlog/proof.js";
import { entry, memoryLog } from "./memory-log.js";

// ---- the reader, from the spec text ----

const H = (...parts: Uint8Array[]): Buffer => {
  const h = createHash("sha256");
  for (const p of parts) h.update(p);
  return h.digest();
};
const leafHash = (e: Uint8Array) => H(Buffer.from([0]), e);
const nodeHash = (l: Uint8Array, r: Uint8Array) => H(Buffer.from([1]), l, r);

/** RFC 9162 §2.1.1 MTH, recursively from the definition. */
function mth(d: Uint8Array[]): Buffer {
  if (d.length === 0) return H();
  if (d.length === 1) return leafHash(d[0]!);
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return nodeHash(mth(d.slice(0, k)), mth(d.slice(k)));
}

function edKey(raw: Uint8Array) {
  return createPublicKey({ key: { kty: "OKP", crv: "Ed25519", x: Buffer.from(raw).toString("base64url") }, format: "jwk" });
}

/** signed-note: key ID = SHA-256(name || 0x0A || type || key)[:4], big-endian. */
function keyId(name: string, type: number, key: Uint8Array): number {
  return H(Buffer.from(name), Buffer.from([0x0a, type]), key).readUInt32BE(0);
}

/** signed-note §Format: text up to the last blank line, then "— name base64" lines. */
function readNote(note: string): { text: string; sigs: { name: string; id: number; sig: Buffer }[] } {
  const cut = note.lastIndexOf("\n\n");
  assert.ok(cut > 0, "a blank line separates text and signatures");
  const text = note.slice(0, cut + 1);
  const sigs = note.slice(cut + 2).split("\n").filter((l) => l !== "").map((line) => {
    const [dash, name, b64] = line.split(" ");
    assert.equal(dash, "\u2014");
    const raw = Buffer.from(b64!, "base64");
    return { name: name!, id: raw.readUInt32BE(0), sig: raw.subarray(4) };
  });
  return { text, sigs };
}

/** The checkpoint body of a note signed by `name`'s Ed25519 key (type 0x01). */
function readHead(note: string, name: string, key: Uint8Array): { origin: string; size: number; root: Buffer; text: string } {
  const { text, sigs } = readNote(note);
  const mine = sigs.filter((s) => s.name === name && s.id === keyId(name, 0x01, key));
  assert.equal(mine.length, 1, "one signature by the log key");
  assert.ok(verify(null, Buffer.from(text), edKey(key), mine[0]!.sig), "the log signature verifies");
  const [origin, size, root] = text.split("\n");
  assert.match(size!, /^(0|[1-9][0-9]*)$/);
  return { origin: origin!, size: Number(size), root: Buffer.from(root!, "base64"), text };
}

/** tlog-cosignature: the time of `witness`'s cosignature/v1 on the note, after checking it. */
function readCosignature(note: string, witness: string, key: Uint8Array): number {
  const { text, sigs } = readNote(note);
  const mine = sigs.filter((s) => s.name === witness && s.id === keyId(witness, 0x04, key));
  assert.equal(mine.length, 1, "one cosignature by the witness key");
  const sig = mine[0]!.sig;
  assert.equal(sig.length, 8 + 64);
  const time = Number(sig.readBigUInt64BE(0));
  const message = `cosignature/v1\ntime ${time}\n${text}`;
  assert.ok(verify(null, Buffer.from(message), edKey(key), sig.subarray(8)), "the cosignature verifies");
  return time;
}

/** RFC 9162 §2.1.3.1 PATH: a proof is right when it equals the one the definition gives. */
function path(m: number, d: Uint8Array[]): Buffer[] {
  if (d.length <= 1) return [];
  let k = 1;
  while (k * 2 < d.length) k *= 2;
  return m < k ? [...path(m, d.slice(0, k)), mth(d.slice(k))] : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
}

/** RFC 9162 §2.1.4.1 SUBPROOF, from the definition. */
function subproof(m: number, d: Uint8Array[], b: boolean): Buffer[] {
  const n = d.length;
  if (m === n) return b ? [] : [mth(d)];
  let k = 1;
  while (k * 2 < n) k *= 2;
  return m <= k ? [...subproof(m, d.slice(0, k), b), mth(d.slice(k))] : [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
}

/** Walks an inclusion path from the leaf up by the bits of (index, size), recomputing the root. */
function rootFromInclusion(leaf: Buffer, index: number, size: number, proof: Uint8Array[]): Buffer {
  // Recursive: which side the leaf is on at each split, from the top, consuming proof from the end.
  const rest = [...proof];
  function up(lo: number, hi: number): Buffer {
    if (hi - lo === 1) return leaf;
    let k = 1;
    while (k * 2 < hi - lo) k *= 2;
    const sibling = Buffer.from(rest.pop()!);
    return index < lo + k ? nodeHash(up(lo, lo + k), sibling) : nodeHash(sibling, up(lo + k, hi));
  }
  const root = up(0, size);
  assert.equal(rest.length, 0, "every proof hash used");
  return root;
}

// ---- the tests ----

describe("an independent reader of the C2SP formats", () => {
  const logKey = generateNodeKey();
  const witnessKey = generateNodeKey();
  const origin = "vmsh.example/log/a";
  const witness = "vmsh.example/witness/w";

  test("reads our signed head and cosignature, and the root is MTH of the entries", async () => {
    const { log, entries } = await memoryLog(333, 20);
    const text = formatCheckpoint({ origin, size: log.size, rootHash: await log.rootHash() });
    const note = signNote(text, [ed25519NoteSigner(origin, logKey.privateKey, logKey.publicKeyBytes), cosignatureSigner(witness, witnessKey.privateKey, witnessKey.publicKeyBytes, () => 1_750_000_000)]);
    const head = readHead(note, origin, logKey.publicKeyBytes);
    assert.deepEqual([head.origin, head.size], [origin, 333]);
    assert.deepEqual(head.root, mth(entries));
    assert.equal(readCosignature(note, witness, witnessKey.publicKeyBytes), 1_750_000_000);
    assert.throws(() => readCosignature(note.replace("\n333\n", "\n334\n"), witness, witnessKey.publicKeyBytes));
  });

  test("our tiles hold MTH of the leaf ranges tlog-tiles names, and entry bundles the entries", async () => {
    const { log, entries } = await memoryLog(70_000 / 100 + 300, 97);
    const size = log.size;
    for (let level = 0; level <= 1; level++) {
      const span = 256 ** level;
      const count = Math.floor(size / span);
      for (let n = 0; n * 256 < count; n++) {
        const width = Math.min(256, count - n * 256);
        const p = `tile/${level}/${String(n).padStart(3, "0")}${width < 256 ? `.p/${width}` : ""}`;
        const data = (await log.readTile(p))!;
        assert.equal(data.length, width * 32, p);
        for (let i = 0; i < width; i++) {
          const lo = (n * 256 + i) * span;
          assert.deepEqual(Buffer.from(data.subarray(i * 32, i * 32 + 32)), mth(entries.slice(lo, lo + span)), `${p} hash ${i}`);
        }
      }
    }
    const bundle = Buffer.from((await log.readTile("tile/entries/001"))!);
    assert.equal(bundle.readUInt16BE(0), 32);
    assert.deepEqual(bundle.subarray(2, 34), Buffer.from(entries[256]!));
  });

  test("our inclusion proofs are PATH(m, D[n]) and recompute the signed root", async () => {
    const { log, entries } = await memoryLog(77, 9);
    const root = mth(entries);
    for (let m = 0; m < 77; m++) {
      const proof = await inclusionProof(m, 77, log.reader);
      assert.deepEqual(proof.map((h) => Buffer.from(h)), path(m, entries), `leaf ${m}`);
      assert.deepEqual(rootFromInclusion(leafHash(entries[m]!), m, 77, proof), root);
    }
  });

  test("our consistency proofs are PROOF(m, D[n]) for every 0 < m < n ≤ 45", async () => {
    const { log, entries } = await memoryLog(45, 4);
    for (let n = 2; n <= 45; n++) {
      for (let m = 1; m < n; m++) {
        const proof = await consistencyProof(m, n, log.reader);
        assert.deepEqual(proof.map((h) => Buffer.from(h)), subproof(m, entries.slice(0, n), true), `${m}→${n}`);
      }
    }
    assert.deepEqual(await consistencyProof(0, 10, log.reader), []);
    assert.ok(entry(0).length === 32);
  });
});
