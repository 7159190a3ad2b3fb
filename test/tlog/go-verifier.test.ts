/**
 * Go's reference implementation checks what lib/tlog writes: a small Go program built offline
 * from Debian's golang-go and golang-golang-x-mod-dev (GOPATH=/usr/share/gocode, GO111MODULE=off)
 * opens our signed heads with golang.org/x/mod/sumdb/note (Ed25519, plus a cosignature/v1
 * verifier written in Go from c2sp.org/tlog-cosignature), checks our inclusion and consistency
 * proofs with sumdb/tlog CheckRecord/CheckTree, and authenticates our tiles with
 * TileHashReader (Go's tile paths carry a height segment, `tile/8/L/N`, that tlog-tiles dropped:
 * the program maps one to the other). Every case has its tampered twin, which Go must refuse.
 */
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { rfc9162LeafHash } from "../../lib/merkle/rfc9162.js";
import { formatCheckpoint } from "../../lib/tlog/checkpoint.js";
import { cosignatureSigner } from "../../lib/tlog/cosignature.js";
import { ed25519NoteSigner, formatVerifierKey, signNote } from "../../lib/tlog/note.js";
import { consistencyProof, inclusionProof, treeHash } from "../../lib/tlog/proof.js";
import { memoryLog } from "./memory-log.js";

const GO_VERIFIER = String.raw`package main

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

type cosigVerifier struct {
	name string
	key  ed25519.PublicKey
}

func (v cosigVerifier) Name() string { return v.name }
func (v cosigVerifier) KeyHash() uint32 {
	h := sha256.Sum256(append(append([]byte(v.name), '\n', 0x04), v.key...))
	return binary.BigEndian.Uint32(h[:4])
}
func (v cosigVerifier) Verify(msg, sig []byte) bool {
	if len(sig) != 72 {
		return false
	}
	t := binary.BigEndian.Uint64(sig[:8])
	m := append([]byte(fmt.Sprintf("cosignature/v1\ntime %d\n", t)), msg...)
	return ed25519.Verify(v.key, m, sig[8:])
}

type input struct {
	LogVkey     string            "json:\"logVkey\""
	CosignName  string            "json:\"cosignName\""
	CosignKey   []byte            "json:\"cosignKey\""
	Note        string            "json:\"note\""
	Entry       []byte            "json:\"entry\""
	Index       int64             "json:\"index\""
	Proof       []tlog.Hash       "json:\"proof\""
	OldSize     int64             "json:\"oldSize\""
	OldRoot     tlog.Hash         "json:\"oldRoot\""
	Consistency []tlog.Hash       "json:\"consistency\""
	Tiles       map[string][]byte "json:\"tiles\""
}

type tiles map[string][]byte

func (t tiles) Height() int { return 8 }
func (t tiles) ReadTiles(ts []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(ts))
	for i, x := range ts {
		p := strings.Replace(x.Path(), "tile/8/", "tile/", 1)
		d, ok := t[p]
		if !ok {
			return nil, fmt.Errorf("no tile %s", p)
		}
		out[i] = d
	}
	return out, nil
}
func (t tiles) SaveTiles([]tlog.Tile, [][]byte) {}

func errText(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error()
}

func main() {
	var cases []input
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		panic(err)
	}
	var results []map[string]string
	for _, c := range cases {
		r := map[string]string{}
		results = append(results, r)
		lv, err := note.NewVerifier(c.LogVkey)
		if err != nil {
			r["note"] = err.Error()
			continue
		}
		n, err := note.Open([]byte(c.Note), note.VerifierList(lv, cosigVerifier{c.CosignName, c.CosignKey}))
		if err != nil {
			r["note"] = err.Error()
			continue
		}
		r["note"] = "ok"
		names := []string{}
		for _, s := range n.Sigs {
			names = append(names, s.Name)
		}
		r["signers"] = strings.Join(names, ",")
		lines := strings.Split(n.Text, "\n")
		size, _ := strconv.ParseInt(lines[1], 10, 64)
		rootBytes, _ := base64.StdEncoding.DecodeString(lines[2])
		var root tlog.Hash
		copy(root[:], rootBytes)
		r["inclusion"] = errText(tlog.CheckRecord(c.Proof, size, root, c.Index, tlog.RecordHash(c.Entry)))
		r["consistency"] = errText(tlog.CheckTree(c.Consistency, size, root, c.OldSize, c.OldRoot))
		hr := tlog.TileHashReader(tlog.Tree{N: size, Hash: root}, tiles(c.Tiles))
		th, err := tlog.TreeHash(size, hr)
		if err == nil && th != root {
			err = fmt.Errorf("tree hash from tiles differs")
		}
		r["tiles"] = errText(err)
		if err == nil {
			p, err := tlog.ProveRecord(size, c.Index, hr)
			if err == nil && len(p) != len(c.Proof) {
				err = fmt.Errorf("Go's proof from our tiles has %d hashes, ours %d", len(p), len(c.Proof))
			}
			for i := range p {
				if err == nil && p[i] != c.Proof[i] {
					err = fmt.Errorf("Go's proof from our tiles differs at %d", i)
				}
			}
			r["goProof"] = errText(err)
		}
	}
	json.NewEncoder(os.Stdout).Encode(results)
}
`;

describe("Go's sumdb/note and sumdb/tlog read our log", () => {
  let dir: string;
  let binary: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "vmsh-tlog-go-"));
    writeFileSync(join(dir, "main.go"), GO_VERIFIER);
    binary = join(dir, "verifier");
    const env = { ...process.env, GOPATH: "/usr/share/gocode", GO111MODULE: "off", GOFLAGS: "", GOCACHE: join(dir, "cache"), GOTOOLCHAIN: "local" };
    try {
      execFileSync("go", ["build", "-o", binary, "main.go"], { cwd: dir, env, stdio: "pipe" });
    } catch (e) {
      throw new Error(`building the Go verifier needs Debian's golang-go and golang-golang-x-mod-dev: ${(e as { stderr?: Buffer }).stderr?.toString() ?? (e as Error).message}`);
    }
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test("a signed, cosigned head of 1000 checkpoints, an inclusion proof, a consistency proof from 600, and the tiles all verify in Go; tampered ones do not", async () => {
    const logKey = generateNodeKey();
    const witnessKey = generateNodeKey();
    const origin = "vmsh.example/log/did:key:z6MkExample";
    const witness = "vmsh.example/witness/w1";
    const { log, storage, entries } = await memoryLog(1000, 37);
    const text = formatCheckpoint({ origin, size: 1000, rootHash: await log.rootHash() });
    const note = signNote(text, [ed25519NoteSigner(origin, logKey.privateKey, logKey.publicKeyBytes), cosignatureSigner(witness, witnessKey.privateKey, witnessKey.publicKeyBytes, () => 1_760_000_000)]);
    const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
    const index = 777;
    const proof = (await inclusionProof(index, 1000, log.reader)).map(b64);
    const consistency = (await consistencyProof(600, 1000, log.reader)).map(b64);
    const good = {
      logVkey: formatVerifierKey(origin, 0x01, logKey.publicKeyBytes),
      cosignName: witness,
      cosignKey: b64(witnessKey.publicKeyBytes),
      note,
      entry: b64(entries[index]!),
      index,
      proof,
      oldSize: 600,
      oldRoot: b64(await treeHash(600, log.reader)),
      consistency,
      tiles: Object.fromEntries([...storage.files].filter(([p]) => !p.startsWith("tile/entries/")).map(([p, d]) => [p, b64(d)])),
    };
    assert.equal(rfc9162LeafHash(entries[index]!).length, 32);
    const flip = (s: string) => b64(Uint8Array.from(Buffer.from(s, "base64"), (x, i) => (i === 0 ? x ^ 1 : x)));
    const cases = [
      good,
      { ...good, note: note.replace("\n1000\n", "\n1001\n") },
      { ...good, proof: [flip(proof[0]!), ...proof.slice(1)] },
      { ...good, entry: b64(entries[index + 1]!) },
      { ...good, consistency: [...consistency.slice(0, -1), flip(consistency.at(-1)!)] },
      { ...good, oldRoot: flip(good.oldRoot) },
      { ...good, tiles: { ...good.tiles, "tile/0/003.p/232": flip(good.tiles["tile/0/003.p/232"]!) } },
      // Our note with a cosignature line whose time was changed: the whole note is refused.
      { ...good, note: note.replace(/(\u2014 vmsh\.example\/witness\/w1 )(\S+)/u, (_m, a: string, s: string) => a + b64(Uint8Array.from(Buffer.from(s, "base64"), (x, i) => (i === 11 ? x ^ 1 : x)))) },
    ];
    const out = JSON.parse(execFileSync(binary, { input: JSON.stringify(cases) }).toString()) as Record<string, string>[];
    assert.deepEqual(out[0], { note: "ok", signers: `${origin},${witness}`, inclusion: "ok", consistency: "ok", tiles: "ok", goProof: "ok" });
    assert.notEqual(out[1]!.note, "ok", "a changed size breaks the log's signature");
    assert.notEqual(out[2]!.inclusion, "ok");
    assert.notEqual(out[3]!.inclusion, "ok");
    assert.notEqual(out[4]!.consistency, "ok");
    assert.notEqual(out[5]!.consistency, "ok");
    assert.notEqual(out[6]!.tiles, "ok");
    assert.notEqual(out[7]!.note, "ok", "a cosignature with a changed time fails in Go");
    for (const [i, r] of out.slice(2, 6).entries()) assert.equal(r.note, "ok", `case ${i + 2}: the note itself is intact`);
  });
});
