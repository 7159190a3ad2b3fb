import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeKeyFile } from "../../lib/identity/key-file.js";
import { formatKeyLine } from "../../lib/identity/did.js";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { runCli } from "../support/cli.js";

describe("roster CLI without a node (docs/FEDERATION_OPERATIONS.md §Running a federation with a roster)", () => {
  test("roster cli: propose and sign work offline, in a directory with no configuration", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vmsh-roster-cli-"));
    try {
      const key = generateNodeKey();
      await writeKeyFile(join(dir, "gov.key"), key, { force: false });
      const member = formatKeyLine(generateNodeKey().publicKeyBytes);
      await writeFile(join(dir, "r.yaml"), `federation: vm\nserial: 1\nissuedAt: 1800000000\nmembers:\n  - { did: "did:vm:node:a", keys: { verify: "${member}" }, roles: [origin] }\n`);
      const proposed = await runCli(["roster", "propose", "r.yaml"], { cwd: dir });
      assert.equal(proposed.code, 0, proposed.stderr);
      assert.deepEqual(JSON.parse(proposed.stdout).sigs, []);
      await writeFile(join(dir, "r.json"), proposed.stdout);
      const signed = await runCli(["roster", "sign", "--key", "gov.key", "r.json"], { cwd: dir });
      assert.equal(signed.code, 0, signed.stderr);
      assert.deepEqual(JSON.parse(signed.stdout).sigs.map((s: { key: string }) => s.key), [formatKeyLine(key.publicKeyBytes)]);
      await writeFile(join(dir, "r1.json"), signed.stdout);
      const again = await runCli(["roster", "sign", "--key", "gov.key", "r1.json"], { cwd: dir });
      assert.equal(again.code, 2);
      assert.match(again.stderr, /already signed by ed25519:.*a key counts once/);
      await writeFile(join(dir, "bad.yaml"), `federation: vm\nserial: 1\nissuedAt: 1800000000\nsigs: []\nmembers: []\n`);
      const bad = await runCli(["roster", "propose", "bad.yaml"], { cwd: dir });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /sigs: leave it out/);
      const notKey = await runCli(["roster", "sign", "--key", "r.yaml", "r.json"], { cwd: dir });
      assert.equal(notKey.code, 2);
      assert.match(notKey.stderr, /--key: r\.yaml is not an Ed25519 private key/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test("roster cli: a file over the bound, or one that never ends (/dev/zero), is refused with exit 2 naming it, read one byte past the bound and no further", async () => {
    const dir = await mkdtemp(join(tmpdir(), "vmsh-roster-cli-"));
    try {
      const endless = await runCli(["roster", "propose", "/dev/zero"], { cwd: dir });
      assert.equal(endless.code, 2);
      assert.equal(endless.stderr.trim(), "error: roster proposal /dev/zero holds more than the 524288 bytes such a file may hold (reading stopped there)");
      await writeFile(join(dir, "big.json"), " ".repeat(512 * 1024 + 1));
      const big = await runCli(["roster", "sign", "--key", "/dev/zero", "big.json"], { cwd: dir });
      assert.equal(big.code, 2);
      assert.equal(big.stderr.trim(), "error: --key file /dev/zero holds more than the 65536 bytes such a file may hold (reading stopped there)");
      const key = generateNodeKey();
      await writeKeyFile(join(dir, "gov.key"), key, { force: false });
      const bigRoster = await runCli(["roster", "sign", "--key", "gov.key", "big.json"], { cwd: dir });
      assert.equal(bigRoster.code, 2);
      assert.equal(bigRoster.stderr.trim(), "error: roster big.json is 524289 bytes, more than the 524288 bytes such a file may hold");
      const missing = await runCli(["roster", "propose", "nothing.yaml"], { cwd: dir });
      assert.equal(missing.code, 2);
      assert.equal(missing.stderr.trim(), "error: roster proposal nothing.yaml does not exist");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
