/**
 * Files the configuration names, of hostile size
 * (docs/FEDERATION_OPERATIONS.md §Configuration reference, "Files the configuration names"): a TSA certificate bundle, an intermediates file,
 * a per-TSA bundle or a TLS certificate over 1 MiB, and the node key or a TLS key over 64 KiB,
 * are refused by their size with exit 2 and a message naming the file and the key; a device
 * that never ends (/dev/zero) is read one byte past the bound and no further. None of the
 * file's content is echoed. Driven through the real CLI (`status`, `serve`).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MAX_CERTIFICATE_FILE_BYTES, MAX_KEY_FILE_BYTES } from "../../lib/bounded-file.js";
import { runCli } from "../support/cli.js";

let root: string;
let config: string;
let federation: string;
let certPem: string;
let nodeKey: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vmsh-operator-files-"));
  config = join(root, "config");
  const init = await runCli(["--config", config, "init"]);
  assert.equal(init.code, 0, init.stderr);
  federation = await readFile(join(config, "federation.yaml"), "utf8");
  nodeKey = await readFile(join(config, "keys", "node.key"), "utf8");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ed25519", "-nodes", "-keyout", "tls.key", "-out", "cert.pem", "-subj", "/CN=operator-files", "-days", "2"], { cwd: config, stdio: "ignore" });
  certPem = await readFile(join(config, "cert.pem"), "utf8");
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** `copies` of one certificate: a valid bundle of any size. */
function bundleOf(bytes: number): string {
  const copies = Math.ceil(bytes / certPem.length);
  return certPem.repeat(copies);
}

/** Nothing of a file's content is echoed: no PEM line, no run of its bytes. */
function assertNoContent(text: string): void {
  assert.doesNotMatch(text, /BEGIN|END|MII|\0/);
  assert.ok(text.length < 400, `output is ${text.length} characters`);
}

async function status(anchors: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  await writeFile(join(config, "anchors.yaml"), anchors);
  await writeFile(join(config, "federation.yaml"), federation);
  return runCli(["status", "--config", config]);
}

describe("hardening: files the configuration names, of hostile size", () => {
  test("operator files: a 2 MiB rfc3161.trustBundle of valid certificates is refused by its size with exit 2, naming the file", async () => {
    const big = bundleOf(2 * 1024 * 1024);
    await writeFile(join(config, "big.pem"), big);
    const r = await status("rfc3161:\n  trustBundle: big.pem\n");
    assert.equal(r.code, 2, r.stderr);
    const line = r.stderr.split("\n").find((l) => l.startsWith("error: "));
    assert.equal(line, `error: anchors.yaml: rfc3161.trustBundle: ${join(config, "big.pem")} is ${Buffer.byteLength(big)} bytes, more than the ${MAX_CERTIFICATE_FILE_BYTES} bytes such a file may hold`);
    assertNoContent(line!);
    assert.equal(r.stdout, "");
  });

  test("operator files: a bundle of exactly 1 MiB is read (the bound is inclusive)", async () => {
    const copies = Math.floor(MAX_CERTIFICATE_FILE_BYTES / certPem.length);
    const pem = certPem.repeat(copies);
    const exact = pem + "#".repeat(MAX_CERTIFICATE_FILE_BYTES - Buffer.byteLength(pem));
    assert.equal(Buffer.byteLength(exact), MAX_CERTIFICATE_FILE_BYTES);
    await writeFile(join(config, "exact.pem"), exact);
    const r = await status("rfc3161:\n  trustBundle: exact.pem\n");
    assert.equal(r.code, 0, r.stderr);
  });

  test("operator files: rfc3161.intermediates naming /dev/zero is read one byte past the bound and refused with exit 2", async () => {
    await writeFile(join(config, "root.pem"), certPem);
    const r = await status("rfc3161:\n  trustBundle: root.pem\n  intermediates: /dev/zero\n");
    assert.equal(r.code, 2, r.stderr);
    const line = r.stderr.split("\n").find((l) => l.startsWith("error: "));
    assert.equal(line, `error: anchors.yaml: rfc3161.intermediates: /dev/zero holds more than the ${MAX_CERTIFICATE_FILE_BYTES} bytes such a file may hold (reading stopped there)`);
    assertNoContent(line!);
  });

  test("operator files: a per-TSA trustBundle over 1 MiB is refused with exit 2, naming its key", async () => {
    const big = bundleOf(MAX_CERTIFICATE_FILE_BYTES + 1);
    await writeFile(join(config, "tsa-big.pem"), big);
    const r = await status("rfc3161:\n  tsas:\n    acme:\n      trustBundle: tsa-big.pem\n");
    assert.equal(r.code, 2, r.stderr);
    const line = r.stderr.split("\n").find((l) => l.startsWith("error: "));
    assert.equal(line, `error: anchors.yaml: rfc3161.tsas.acme.trustBundle: ${join(config, "tsa-big.pem")} is ${Buffer.byteLength(big)} bytes, more than the ${MAX_CERTIFICATE_FILE_BYTES} bytes such a file may hold`);
  });

  test("operator files: a node key file over 64 KiB is refused by its size with exit 2, naming mesh.key_file; the key is not echoed", async () => {
    const keyFile = join(config, "keys", "node.key");
    const padded = nodeKey + "\n".repeat(MAX_KEY_FILE_BYTES);
    await writeFile(keyFile, padded, { mode: 0o600 });
    try {
      const r = await status("");
      assert.equal(r.code, 2, r.stderr);
      const line = r.stderr.split("\n").find((l) => l.startsWith("error: "));
      assert.equal(line, `error: federation.yaml: mesh.key_file: ${keyFile} is ${Buffer.byteLength(padded)} bytes, more than the ${MAX_KEY_FILE_BYTES} bytes such a file may hold`);
      assertNoContent(r.stderr);
    } finally {
      await writeFile(keyFile, nodeKey, { mode: 0o600 });
    }
  });

  for (const which of ["key", "cert"] as const) {
    test(`operator files: serve refuses a TLS ${which} file over its bound with exit 2 before it listens, naming mesh.listen.tls.${which}`, async () => {
      const max = which === "key" ? MAX_KEY_FILE_BYTES : MAX_CERTIFICATE_FILE_BYTES;
      const real = await readFile(join(config, which === "key" ? "tls.key" : "cert.pem"), "utf8");
      const big = real + "\n".repeat(max);
      await writeFile(join(config, `big-tls.${which}`), big);
      await writeFile(join(config, "anchors.yaml"), "");
      const files = which === "key" ? { key: "big-tls.key", cert: "cert.pem" } : { key: "tls.key", cert: "big-tls.cert" };
      await writeFile(join(config, "federation.yaml"), federation.replace(/http: "127\.0\.0\.1:\d+"/, `http: "127.0.0.1:0"\n    tls: { key: ${files.key}, cert: ${files.cert} }`));
      const r = await runCli(["serve", "--config", config], { timeoutMs: 60_000 });
      assert.equal(r.code, 2, r.stderr);
      assert.doesNotMatch(r.stderr, /listening on/);
      const line = r.stderr.split("\n").find((l) => l.includes(`mesh.listen.tls.${which}`));
      assert.ok(line?.endsWith(`federation.yaml: mesh.listen.tls.${which}: ${join(config, `big-tls.${which}`)} is ${Buffer.byteLength(big)} bytes, more than the ${max} bytes such a file may hold`), r.stderr);
      assertNoContent(line!);
    });
  }
});
