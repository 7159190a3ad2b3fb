import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type AddressInfo } from "node:net";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { formatKeyLine } from "../../lib/identity/did.js";
import { generateNodeKey } from "../../lib/identity/keys.js";
import { runCli } from "../support/cli.js";
import { waitUntil } from "../support/mesh.js";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { sealTsaBatch } from "../support/sealer.js";
import { startServe } from "../support/serve-process.js";

// docs/FEDERATION_OPERATIONS.md "Monitoring": the per-peer gauges on a real serve whose one peer is down.
const NS = "dao:vaultmesh";
const PEER = "did:vm:node:gone";
let root: string;
let cfg: string;
let tsa: OpensslTsa;
const cli = (...args: string[]) => runCli(["--config", cfg, ...args]);

/** A loopback port that refuses connections: bound, then closed. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

before(async () => {
  root = await mkdtemp(join(tmpdir(), "vmsh-metrics-"));
  cfg = join(root, "config");
  tsa = createOpensslTsa();
  assert.equal((await cli("init", "--node-id", "did:vm:node:m", "--listen", "127.0.0.1:0")).code, 0);
  const fed = join(cfg, "federation.yaml");
  await writeFile(fed, (await readFile(fed, "utf8")).replace(/^(\s+)peers: \[\].*$/m, `$1peers: ["${PEER}"]`).replace(/interval_s: \d+/, "interval_s: 1"));
  await writeFile(join(cfg, "peers.yaml"), `${await readFile(join(cfg, "peers.yaml"), "utf8")}  - did: "${PEER}"\n    url: "http://127.0.0.1:${await closedPort()}"\n    roles: [announce, serve, request]\n    keys: { verify: "${formatKeyLine(generateNodeKey().publicKeyBytes)}" }\n`);
  await writeFile(join(cfg, "tsa-root.pem"), tsa.rootPem);
  await writeFile(join(cfg, "anchors.yaml"), "rfc3161:\n  trustBundle: tsa-root.pem\n");
});
after(async () => {
  tsa?.cleanup();
  await rm(root, { recursive: true, force: true });
});

describe("metrics: per-peer gauges on a live daemon", () => {
  test("peer down: peer_up 0, the undelivered announce in outbox_depth, build_info with the version", async () => {
    const b = await sealTsaBatch(join(root, "sealer"), "b-1", 2, tsa);
    const a = await cli("announce", "--namespace", NS, "--batch", b.batchFile, "--receipts", b.receiptsDir, "--json");
    assert.equal(a.code, 0, a.stderr);
    assert.equal((JSON.parse(a.stdout) as { deliveries: Array<{ outcome: string }> }).deliveries[0]!.outcome, "queued");
    const s = await startServe(["--config", cfg, "serve"]);
    try {
      const scrape = async () => (await fetch(`${s.url}/metrics`)).text();
      await waitUntil(async () => /vmsh_federation_peer_up\{peer="did:vm:node:gone"\} 0/.test(await scrape()), 30_000, "peer_up 0 after a failed anti-entropy round");
      const text = await scrape();
      assert.match(text, /^vmsh_federation_outbox_depth\{peer="did:vm:node:gone"\} 1$/m);
      const pkg = JSON.parse(await readFile(new URL("../../../package.json", import.meta.url), "utf8"));
      assert.match(text, new RegExp(`^vmsh_federation_build_info\\{version="${pkg.version.replace(/\./g, "\\.")}"\\} 1$`, "m"));
      assert.match(text, /^# TYPE vmsh_federation_peer_last_sync_timestamp_seconds gauge$/m);
      // Never synced: the sample is there, 0, so the SyncStale rule can fire (config/vmsh-federation.rules.yml).
      assert.match(text, /^vmsh_federation_peer_last_sync_timestamp_seconds\{peer="did:vm:node:gone",namespace="dao:vaultmesh"\} 0$/m);
      // The CLI announce's queued delivery is counted by the daemon too.
      assert.ok(Number(/^vmsh_federation_deliveries_total\{result="failed"\} (\d+)$/m.exec(text)?.[1]) >= 1, text);
      assert.match(text, /^vmsh_federation_anchors_pending_oldest_seconds\{namespace="dao:vaultmesh"\} 0$/m);
      assert.match(text, /^vmsh_federation_quorum_awaiting_oldest_seconds\{namespace="dao:vaultmesh"\} 0$/m);
    } finally {
      assert.equal(await s.stop(), 0);
    }
  });
});

describe("metrics: from a fresh start, and CLI deliveries", () => {
  test("a daemon that never reached its peer has every per-peer series at 0; a CLI announce delivered is counted as ok", async () => {
    const dir = join(root, "fresh");
    const fresh = (...args: string[]) => runCli(["--config", join(dir, "config"), ...args]);
    // A peer that takes every Announce (202) and answers nothing else: anti-entropy with it fails.
    const { createServer: createHttp } = await import("node:http");
    const peer = createHttp((req, res) => {
      req.resume();
      req.on("end", () => (req.url === "/federation/announce" ? res.writeHead(202, { "content-type": "application/json" }).end('{"accepted":true}') : res.writeHead(503).end()));
    });
    await new Promise<void>((r) => peer.listen(0, "127.0.0.1", r));
    try {
      assert.equal((await fresh("init", "--node-id", "did:vm:node:f", "--listen", "127.0.0.1:0")).code, 0);
      const fed = join(dir, "config", "federation.yaml");
      await writeFile(fed, (await readFile(fed, "utf8")).replace(/^(\s+)peers: \[\].*$/m, `$1peers: ["did:vm:node:taker"]`).replace(/interval_s: \d+/, "interval_s: 3600"));
      await writeFile(join(dir, "config", "peers.yaml"), `peers:\n  - did: "did:vm:node:taker"\n    url: "http://127.0.0.1:${(peer.address() as AddressInfo).port}"\n    roles: [announce, serve, request]\n    keys: { verify: "${formatKeyLine(generateNodeKey().publicKeyBytes)}" }\n`);
      await writeFile(join(dir, "config", "tsa-root.pem"), tsa.rootPem);
      await writeFile(join(dir, "config", "anchors.yaml"), "rfc3161:\n  trustBundle: tsa-root.pem\n");
      const s = await startServe(["--config", join(dir, "config"), "serve"]);
      try {
        const scrape = async () => (await fetch(`${s.url}/metrics`)).text();
        const before = await scrape();
        assert.match(before, /^vmsh_federation_outbox_depth\{peer="did:vm:node:taker"\} 0$/m, "0, not absent");
        assert.match(before, /^vmsh_federation_peer_last_sync_timestamp_seconds\{peer="did:vm:node:taker",namespace="dao:vaultmesh"\} 0$/m);
        assert.match(before, /^vmsh_federation_deliveries_total\{result="ok"\} 0$/m);
        const b = await sealTsaBatch(join(dir, "sealer"), "b-cli", 2, tsa);
        const a = await fresh("announce", "--namespace", NS, "--batch", b.batchFile, "--receipts", b.receiptsDir, "--json");
        assert.equal(a.code, 0, a.stdout + a.stderr);
        assert.equal((JSON.parse(a.stdout) as { deliveries: Array<{ outcome: string }> }).deliveries[0]!.outcome, "delivered");
        assert.match(await scrape(), /^vmsh_federation_deliveries_total\{result="ok"\} 1$/m, "the CLI's delivery, counted by the daemon");
      } finally {
        assert.equal(await s.stop(), 0);
      }
    } finally {
      await new Promise((r) => peer.close(r));
    }
  });
});
