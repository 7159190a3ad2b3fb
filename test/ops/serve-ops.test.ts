import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { appendFile, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../lib/config/load.js";
import { runCli } from "../support/cli.js";
import { waitUntil } from "../support/mesh.js";
import { startServe } from "../support/serve-process.js";

let root: string;
const pythonAvailable = spawnSync("python3", ["-c", "import socket; socket.AF_UNIX"], { stdio: "ignore" }).status === 0;
const cfgOf = (name: string) => join(root, name, "config");
const cli = (name: string, ...args: string[]) => runCli(["--config", cfgOf(name), ...args]);
const jsonLines = (text: string) => text.split("\n").filter((l) => l !== "").map((l) => {
  const o = JSON.parse(l) as Record<string, unknown>;
  assert.equal(typeof o.time, "string", l);
  assert.ok(["info", "warn", "error"].includes(o.level as string), l);
  assert.equal(typeof o.msg, "string", l);
  return o;
});

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vmsh-serve-ops-"));
  for (const n of ["a", "b"]) assert.equal((await cli(n, "init", "--node-id", `did:vm:node:${n}`, "--listen", "127.0.0.1:0", "--public-url", `http://${n}.example.test:8088`)).code, 0);
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("serve: operations", () => {
  test("init: the printed entry appended to a fresh peers.yaml loads as that peer", async () => {
    const r = await cli("a", "init", "--node-id", "did:vm:node:a2", "--public-url", "https://a2.example.test:8443", "--force");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "", "no listen-address note with --public-url");
    const lines = r.stdout.split("\n");
    const start = lines.findIndex((l) => l.startsWith("Peers add this node"));
    const entry = lines.slice(start + 1, lines.indexOf("", start)).join("\n");
    assert.match(entry, /url: "https:\/\/a2\.example\.test:8443"/);
    await appendFile(join(cfgOf("b"), "peers.yaml"), `${entry}\n`);
    const { config } = await loadConfig(cfgOf("b"), {});
    assert.equal(config.peers.get("did:vm:node:a2")?.url, "https://a2.example.test:8443");
  });

  test("init: a wildcard listen address without --public-url gets a loud note; a bad --public-url is refused, nothing written", async () => {
    const w = await runCli(["--config", join(root, "w", "config"), "init", "--node-id", "did:vm:node:w", "--listen", "0.0.0.0:8088"]);
    assert.equal(w.code, 0);
    assert.match(w.stderr, /warning: the url printed above is this node's listen address \(0\.0\.0\.0:8088\); 0\.0\.0\.0 means "every interface"/);
    for (const bad of ["http://0.0.0.0:8088", "ftp://x.example", "http://u:p@x.example", "http://x.example/path", "not a url"]) {
      const dir = join(root, "bad", "config");
      const r = await runCli(["--config", dir, "init", "--public-url", bad]);
      assert.equal(r.code, 2, bad);
      assert.match(r.stderr, /--public-url: /);
      assert.deepEqual(await readdir(join(root, "bad")).catch(() => []), [], "nothing written");
    }
  });

  test("--log-format json: every line is a JSON object, config warnings included; SIGHUP names what needs a restart", async () => {
    const fed = join(cfgOf("b"), "federation.yaml");
    await appendFile(fed, "surprise_key: 1\n");
    const s = await startServe(["--config", cfgOf("b"), "serve", "--log-format", "json"]);
    try {
      const start = jsonLines(s.stderr());
      assert.ok(start.some((l) => l.level === "warn" && /surprise_key/.test(l.msg as string)), s.stderr());
      await writeFile(join(cfgOf("b"), "anchors.yaml"), 'eip155:\n  "1": { rpcUrl: "http://127.0.0.1:9" }\nbtc: {}\n');
      await writeFile(fed, (await readFile(fed, "utf8")).replace('"127.0.0.1:0"', '"127.0.0.1:1"'));
      s.child.kill("SIGHUP");
      await waitUntil(() => s.stderr().includes("SIGHUP: not reloaded"), 10_000, "the reload lines");
      const hup = jsonLines(s.stderr()).find((l) => l.msg === "SIGHUP: not reloaded, restart to apply")!;
      assert.equal(hup.level, "warn");
      assert.match(hup.keys as string, /federation\.yaml: mesh\.listen/);
      assert.match(hup.keys as string, /anchors\.yaml/);
    } finally {
      assert.equal(await s.stop(), 0);
    }
    jsonLines(s.stderr());
    await writeFile(fed, (await readFile(fed, "utf8")).replace("surprise_key: 1\n", "").replace('"127.0.0.1:1"', '"127.0.0.1:0"'));
  });

  test("a port in use: exit 2 naming the address, as a JSON line with --log-format json", async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, "127.0.0.1", r));
    const port = (blocker.address() as AddressInfo).port;
    const fed = join(cfgOf("a"), "federation.yaml");
    const original = await readFile(fed, "utf8");
    await writeFile(fed, original.replace(/http: "127\.0\.0\.1:\d+"/, `http: "127.0.0.1:${port}"`));
    try {
      const human = await cli("a", "serve");
      assert.equal(human.code, 2, human.stderr);
      assert.match(human.stderr, new RegExp(`error: cannot listen on 127\\.0\\.0\\.1:${port} \\(federation\\.yaml mesh\\.listen\\.http\\): the address is already in use`));
      const json = await cli("a", "serve", "--log-format", "json");
      assert.equal(json.code, 2);
      const lines = jsonLines(json.stderr);
      const last = lines.at(-1)!;
      assert.equal(last.level, "error");
      assert.equal(last.code, "LISTEN_FAILED");
      assert.match(last.msg as string, new RegExp(`127\\.0\\.0\\.1:${port}`));
    } finally {
      await writeFile(fed, original);
      await new Promise((r) => blocker.close(r));
    }
  });

  test("a missing key file: exit 2 naming it, as a JSON line", async () => {
    const fed = join(cfgOf("a"), "federation.yaml");
    const original = await readFile(fed, "utf8");
    await writeFile(fed, original.replace(/key_file: \S+/, "key_file: keys/absent.key"));
    try {
      const r = await cli("a", "serve", "--log-format", "json");
      assert.equal(r.code, 2);
      const last = jsonLines(r.stderr).at(-1)!;
      assert.equal(last.code, "CONFIG_INVALID");
      assert.match(last.msg as string, /keys\/absent\.key/);
    } finally {
      await writeFile(fed, original);
    }
  });

  test("Type=notify: READY=1 with the URL reaches $NOTIFY_SOCKET once listening, STOPPING=1 on SIGTERM", { skip: !pythonAvailable && "python3 is needed for a fake notify socket" }, async () => {
    const sock = join(root, "notify.sock");
    const receiver = spawn("python3", ["-c", "import socket,sys\ns=socket.socket(socket.AF_UNIX,socket.SOCK_DGRAM)\ns.bind(sys.argv[1])\nprint('bound',flush=True)\nwhile True:\n  print(s.recv(4096).decode().replace('\\n','|'),flush=True)", sock], { stdio: ["ignore", "pipe", "inherit"] });
    let got = "";
    receiver.stdout!.setEncoding("utf8").on("data", (d: string) => (got += d));
    try {
      await waitUntil(() => got.includes("bound"), 10_000, "the fake notify socket");
      const s = await startServe(["--config", cfgOf("a"), "serve"], { env: { NOTIFY_SOCKET: sock } });
      try {
        await waitUntil(() => got.includes("READY=1"), 10_000, "READY=1");
        assert.match(got, new RegExp(`READY=1\\|STATUS=listening on ${s.url.replace(/\./g, "\\.")}`));
      } finally {
        assert.equal(await s.stop(), 0);
      }
      await waitUntil(() => got.includes("STOPPING=1"), 10_000, "STOPPING=1");
      assert.doesNotMatch(s.stderr(), /warn/);
    } finally {
      receiver.kill("SIGKILL");
    }
  });
});

