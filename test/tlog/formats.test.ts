/**
 * lib/tlog against the examples printed in the C2SP specifications themselves (C2SP/C2SP:
 * signed-note.md, tlog-checkpoint.md, tlog-cosignature.md, tlog-tiles.md, tlog-witness.md) and
 * the signed note in the doc comment of Go's golang.org/x/mod/sumdb/note (note.go), quoted as
 * data with their source named; every verifier with its negative cases beside the positive.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { sha256 } from "../../lib/digest.js";
import { formatCheckpoint, parseCheckpoint } from "../../lib/tlog/checkpoint.js";
import { cosignatureMessage, cosignatureSigner, cosignatureTime, cosignatureVerifier } from "../../lib/tlog/cosignature.js";
import { decodeBase64, ed25519NoteSigner, ed25519NoteVerifier, ed25519PrivateKeyFromSeed, formatVerifierKey, noteKeyId, openNote, parseNote, parseVerifierKey, signNote } from "../../lib/tlog/note.js";
import { levelHashCount, parseTilePath, tileIndexPath, tilePath, tilesAtLevel, tilesToWrite } from "../../lib/tlog/tile.js";
import { addCheckpoint, formatAddCheckpoint, parseAddCheckpoint } from "../../lib/tlog/witness.js";

/** C2SP signed-note.md §Verifier keys, "Example". */
const SIGNED_NOTE_EXAMPLE = {
  vkey: "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
  note: "This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n",
};

/** Go's golang.org/x/mod/sumdb/note, note.go package comment: a signing key, its vkey and the note it signs. */
const GO_NOTE_EXAMPLE = {
  skey: "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
  vkey: "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
  text: "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n",
  note: "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n",
};

/** C2SP tlog-checkpoint.md, opening example; tlog-cosignature.md adds the witness line. */
const CHECKPOINT_EXAMPLE = {
  text: "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
  logLine: "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n",
  witnessLine: "— witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n",
};

/** C2SP tlog-cosignature.md §Ed25519 signed message: the message for time 1679315147. */
const COSIGNATURE_MESSAGE_EXAMPLE = "cosignature/v1\ntime 1679315147\nexample.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

/** C2SP tlog-witness.md §add-checkpoint, "Example request body" (shown indented there). */
const ADD_CHECKPOINT_EXAMPLE =
  "old 20852014\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\njrJZDmY8Y7SyJE0MWLpLozkIVMSMZcD5kvuKxPC3swk=\n5+pKlUdi2LeF/BcMHBn+Ku6yhPGNCswZZD1X/6QgPd8=\n/6WVhPs2CwSsb5rYBH5cjHV/wSmA79abXAwhXw3Kj/0=\n\n" +
  "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n" +
  "— example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n" +
  "— example.com/behind-the-sofa opLqBQsREYCgu6xQkYQwJr9fo45a62DN9EdmHXnZdXNqlcVGlCum2Wks+49/V6267UEjw6QUXTS5Rovnzv++qbSzm9Q=\n";

/** C2SP tlog-tiles.md §Merkle Tree and §Partial Tiles. */
const TILE_EXAMPLES = {
  indexPath: { index: 1234067, path: "x001/x234/067" },
  size70000: { size: 70000, fullLevel0: 273, partialLevel0: 112, fullLevel1: 1, partialLevel1: 17, partialLevel2: 1 },
};

function verifierOf(vkey: string) {
  const k = parseVerifierKey(vkey)!;
  return ed25519NoteVerifier(k.name, k.publicKey);
}

describe("signed-note", () => {
  test("the spec's example vkey decodes, and its key ID is SHA-256(name || 0x0A || 0x01 || key)[:4]", () => {
    const k = parseVerifierKey(SIGNED_NOTE_EXAMPLE.vkey);
    assert.ok(k);
    assert.equal(k.name, "example.com/foo");
    assert.equal(k.type, 0x01);
    assert.equal(k.keyId.toString(16), "530d903a");
    assert.equal(noteKeyId("example.com/foo", 0x01, k.publicKey), 0x530d903a);
    assert.equal(formatVerifierKey(k.name, k.type, k.publicKey), SIGNED_NOTE_EXAMPLE.vkey);
  });

  test("the spec's example note verifies with its vkey", () => {
    const opened = openNote(SIGNED_NOTE_EXAMPLE.note, [verifierOf(SIGNED_NOTE_EXAMPLE.vkey)]);
    assert.equal(opened.outcome, "verified");
    assert.equal(opened.outcome === "verified" && opened.text, "This is an example message.\n");
  });

  test("Go's example: our signer, given its seed, writes the very note Go's comment prints", () => {
    const raw = decodeBase64(GO_NOTE_EXAMPLE.skey.split("+").slice(4).join("+"))!;
    assert.equal(raw[0], 0x01);
    const vk = parseVerifierKey(GO_NOTE_EXAMPLE.vkey)!;
    const signer = ed25519NoteSigner("PeterNeumann", ed25519PrivateKeyFromSeed(raw.subarray(1)), vk.publicKey);
    assert.equal(signer.keyId, 0xc74f20a3);
    assert.equal(signNote(GO_NOTE_EXAMPLE.text, [signer]), GO_NOTE_EXAMPLE.note);
    assert.equal(openNote(GO_NOTE_EXAMPLE.note, [verifierOf(GO_NOTE_EXAMPLE.vkey)]).outcome, "verified");
  });

  test("every flipped byte of the signature, a changed text, or a wrong key rejects the note", () => {
    const v = [verifierOf(SIGNED_NOTE_EXAMPLE.vkey)];
    const sigStart = SIGNED_NOTE_EXAMPLE.note.indexOf(" Uw2Q") + 1;
    const b64 = SIGNED_NOTE_EXAMPLE.note.slice(sigStart, -1);
    const raw = decodeBase64(b64)!;
    for (let i = 4; i < raw.length; i++) {
      const bad = Uint8Array.from(raw);
      bad[i]! ^= 0x01;
      const note = SIGNED_NOTE_EXAMPLE.note.slice(0, sigStart) + Buffer.from(bad).toString("base64") + "\n";
      assert.deepEqual(openNote(note, v), { outcome: "rejected", reason: "the signature of example.com/foo (key 530d903a) does not verify" }, `byte ${i}`);
    }
    assert.equal(openNote(SIGNED_NOTE_EXAMPLE.note.replace("example message", "exemplary message"), v).outcome, "rejected");
    // A known name with another key ID is an unknown key: ignored, so no known signature is left.
    assert.deepEqual(openNote(SIGNED_NOTE_EXAMPLE.note, [verifierOf(GO_NOTE_EXAMPLE.vkey)]), { outcome: "rejected", reason: "no signature from a known key" });
  });

  test("malformed notes are rejected with a reason, never thrown", () => {
    const v = [verifierOf(SIGNED_NOTE_EXAMPLE.vkey)];
    const cases: [string, string][] = [
      ["This is an example message.\n— example.com/foo AAAA\n", "the note has no blank line before its signatures"],
      [SIGNED_NOTE_EXAMPLE.note.slice(0, -1), "the last signature line does not end with a newline"],
      [SIGNED_NOTE_EXAMPLE.note.replace("\u2014", "-"), "not a signature line"],
      [SIGNED_NOTE_EXAMPLE.note.replace("This", "Th\u0007is"), "the note text contains a control character"],
      [SIGNED_NOTE_EXAMPLE.note.replace("Uw2QOkn8", "Uw2QOkn*"), "is not base64"],
    ];
    for (const [note, reason] of cases) {
      const out = openNote(note, v);
      assert.equal(out.outcome, "rejected");
      assert.match(out.outcome === "rejected" ? out.reason : "", new RegExp(reason.replace(/[()]/g, "\\$&")));
    }
    assert.equal(parseVerifierKey("example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"), undefined, "a key ID that is not the key's");
    assert.equal(parseVerifierKey("example.com/foo+530d903a"), undefined);
  });
});

describe("tlog-checkpoint", () => {
  test("the spec's example parses into origin, size and root hash, and formats back byte for byte", () => {
    const head = parseCheckpoint(CHECKPOINT_EXAMPLE.text);
    assert.ok(!("reason" in head));
    assert.equal(head.origin, "example.com/behind-the-sofa");
    assert.equal(head.size, 20852163);
    assert.equal(Buffer.from(head.rootHash).toString("base64"), "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=");
    assert.equal(formatCheckpoint(head), CHECKPOINT_EXAMPLE.text);
    const parsed = parseNote(CHECKPOINT_EXAMPLE.text + "\n" + CHECKPOINT_EXAMPLE.logLine + CHECKPOINT_EXAMPLE.witnessLine);
    assert.ok(!("reason" in parsed));
    assert.deepEqual(parsed.signatures.map((s) => s.name), ["example.com/behind-the-sofa", "witness.example.com/w1"]);
  });

  test("an empty tree is size 0 with sha256 of the empty string; extension lines round-trip", () => {
    assert.equal(formatCheckpoint({ origin: "o.example/x", size: 0, rootHash: sha256() }), "o.example/x\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n");
    const withExt = "o.example/x\n1\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\nextra\n";
    assert.equal(formatCheckpoint(parseCheckpoint(withExt) as never), withExt);
  });

  test("malformed checkpoints are refused with a reason", () => {
    const bad: [string, RegExp][] = [
      ["example.com/x\n020852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", /tree size/],
      ["example.com/x\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", /tree size/],
      ["example.com/x\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2=\n", /root hash/],
      ["example.com/x\n5\n", /at least three lines/],
      ["\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n", /origin line is empty/],
      ["example.com/x\n5\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n", /extension line is empty/],
    ];
    for (const [text, reason] of bad) {
      const out = parseCheckpoint(text);
      assert.ok("reason" in out, text);
      assert.match(out.reason, reason);
    }
  });
});

describe("tlog-cosignature", () => {
  test("the spec's example witness line carries time 1679315147 and the key ID of its name with type 0x04", () => {
    const parsed = parseNote(CHECKPOINT_EXAMPLE.text + "\n" + CHECKPOINT_EXAMPLE.witnessLine);
    assert.ok(!("reason" in parsed));
    const sig = parsed.signatures[0]!;
    assert.equal(sig.keyId, 0x8d66cf3f);
    assert.equal(sig.signature.length, 72);
    assert.equal(cosignatureTime(sig.signature), 1679315147);
  });

  test("the signed message is the spec's, byte for byte", () => {
    assert.equal(cosignatureMessage(CHECKPOINT_EXAMPLE.text, 1679315147), COSIGNATURE_MESSAGE_EXAMPLE);
  });

  test("our cosignature verifies; a changed time, text or key does not", () => {
    const key = generateNodeKey();
    const signer = cosignatureSigner("w.example/1", key.privateKey, key.publicKeyBytes, () => 1679315147);
    const note = signNote(CHECKPOINT_EXAMPLE.text, [signer]);
    const verifier = cosignatureVerifier("w.example/1", key.publicKeyBytes);
    assert.equal(openNote(note, [verifier]).outcome, "verified");
    // The key ID differs from an Ed25519 note key of the same name and key.
    assert.notEqual(signer.keyId, ed25519NoteSigner("w.example/1", key.privateKey, key.publicKeyBytes).keyId);
    const parsed = parseNote(note) as { signatures: { signature: Uint8Array }[] };
    const sig = Uint8Array.from(parsed.signatures[0]!.signature);
    sig[7]! ^= 1;
    assert.equal(verifier.verify(new TextEncoder().encode(CHECKPOINT_EXAMPLE.text), sig), false, "the time is signed");
    assert.equal(openNote(note.replace("20852163", "20852164"), [verifier]).outcome, "rejected");
    const other = generateNodeKey();
    assert.equal(openNote(note, [cosignatureVerifier("w.example/1", other.publicKeyBytes)]).outcome, "rejected");
  });
});

describe("tlog-tiles", () => {
  test("index 1234067 is x001/x234/067, and paths read back strictly", () => {
    assert.equal(tileIndexPath(TILE_EXAMPLES.indexPath.index), TILE_EXAMPLES.indexPath.path);
    assert.equal(tilePath({ level: 0, index: 1234067, width: 256 }), "tile/0/x001/x234/067");
    assert.equal(tilePath({ level: "entries", index: 5, width: 3 }), "tile/entries/005.p/3");
    assert.deepEqual(parseTilePath("tile/0/x001/x234/067"), { level: 0, index: 1234067, width: 256 });
    assert.deepEqual(parseTilePath("tile/2/000.p/1"), { level: 2, index: 0, width: 1 });
    for (const bad of ["tile/0/x001/234/067", "tile/0/001/x234/067", "tile/00/000", "tile/0/x000/001", "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/05", "tile/64/000", "tile/0/0000", "tile/0/../000"]) {
      assert.equal(parseTilePath(bad), undefined, bad);
    }
  });

  test("a tree of 70,000 is 273 full level-0 tiles, one of width 112, one full level-1 tile, one of width 17, one level-2 tile of width 1", () => {
    const { size } = TILE_EXAMPLES.size70000;
    const l0 = tilesAtLevel(0, size);
    const l1 = tilesAtLevel(1, size);
    const l2 = tilesAtLevel(2, size);
    assert.equal(l0.filter((t) => t.width === 256).length, TILE_EXAMPLES.size70000.fullLevel0);
    assert.equal(l0.at(-1)!.width, TILE_EXAMPLES.size70000.partialLevel0);
    assert.equal(l1.filter((t) => t.width === 256).length, TILE_EXAMPLES.size70000.fullLevel1);
    assert.equal(l1.at(-1)!.width, TILE_EXAMPLES.size70000.partialLevel1);
    assert.deepEqual(l2, [{ level: 2, index: 0, width: TILE_EXAMPLES.size70000.partialLevel2 }]);
    assert.equal(levelHashCount(3, size), 0);
  });

  test("a tree of 256 is one full level-0 tile and a level-1 tile of width 1", () => {
    assert.deepEqual([...tilesAtLevel(0, 256), ...tilesAtLevel(1, 256)], [{ level: 0, index: 0, width: 256 }, { level: 1, index: 0, width: 1 }]);
    assert.deepEqual(tilesToWrite(255, 256), [{ level: 0, index: 0, width: 256 }, { level: 1, index: 0, width: 1 }]);
  });
});

describe("tlog-witness add-checkpoint", () => {
  test("the spec's example request body parses: old size, four proof hashes, the checkpoint with two signatures", () => {
    const req = parseAddCheckpoint(ADD_CHECKPOINT_EXAMPLE);
    assert.ok(!("reason" in req));
    assert.equal(req.oldSize, 20852014);
    assert.equal(req.proof.length, 4);
    assert.equal(Buffer.from(req.proof[0]!).toString("base64"), "PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=");
    assert.ok(req.note.startsWith(CHECKPOINT_EXAMPLE.text + "\n"));
    assert.equal(formatAddCheckpoint(req), ADD_CHECKPOINT_EXAMPLE);
  });

  test("malformed bodies are refused with a reason", () => {
    for (const [body, reason] of [
      ["old 01\n\nx", /old size line/],
      ["old 5\nnot-base64\n\nx", /not base64/],
      ["old 5\nPlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n", /no blank line/],
      [`old 5\n${"PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=\n".repeat(64)}\nx`, /more than 63/],
    ] as const) {
      const out = parseAddCheckpoint(body);
      assert.ok("reason" in out);
      assert.match(out.reason, reason);
    }
  });

  test("an unknown origin is 404 and a note without a valid log signature is 403", () => {
    const key = generateNodeKey();
    const logKeys = (o: string) => (o === "example.com/behind-the-sofa" ? [ed25519NoteVerifier(o, key.publicKeyBytes)] : undefined);
    const cosigners = [cosignatureSigner("w.example/1", key.privateKey, key.publicKeyBytes, () => 1)];
    const req = parseAddCheckpoint(ADD_CHECKPOINT_EXAMPLE) as never;
    assert.equal(addCheckpoint(req, { logKeys: () => undefined, latest: () => undefined, cosigners }).status, 404);
    assert.equal(addCheckpoint(req, { logKeys, latest: () => undefined, cosigners }).status, 403);
  });
});
