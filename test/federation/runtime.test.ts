// A node run through the library alone (docs/ARCHITECTURE.md): openRuntime + startDaemon, no CLI.
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, openRuntime, startDaemon } from "../../lib/index.js";
import { createLogger } from "../../lib/federation/log.js";
import { ArgumentError } from "../../lib/errors.js";
import { runCli } from "../support/cli.js";

async function freshConfig(): Promise<{ dir: string; cfg: string }> {
  const dir = await mkdtemp(join(tmpdir(), "vmsh-runtime-"));
  const cfg = join(dir, "config");
  const r = await runCli(["--config", cfg, "init", "--node-id", "did:vm:node:lib", "--listen", "127.0.0.1:0", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  return { dir, cfg };
}

test("runtime: a node opened and served by the library answers /health and stops cleanly", async () => {
  const { dir, cfg } = await freshConfig();
  const lines: string[] = [];
  try {
    const { config } = await loadConfig(cfg, {});
    const runtime = await openRuntime(config);
    try {
      const daemon = await startDaemon(runtime, { log: createLogger("json", { write: (t: string) => lines.push(t) }), version: "test", listen: { host: "127.0.0.1", port: 0 } });
      const health = (await (await fetch(`${daemon.url}/health`)).json()) as { status: string; node: string };
      assert.deepEqual([health.status, health.node], ["ok", "did:vm:node:lib"]);
      assert.equal(await daemon.stop(1_000), true, "nothing in flight: the drain is clean");
      await assert.rejects(fetch(`${daemon.url}/health`), "the server is closed after stop");
      assert.equal(await daemon.stop(), true, "a second stop is the first one's answer");
    } finally {
      await runtime.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("runtime: state none opens no store and refuses to pretend it has one", async () => {
  const { dir, cfg } = await freshConfig();
  try {
    const { config } = await loadConfig(cfg, {});
    const runtime = await openRuntime(config, { state: "none" });
    try {
      assert.equal(runtime.me.did, "did:vm:node:lib");
      assert.throws(() => runtime.store, (e: unknown) => e instanceof ArgumentError && /state: none/.test(e.message));
      assert.throws(() => runtime.importContext("dao:vaultmesh"), ArgumentError);
    } finally {
      await runtime.close();
    }
    // Nothing was created in the state directory.
    const state = config.federation.mesh.stateDir;
    assert.deepEqual(await readdir(state).catch(() => []), []);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
