/**
 * Public keys that bind no one (lib/identity/weak-key.ts): a point of small order, or a
 * non-canonical encoding, is refused wherever a key line is read: `parseKeyLine`, peers.yaml
 * (end to end through `status`, exit 2, nothing written), federation.yaml `governance.keys`, and
 * a roster's member keys. Under such a "key" R = that point, S = 0 verifies for every message
 * (order 1) or one in 2, 4 or 8, so anyone could sign as that peer.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { appendFile, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatKeyLine, parseKeyLine } from "../../lib/identity/did.js";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { proposeRoster } from "../../lib/roster/document.js";
import { runCli } from "../support/cli.js";
import { diffTrees, snapshotTree } from "./state-snapshot.js";

/** The y encodings of the points of order 1, 2, 4 and 8, and p, p+1 (non-canonical). */
const WEAK_HEX = [
  "0100000000000000000000000000000000000000000000000000000000000000",
  "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "0000000000000000000000000000000000000000000000000000000000000000",
  "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
  "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
  "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
];
/** Each with the sign bit clear and set, in both spellings a key line takes. */
const WEAK_LINES = WEAK_HEX.flatMap((hex) => {
  const set = Buffer.from(hex, "hex");
  set[31] = set[31]! | 0x80;
  return [`ed25519:${hex}`, formatKeyLine(Buffer.from(hex, "hex")), `ed25519:${set.toString("hex")}`];
});
const IDENTITY = formatKeyLine(Buffer.from(WEAK_HEX[0]!, "hex"));

let root: string;
let config: string;
let federation: string;
let peers: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vmsh-weak-keys-"));
  config = join(root, "config");
  const init = await runCli(["--config", config, "init"]);
  assert.equal(init.code, 0, init.stderr);
  federation = await readFile(join(config, "federation.yaml"), "utf8");
  peers = await readFile(join(config, "peers.yaml"), "utf8");
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("hardening: keys of small order are refused wherever a key line is read", () => {
  test("weak keys: parseKeyLine refuses every small-order and non-canonical key, both spellings, either sign bit", () => {
    for (const line of WEAK_LINES) {
      const r = parseKeyLine(line);
      assert.equal(typeof r, "string", line);
      assert.match(r as string, /^the key is (a point of small order|not a canonical Ed25519 point encoding)/, line);
    }
    // A real key still parses.
    const k = generateNodeKey();
    assert.deepEqual(parseKeyLine(formatKeyLine(k.publicKeyBytes)), Uint8Array.from(k.publicKeyBytes));
  });

  test("weak keys: a peers.yaml entry with the identity point as its key: status exits 2 naming the entry; nothing is written", async () => {
    await writeFile(join(config, "peers.yaml"), peers);
    await appendFile(join(config, "peers.yaml"), `  - did: "did:vm:node:z"\n    url: "http://127.0.0.1:9"\n    roles: [announce]\n    keys: { verify: "${IDENTITY}" }\n`);
    const before0 = await snapshotTree(root);
    try {
      const r = await runCli(["status", "--config", config]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /error: peers\.yaml: peers\[\d+\]\.keys\.verify: the key is a point of small order: signatures under it can be made without any private key/);
      assert.deepEqual(diffTrees(before0, await snapshotTree(root)), []);
    } finally {
      await writeFile(join(config, "peers.yaml"), peers);
    }
  });

  test("weak keys: federation.yaml governance.keys holding a small-order key: exit 2 naming it", async () => {
    const good = formatKeyLine(generateNodeKey().publicKeyBytes);
    await writeFile(join(config, "federation.yaml"), `${federation}\ngovernance:\n  k: 1\n  keys: ["${good}", "${IDENTITY}"]\n`);
    try {
      const r = await runCli(["status", "--config", config]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /federation\.yaml: governance\.keys\[1\]: the key is a point of small order/);
    } finally {
      await writeFile(join(config, "federation.yaml"), federation);
    }
  });

  test("weak keys: a roster member whose verify key is of small order is refused, naming the member", () => {
    const good = formatKeyLine(generateNodeKey().publicKeyBytes);
    const member = (did: string, key: string) => ({ did, url: "http://127.0.0.1:9000", keys: { verify: key }, roles: ["announce"] });
    const r = proposeRoster({ federation: "vm-test", serial: 1, issuedAt: 1_800_000_000, members: [member("did:vm:node:a", good), member("did:vm:node:z", IDENTITY)] });
    assert.equal(r.ok, false);
    assert.match((r as { reason: string }).reason, /members\[1\]\.keys\.verify: the key is a point of small order/);
  });
});
