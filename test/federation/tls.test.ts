import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { get } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, runCli } from "../support/cli.js";

let dir: string;
let child: ChildProcess | undefined;
let url = "";

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "vmsh-tls-"));
  const cfg = join(dir, "config");
  assert.equal((await runCli(["--config", cfg, "init", "--node-id", "did:vm:node:tls", "--listen", "127.0.0.1:0"])).code, 0);
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(cfg, "tls.key"), "-out", join(cfg, "tls.crt"), "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"], { stdio: "ignore" });
  const fed = join(cfg, "federation.yaml");
  await writeFile(fed, (await readFile(fed, "utf8")).replace('http: "127.0.0.1:0"', 'http: "127.0.0.1:0"\n    tls: { key: tls.key, cert: tls.crt }'));
  child = spawn(process.execPath, [BIN, "--config", cfg, "serve"], { stdio: ["ignore", "ignore", "pipe"] });
  url = await new Promise<string>((resolve, reject) => {
    let log = "";
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${log}`)), 20_000);
    child!.stderr!.setEncoding("utf8").on("data", (d: string) => {
      log += d;
      const m = /listening on (https:\/\/\S+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
});
after(async () => {
  if (child && child.exitCode === null) {
    child.kill("SIGTERM");
    await new Promise((r) => child!.once("exit", r));
  }
  await rm(dir, { recursive: true, force: true });
});

test("tls: with mesh.listen.tls, serve speaks HTTPS with the configured certificate", async () => {
  assert.match(url, /^https:\/\/127\.0\.0\.1:\d+$/);
  const ca = await readFile(join(dir, "config", "tls.crt"));
  const body = await new Promise<string>((resolve, reject) => {
    get(`${url}/health`, { ca }, (res) => {
      let text = "";
      res.setEncoding("utf8").on("data", (d: string) => (text += d)).on("end", () => resolve(text));
    }).on("error", reject);
  });
  assert.equal(JSON.parse(body).node, "did:vm:node:tls");
  // A client that does not trust the certificate is refused by TLS itself.
  await assert.rejects(
    new Promise((resolve, reject) => get(`${url}/health`, resolve).on("error", reject)),
    /self[- ]signed|unable to verify|certificate/i,
  );
});

test("tls: a missing certificate file is a configuration error naming the key", async () => {
  const cfg = join(dir, "config");
  const fed = join(cfg, "federation.yaml");
  const original = await readFile(fed, "utf8");
  await writeFile(fed, original.replace("cert: tls.crt", "cert: missing.crt"));
  try {
    const r = await runCli(["--config", cfg, "serve"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /federation\.yaml: mesh\.listen\.tls\.cert: .*missing\.crt cannot be read: ENOENT/);
  } finally {
    await writeFile(fed, original);
  }
});
