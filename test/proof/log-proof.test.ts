/**
 * The log part of proof files end to end (docs/EXPLORER.md §Proof files, "The log part"): three
 * real `serve` processes, each with its own state and each a quorum witness (k = 2). a seals
 * three batches and b one; b and c cosign a's log heads, a and c b's. c's explorer API serves a
 * proof of a's first batch carrying the checkpoint's inclusion in a's witnessed head of size 3,
 * and the real CLI checks it offline with only that file and a's trust file. Every alteration of
 * the log part is refused with exit 1 and its own message, never read as "unlogged"; a proof
 * whose checkpoint no k witnesses saw in the log is served without a log part and says so.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { verifyTsaAnchor } from "../../lib/anchors/tsa/verify-anchor.js";
import { readKeyFile } from "../../lib/identity/key-file.js";
import { parseProofFile } from "../../lib/proof/file.js";
import { trustPolicy } from "../../lib/proof/trust.js";
import { verifyProof, type AnchorCheck } from "../../lib/proof/verify.js";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { logOrigin } from "../../lib/origin-log/origin-log.js";
import { witnessName } from "../../lib/origin-log/witness-name.js";
import { parseCheckpoint } from "../../lib/tlog/checkpoint.js";
import { cosignatureSigner, cosignatureTime } from "../../lib/tlog/cosignature.js";
import { ed25519NoteSigner, noteSignatureLine, parseNote } from "../../lib/tlog/note.js";
import { runCli, type CliResult } from "../support/cli.js";
import { startMesh, waitUntil, MESH_NAMESPACE as NS, type Mesh } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { sealTsaBatch, type SealedFiles } from "../support/sealer.js";

const NAMES = ["a", "b", "c"];
const did = (n: string) => `did:vm:node:${n}`;

let tsa: OpensslTsa;
let mesh: Mesh;
let outside: string;
const sealed = new Map<string, SealedFiles>();
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- proof files are edited member by member below
const proofs = new Map<string, any>();
const logHeaders = new Map<string, string>();

// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function writeProof(name: string, proof: any): Promise<string> {
  await writeFile(join(outside, name), typeof proof === "string" ? proof : JSON.stringify(proof));
  return name;
}

/** The real CLI as a third party runs it: in a directory without configuration, with only --trust. */
const stranger = (...args: string[]): Promise<CliResult> => runCli(args, { cwd: outside, timeoutMs: 60_000 });

/** The proof of batch `id`'s first event as `from`'s API serves it, once its log part shows a head of `size`. */
async function servedProof(from: string, id: string, size: number): Promise<void> {
  const url = `${mesh.node(from).url}/api/v1/receipts/${sealed.get(id)!.leaves[0]}/proof`;
  await waitUntil(
    async () => {
      const res = await fetch(url);
      if (res.status !== 200) return false;
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const p = (await res.json()) as any;
      if (p.log === undefined || p.cosignatures.length < 2) return false;
      const head = parseCheckpoint(p.log.head.slice(0, p.log.head.indexOf("\n\n") + 1));
      if ("reason" in head || head.size !== size) return false;
      proofs.set(id, p);
      logHeaders.set(id, res.headers.get("x-vmsh-log") ?? "");
      return true;
    },
    90_000,
    `${from} to serve a logged proof of ${id} in a head of size ${size}`,
  );
}

/** The head's text and its signature lines (signed-note §Format). */
function split(head: string): { text: string; lines: string[] } {
  const at = head.lastIndexOf("\n\n");
  return { text: head.slice(0, at + 1), lines: head.slice(at + 2).split("\n").filter((l) => l !== "") };
}
const join2 = (text: string, lines: string[]) => `${text}\n${lines.map((l) => `${l}\n`).join("")}`;
const lineOf = (lines: string[], name: string) => lines.find((l) => l.split(" ")[1] === name)!;

before(async () => {
  tsa = createOpensslTsa();
  outside = await mkdtemp(join(tmpdir(), "vmsh-log-proof-"));
  mesh = await startMesh(NAMES.map((n) => ({ name: n, routes: NAMES.filter((x) => x !== n) })), { trustPem: tsa.rootPem, witnesses: NAMES });
  for (const n of NAMES) await mesh.setQuorum(n, { k: 2, witnesses: NAMES.map(did) });
  // a's three checkpoints enter its log while its serve is stopped, so the first head a signs and
  // its witnesses cosign has size 3: an origin answers an inclusion with the earliest witnessed
  // head that holds the checkpoint (docs/FEDERATION_PROTOCOL.md §Origin log), which is then that one.
  await mesh.node("a").stop();
  for (const [node, id, at] of [["a", "la-1", 1_760_000_000], ["a", "la-2", 1_760_000_100], ["a", "la-3", 1_760_000_200], ["b", "lb-1", 1_760_000_300]] as const) {
    if (node === "b") await mesh.node("a").start();
    const s = await sealTsaBatch(join(mesh.root, "sealer"), id, 4, tsa, at);
    sealed.set(id, s);
    const r = await mesh.node(node).cli("announce", "--namespace", NS, "--batch", s.batchFile, "--receipts", s.receiptsDir);
    assert.equal(r.code, 0, r.stderr);
  }
  // c, neither origin, serves them: it fetches each origin's inclusion from GET /log/inclusion/….
  await servedProof("c", "la-1", 3);
  await servedProof("c", "la-2", 3);
  await servedProof("c", "lb-1", 1);
  for (const [id, p] of proofs) await writeProof(`${id}.json`, p);
  const t = await mesh.node("a").cli("trust", "export", "--namespace", NS);
  assert.equal(t.code, 0, t.stderr);
  await writeFile(join(outside, "trust-a.json"), t.stdout);
});

after(async () => {
  await mesh?.stop();
  tsa?.cleanup();
  if (outside !== undefined) await rm(outside, { recursive: true, force: true });
});

describe("proof files carry the checkpoint's log inclusion", () => {
  test("export: the log part is a's head signed by a's log key and cosigned by b and c, the leaf index and the path; the header says logged", () => {
    const p = proofs.get("la-1");
    assert.deepEqual(Object.keys(p.log).sort(), ["head", "index", "proof"]);
    assert.equal(p.log.index, 0);
    assert.equal(p.log.proof.length, 2, "leaf 0 of 3: two hashes");
    const { text, lines } = split(p.log.head);
    assert.equal(text.split("\n")[0], logOrigin(did("a")));
    assert.deepEqual(lines.map((l) => l.split(" ")[1]).sort(), [logOrigin(did("a")), witnessName(did("b")), witnessName(did("c"))]);
    assert.equal(proofs.get("la-2").log.index, 1);
    assert.equal(split(proofs.get("lb-1").log.head).text.split("\n")[0], logOrigin(did("b")));
    assert.equal(logHeaders.get("la-1"), "logged");
  });

  test("verify-proof with a node's configuration: logged and witnessed, with the k-th cosignature time", async () => {
    const r = await mesh.node("b").cli("verify-proof", join(outside, "la-1.json"), "--require-final", "--require-logged");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /log: logged and witnessed: leaf 0 of the head of size 3 of vmsh-federation\/log\/did:vm:node:a, signed by the origin's log key; cosigned by 2 of 2 witnesses \(k = 2: did:vm:node:[bc] at .*, did:vm:node:[bc] at .*\); witnessed at /);
    assert.match(r.stdout, /proof verified$/m);
  });
});

describe("a proof whose checkpoint no k witnesses saw in the log", () => {
  test("served without a log part, the header and verify-proof say unlogged; --require-logged exits 1", async () => {
    // With c stopped, a's next head can reach at most b: one of the two witnesses needed.
    await mesh.node("c").stop();
    const s = await sealTsaBatch(join(mesh.root, "sealer"), "la-4", 4, tsa, 1_760_000_400);
    const a = await mesh.node("a").cli("announce", "--namespace", NS, "--batch", s.batchFile, "--receipts", s.receiptsDir);
    assert.equal(a.code, 0, a.stderr);
    let res: Response | undefined;
    await waitUntil(async () => (res = await fetch(`${mesh.node("a").url}/api/v1/receipts/${s.leaves[0]}/proof`)).status === 200, 30_000, "a to serve the proof of la-4");
    res = res!;
    assert.match(res.headers.get("x-vmsh-log") ?? "", /^unlogged; reason="the head including it has [01] of 2 witness cosignatures, the origin's own not counted"$/);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const p = (await res.json()) as any;
    assert.equal(p.log, undefined);
    await writeProof("la-4.json", p);
    const plain = await stranger("verify-proof", "la-4.json", "--trust", "trust-a.json", "--json");
    assert.equal(plain.code, 0, plain.stdout);
    const v = JSON.parse(plain.stdout);
    assert.equal(v.log, undefined);
    assert.deepEqual(v.logged, { state: "unlogged", reason: "the file carries no inclusion of the checkpoint in its origin's log (log): nothing in it shows that witnesses saw the checkpoint in that log" });
    const text = await stranger("verify-proof", "la-4.json", "--trust", "trust-a.json");
    assert.equal(text.code, 0, text.stdout);
    assert.match(text.stdout, /log: unlogged: the file carries no inclusion of the checkpoint in its origin's log/);
    const strict = await stranger("verify-proof", "la-4.json", "--trust", "trust-a.json", "--require-logged");
    assert.equal(strict.code, 1, strict.stdout);
    assert.match(strict.stdout, /proof verified but NOT logged \(--require-logged\): the file carries no inclusion/);
    // A logged file with its log part cut off is the same: unlogged, never "logged".
    const { log: _log, ...cut } = proofs.get("la-1");
    const c = await stranger("verify-proof", await writeProof("cut.json", cut), "--trust", "trust-a.json", "--require-logged", "--json");
    assert.equal(c.code, 1, c.stdout);
    assert.equal(JSON.parse(c.stdout).logged.state, "unlogged");
  });
});

describe("an altered log part is refused, never read as unlogged", () => {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const refused = async (name: string, alter: (p: any) => void, want: RegExp, trust = "trust-a.json"): Promise<void> => {
    const p = structuredClone(proofs.get("la-1"));
    alter(p);
    const r = await stranger("verify-proof", await writeProof(`${name}.json`, p), "--trust", trust);
    assert.equal(r.code, 1, `${name}: ${r.stdout}${r.stderr}`);
    assert.match(r.stdout, new RegExp(`proof NOT verified: ${want.source}`), name);
    assert.doesNotMatch(r.stdout, /log: (logged|unlogged)/, name);
    const j = await stranger("verify-proof", `${name}.json`, "--trust", trust, "--json");
    assert.equal(j.code, 1, name);
    const v = JSON.parse(j.stdout);
    assert.equal(v.ok, false, name);
    assert.equal(v.logged, undefined, name);
  };

  test("a flipped byte in the head's text: a's log signature does not verify", async () => {
    await refused("head-text", (p) => {
      const { text, lines } = split(p.log.head);
      const [origin, size, root] = text.split("\n") as [string, string, string];
      const flipped = root.slice(0, 10) + (root[10] === "A" ? "B" : "A") + root.slice(11);
      p.log.head = join2(`${origin}\n${size}\n${flipped}\n`, lines);
    }, /log\.head: the signature of vmsh-federation\/log\/did:vm:node:a \(key [0-9a-f]{8}\) does not verify/);
  });

  test("a flipped byte in a witness's cosignature: that cosignature does not verify", async () => {
    await refused("cosignature", (p) => {
      const { text, lines } = split(p.log.head);
      p.log.head = join2(text, lines.map((l) => {
        if (l.split(" ")[1] !== witnessName(did("b"))) return l;
        const [dash, name, b64] = l.split(" ") as [string, string, string];
        const bytes = Buffer.from(b64, "base64");
        bytes[4 + 8 + 10] = bytes[4 + 8 + 10]! ^ 1;
        return `${dash} ${name} ${bytes.toString("base64")}`;
      }));
    }, /log\.head: the signature of vmsh-federation\/witness\/did:vm:node:b \(key [0-9a-f]{8}\) does not verify/);
  });

  test("a flipped byte in the inclusion path, a changed index, an index past the head, another checkpoint's log part", async () => {
    await refused("path", (p) => {
      const h = Buffer.from(p.log.proof[1], "base64");
      h[0] = h[0]! ^ 1;
      p.log.proof[1] = h.toString("base64");
    }, /log\.proof: the inclusion proof does not lead to the root hash/);
    await refused("index", (p) => (p.log.index = 1), /log\.proof: the inclusion proof does not lead to the root hash/);
    await refused("index-past", (p) => (p.log.index = 3), /log\.proof: proof\.index 3 is not below proof\.size 3/);
    await refused("other-checkpoint", (p) => (p.log = structuredClone(proofs.get("la-2").log)), /log\.proof: the inclusion proof does not lead to the root hash/);
    await refused("short-path", (p) => p.log.proof.pop(), /log\.proof: proof\.path has too few elements \(1\) for index 0 in size 3/);
  });

  test("another origin's witnessed head (b's), with its own path: not signed by a's log", async () => {
    await refused("b-head", (p) => (p.log = structuredClone(proofs.get("lb-1").log)), /log\.head: not signed by the log of did:vm:node:a/);
  });

  test("a head re-signed by another key under a's log name: not signed by a's log", async () => {
    const mallory = generateNodeKey();
    await refused("wrong-key", (p) => {
      const { text, lines } = split(p.log.head);
      const forged = noteSignatureLine(text, ed25519NoteSigner(logOrigin(did("a")), mallory.privateKey, mallory.publicKeyBytes)).trimEnd();
      p.log.head = join2(text, lines.map((l) => (l.split(" ")[1] === logOrigin(did("a")) ? forged : l)));
    }, /log\.head: not signed by the log of did:vm:node:a/);
  });

  test("cosignatures below k, the same witness twice, and the origin cosigning its own head: counted once, below k", async () => {
    const below = /log\.head: cosigned by 1 of the 2 distinct witnesses of dao:vaultmesh needed \(did:vm:node:b\); the origin's own cosignature of its log does not count/;
    await refused("one-witness", (p) => {
      const { text, lines } = split(p.log.head);
      p.log.head = join2(text, lines.filter((l) => l.split(" ")[1] !== witnessName(did("c"))));
    }, below);
    await refused("same-witness-twice", (p) => {
      const { text, lines } = split(p.log.head);
      const b = lineOf(lines, witnessName(did("b")));
      p.log.head = join2(text, [...lines.filter((l) => l.split(" ")[1] !== witnessName(did("c"))), b]);
    }, below);
    const aKey = await readKeyFile(join(mesh.node("a").configDir, "keys", "node.key"));
    await refused("origin-cosigns-itself", (p) => {
      const { text, lines } = split(p.log.head);
      const own = noteSignatureLine(text, cosignatureSigner(witnessName(did("a")), aKey.privateKey, aKey.publicKeyBytes, () => 1_760_000_000)).trimEnd();
      p.log.head = join2(text, [...lines.filter((l) => l.split(" ")[1] !== witnessName(did("c"))), own]);
    }, below);
    await refused("no-witness", (p) => {
      const { text, lines } = split(p.log.head);
      p.log.head = join2(text, [lineOf(lines, logOrigin(did("a")))]);
    }, /log\.head: cosigned by 0 of the 2 distinct witnesses of dao:vaultmesh needed; /);
  });

  test("an oversized path, a head that is no note, a member of the wrong type: refused as a file, naming the member", async () => {
    await refused("oversized-path", (p) => (p.log.proof = Array.from({ length: 64 }, () => p.log.proof[0])), /file: proof\.log\.proof: expected a list of at most 63 hashes/);
    await refused("not-a-note", (p) => (p.log.head = "vmsh-federation/log/did:vm:node:a\n3\n"), /log\.head: the note has no blank line before its signatures/);
    await refused("index-string", (p) => (p.log.index = "0"), /file: proof\.log\.index: expected an integer/);
    await refused("extra-member", (p) => (p.log.witnessed = true), /file: proof\.log: unknown member "witnessed"/);
    await refused("hash-not-32", (p) => (p.log.proof[0] = Buffer.alloc(31).toString("base64")), /log\.proof: each element must be base64 of 32 bytes/);
  });

  test("every character of the log part flipped in turn: never verified, never read as unlogged", async () => {
    const policy = trustPolicy(JSON.parse(await readFile(join(outside, "trust-a.json"), "utf8")));
    const check: AnchorCheck = async (anchor, root) => {
      const r = await verifyTsaAnchor(anchor, root, { trustPem: policy.tsa!.trustPem!, tsas: policy.tsa!.tsas, inline: true });
      return r.reason === undefined ? { outcome: r.outcome } : { outcome: r.outcome, reason: r.reason };
    };
    const genuine = proofs.get("la-1");
    const base = await verifyProof(parseProofFile(structuredClone(genuine)), policy, check);
    assert.equal(base.ok && base.logged?.state, "logged");
    const text = JSON.stringify(genuine);
    const span = JSON.stringify(genuine.log);
    const at = text.indexOf(span);
    let tried = 0;
    for (let i = at; i < at + span.length; i++) {
      let proof;
      try {
        proof = parseProofFile(JSON.parse(text.slice(0, i) + String.fromCharCode(text.charCodeAt(i) ^ 1) + text.slice(i + 1)));
      } catch {
        continue;
      }
      tried++;
      const v = await verifyProof(proof, policy, check);
      assert.equal(v.ok, false, `flip at ${i - at} of the log part verified`);
      assert.equal(v.logged, undefined, `flip at ${i - at} read as ${v.logged?.state}`);
      assert.match(v.failure ?? "", /^(log\.head|log\.proof|log): /, `flip at ${i - at}`);
    }
    assert.ok(tried > span.length / 2, `only ${tried} of ${span.length} flips parsed`);
  });

  test("a trust file without the namespace's quorum cannot count the head's witnesses: refused", async () => {
    const t = JSON.parse(await readFile(join(outside, "trust-a.json"), "utf8"));
    delete t.namespaces[0].quorum;
    await writeFile(join(outside, "trust-no-quorum.json"), JSON.stringify(t));
    await refused("no-quorum", () => undefined, /log: the trust policy sets no quorum for dao:vaultmesh, so no witness cosignature of the log head can be counted/, "trust-no-quorum.json");
  });
});

describe("a third party holding only the proof file and the trust file", () => {
  test("every node stopped: exit 0 offline, --json states logged, the witnesses and the k-th cosignature time", async () => {
    for (const n of NAMES) await mesh.node(n).stop();
    const r = await stranger("verify-proof", "la-1.json", "--trust", "trust-a.json", "--require-final", "--require-logged", "--json");
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const v = JSON.parse(r.stdout);
    assert.equal(v.ok, true);
    assert.equal(v.final, true);
    assert.equal(v.requireLogged, true);
    assert.deepEqual(v.log, { ok: true });
    // The witnessed time is read here from the head's own cosignature lines: the 2nd earliest.
    const note = parseNote(proofs.get("la-1").log.head);
    assert.ok(!("reason" in note));
    const times = note.signatures.filter((s) => s.name !== logOrigin(did("a"))).map((s) => ({ did: s.name.slice("vmsh-federation/witness/".length), time: cosignatureTime(s.signature)! }));
    times.sort((x, y) => x.time - y.time || (x.did < y.did ? -1 : 1));
    assert.deepEqual(v.logged, { state: "logged", log: logOrigin(did("a")), index: 0, size: 3, k: 2, n: 2, cosigners: times, witnessedAt: times[1]!.time });
    assert.deepEqual(times.map((t) => t.did).sort(), [did("b"), did("c")]);
    const text = await stranger("verify-proof", "la-1.json", "--trust", "trust-a.json", "--require-logged");
    assert.equal(text.code, 0, text.stdout);
    assert.match(text.stdout, new RegExp(`witnessed at ${new Date(times[1]!.time * 1000).toISOString()} \\(${times[1]!.time}\\)`));
    const b = await stranger("verify-proof", "lb-1.json", "--trust", "trust-a.json", "--require-logged", "--json");
    assert.equal(b.code, 0, b.stdout);
    assert.equal(JSON.parse(b.stdout).logged.log, logOrigin(did("b")));
  });
});
