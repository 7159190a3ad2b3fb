/**
 * TiledLog and the RFC 9162 proofs built from its tiles: roots equal the reference tree hash of
 * lib/merkle/rfc9162.ts at every size, proofs verify, and every altered proof is refused; the
 * witness decision (tlog-witness add-checkpoint) cosigns only consistent heads.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { rfc9162LeafHash, rfc9162TreeHead } from "../../lib/merkle/rfc9162.js";
import { formatCheckpoint } from "../../lib/tlog/checkpoint.js";
import { cosignatureSigner, cosignatureVerifier } from "../../lib/tlog/cosignature.js";
import { ed25519NoteSigner, ed25519NoteVerifier, openNote, signNote } from "../../lib/tlog/note.js";
import { consistencyProof, inclusionProof, treeHash, verifyConsistency, verifyInclusion } from "../../lib/tlog/proof.js";
import { TiledLog } from "../../lib/tlog/tiled-log.js";
import { addCheckpoint, type WitnessRecord } from "../../lib/tlog/witness.js";
import { entry, memoryLog, memoryStorage } from "./memory-log.js";

describe("TiledLog", () => {
  test("the root at every size 0..600 (batches of 1, 7 and 300) equals the RFC 9162 tree head", async () => {
    for (const batch of [1, 7, 300]) {
      const storage = memoryStorage();
      const log = new TiledLog(storage, 0);
      const entries = Array.from({ length: 600 }, (_, i) => entry(i));
      for (let i = 0; i < 600; i += batch) {
        await log.append(entries.slice(i, i + batch));
        assert.deepEqual(await log.rootHash(), rfc9162TreeHead(entries.slice(0, log.size)), `batch ${batch} size ${log.size}`);
      }
    }
  });

  test("a log reopened at its size from the same storage reads the same root and continues", async () => {
    const { storage, entries } = await memoryLog(517, 50);
    const again = new TiledLog(storage, 517);
    assert.deepEqual(await again.rootHash(), rfc9162TreeHead(entries));
    await again.append([entry(517)]);
    assert.deepEqual(await again.rootHash(), rfc9162TreeHead([...entries, entry(517)]));
    assert.equal(await again.indexOf(entry(300)), 300);
    assert.equal(await again.indexOf(entry(9999)), undefined);
  });

  test("tiles are served only for the current size; a partial tile of an earlier size stays served", async () => {
    const { log } = await memoryLog(300, 10);
    assert.equal((await log.readTile("tile/0/000"))?.length, 8192);
    assert.equal((await log.readTile("tile/0/001.p/44"))?.length, 44 * 32);
    assert.equal((await log.readTile("tile/0/001.p/34"))?.length, 34 * 32, "width of size 290");
    assert.equal(await log.readTile("tile/0/001.p/45"), null);
    assert.equal(await log.readTile("tile/0/001"), null);
    assert.equal((await log.readTile("tile/1/000.p/1"))?.length, 32);
    assert.equal((await log.readTile("tile/entries/000"))?.length, 256 * 34);
    assert.equal(await log.readTile("tile/0/../../etc/passwd"), null);
  });
});

describe("proofs", () => {
  test("every inclusion proof in trees of 1..70 verifies, and any flipped byte, index or size is refused", async () => {
    const { entries } = await memoryLog(70, 3);
    for (let size = 1; size <= 70; size++) {
      const reader = (await memoryLog(size, 5)).log.reader;
      const root = await treeHash(size, reader);
      for (let i = 0; i < size; i++) {
        const proof = await inclusionProof(i, size, reader);
        assert.deepEqual(verifyInclusion(rfc9162LeafHash(entries[i]!), i, size, proof, root), { outcome: "verified" });
        if (proof.length > 0) {
          const bad = proof.map((h) => Uint8Array.from(h));
          bad[0]![0]! ^= 1;
          assert.equal(verifyInclusion(rfc9162LeafHash(entries[i]!), i, size, bad, root).outcome, "rejected");
          assert.equal(verifyInclusion(rfc9162LeafHash(entries[i]!), i, size, proof.slice(1), root).outcome, "rejected");
        }
        if (size > 1) assert.equal(verifyInclusion(rfc9162LeafHash(entries[i]!), (i + 1) % size, size, proof, root).outcome, "rejected");
        // No size check here: a path can fit two sizes (index 0 of 3 and of 4); the signed head binds the size.
        assert.equal(verifyInclusion(rfc9162LeafHash(entries[(i + 1) % size]!), i, size, proof, root).outcome, size > 1 ? "rejected" : "verified");
      }
    }
  });

  test("every consistency proof between sizes 1..40 verifies, and altered ones are refused", async () => {
    const { log } = await memoryLog(40, 1);
    const roots = [] as Uint8Array[];
    for (let n = 0; n <= 40; n++) roots.push(await treeHash(n, log.reader));
    for (let n = 1; n <= 40; n++) {
      for (let m = 0; m <= n; m++) {
        const proof = await consistencyProof(m, n, log.reader);
        assert.deepEqual(verifyConsistency(m, n, proof, roots[m]!, roots[n]!), { outcome: "verified" }, `${m}→${n}`);
        if (m > 0 && m < n) {
          for (let k = 0; k < proof.length; k++) {
            const bad = proof.map((h) => Uint8Array.from(h));
            bad[k]![31]! ^= 0x80;
            assert.equal(verifyConsistency(m, n, bad, roots[m]!, roots[n]!).outcome, "rejected", `${m}→${n} hash ${k}`);
          }
          assert.equal(verifyConsistency(m, n, proof, roots[m - 1]!, roots[n]!).outcome, "rejected");
          assert.equal(verifyConsistency(m, n, [...proof, roots[0]!], roots[m]!, roots[n]!).outcome, "rejected");
          assert.equal(verifyConsistency(m, n, proof.slice(0, -1), roots[m]!, roots[n]!).outcome, "rejected");
        }
      }
    }
    assert.equal(verifyConsistency(5, 5, [], roots[5]!, roots[4]!).outcome, "rejected");
    assert.equal(verifyConsistency(0, 5, [roots[1]!], roots[0]!, roots[5]!).outcome, "rejected");
  });
});

describe("witness add-checkpoint", () => {
  const logKey = generateNodeKey();
  const witnessKey = generateNodeKey();
  const origin = "vmsh.example/log/a";
  const logSigner = ed25519NoteSigner(origin, logKey.privateKey, logKey.publicKeyBytes);
  const cosigner = cosignatureSigner("vmsh.example/witness/w", witnessKey.privateKey, witnessKey.publicKeyBytes, () => 1_800_000_000);
  const context = (latest: WitnessRecord | undefined) => ({
    logKeys: (o: string) => (o === origin ? [ed25519NoteVerifier(origin, logKey.publicKeyBytes)] : undefined),
    latest: () => latest,
    cosigners: [cosigner],
  });
  async function head(log: TiledLog): Promise<string> {
    return signNote(formatCheckpoint({ origin, size: log.size, rootHash: await log.rootHash() }), [logSigner]);
  }

  test("first head: cosigned; then only a consistent larger head is cosigned; the cosignature opens with the witness key", async () => {
    const { log } = await memoryLog(10);
    const first = addCheckpoint({ oldSize: 0, proof: [], note: await head(log) }, context(undefined));
    assert.equal(first.status, 200);
    assert.ok(first.status === 200);
    const cosigned = (await head(log)) + first.body;
    const opened = openNote(cosigned, [ed25519NoteVerifier(origin, logKey.publicKeyBytes), cosignatureVerifier("vmsh.example/witness/w", witnessKey.publicKeyBytes)]);
    assert.equal(opened.outcome === "verified" && opened.verified.length, 2);
    await log.append([entry(100), entry(101)]);
    const proof = await consistencyProof(10, 12, log.reader);
    const second = addCheckpoint({ oldSize: 10, proof, note: await head(log) }, context(first.record));
    assert.equal(second.status, 200);
  });

  test("a wrong old size is 409 with the known size as text/x.tlog.size; a rollback is 400; a bad proof 422", async () => {
    const { log } = await memoryLog(10);
    const record = (addCheckpoint({ oldSize: 0, proof: [], note: await head(log) }, context(undefined)) as { record: WitnessRecord }).record;
    const conflict = addCheckpoint({ oldSize: 0, proof: [], note: await head(log) }, context(record));
    assert.deepEqual([conflict.status, conflict.status !== 200 && conflict.body, conflict.status !== 200 && conflict.contentType], [409, "10\n", "text/x.tlog.size"]);
    const small = await memoryLog(8);
    assert.equal(addCheckpoint({ oldSize: 10, proof: [], note: await head(small.log) }, context(record)).status, 400);
    await log.append([entry(50)]);
    const proof = await consistencyProof(10, 11, log.reader);
    proof[0] = new Uint8Array(32);
    const bad = addCheckpoint({ oldSize: 10, proof, note: await head(log) }, context(record));
    assert.equal(bad.status, 422);
    assert.equal("evidence" in bad && bad.evidence?.kind, "no-consistency-proof");
  });

  test("a second root for the cosigned size is 422 with same-size fork evidence holding both signed notes", async () => {
    const a = await memoryLog(10);
    const forked = new TiledLog(memoryStorage(), 0);
    await forked.append([...a.entries.slice(0, 9), entry(999)]);
    const record = (addCheckpoint({ oldSize: 0, proof: [], note: await head(a.log) }, context(undefined)) as { record: WitnessRecord }).record;
    const out = addCheckpoint({ oldSize: 10, proof: [], note: await head(forked) }, context(record));
    assert.equal(out.status, 422);
    assert.ok("evidence" in out && out.evidence);
    assert.equal(out.evidence.kind, "same-size");
    assert.equal(out.evidence.cosigned, await head(a.log));
    assert.equal(out.evidence.offered, await head(forked));
  });
});
