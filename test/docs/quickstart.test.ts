/**
 * docs/FEDERATION_OPERATIONS.md §Quick start: three nodes on one machine, run as written:
 * its ```sh blocks are read from the document, each command runs through `sh` in a scratch
 * directory, and the prose steps between them (paste the printed peers.yaml entries, route
 * the namespace, configure a verifier) are done the way the text says. Substitutions are
 * the few a test must make, each commented where it happens.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { stat, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { sealTsaBatch } from "../support/sealer.js";
import { sectionBlocks, shellCommands } from "./doc-blocks.js";
import { workspace, type Background, type Workspace } from "./doc-shell.js";

const DOC = "docs/FEDERATION_OPERATIONS.md";
const blocks = sectionBlocks(DOC, "## Quick start").filter((b) => b.lang === "sh").map((b) => shellCommands(b.body));
const NODES = ["a", "b", "c"] as const;
/** The line a – b – c the section describes. */
const LINE: Record<string, string[]> = { a: ["b"], b: ["a", "c"], c: ["b"] };

let ws: Workspace;
let tsa: OpensslTsa;
const printed = new Map<string, string>();
/** The origin-only entry `init` printed for each node: what a node that never talks to it pastes. */
const printedOrigin = new Map<string, string>();
const daemons = new Map<string, Background>();

/** A loopback port nothing listens on right now (the kernel's pick for port 0). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

const config = (node: string, file: string) => join(ws.dir, "demo", node, "config", file);

before(async () => {
  ws = await workspace();
  tsa = createOpensslTsa();
});
after(async () => {
  for (const d of daemons.values()) await d.stop("SIGTERM");
  await ws?.cleanup();
  tsa?.cleanup();
});

describe("docs: FEDERATION_OPERATIONS.md quick start, run as written", () => {
  test("quick start: the section has the three shell blocks this test runs (init, serve, announce)", () => {
    assert.equal(blocks.length, 3, `${DOC} quick start: expected 3 sh blocks, found ${blocks.length}`);
    assert.deepEqual(blocks.map((cmds) => cmds.map((c) => c.split(/\s+/).find((w) => ["init", "serve", "announce", "status", "install"].includes(w)))), [
      ["install", "init", "init", "init"],
      ["serve", "serve", "serve"],
      ["announce", "status"],
    ]);
  });

  test("quick start: the init lines make demo/a, demo/b, demo/c on ports 8088–8090, each with its own key", async () => {
    const [install, ...inits] = blocks[0]!;
    // Substitution: `npm install && npm run build` is not run; this test runs inside the installed, built checkout.
    assert.equal(install, "npm install && npm run build");
    const keys = new Set<string>();
    for (const [i, command] of inits.entries()) {
      const node = NODES[i]!;
      const r = await ws.run(command);
      assert.equal(r.code, 0, `${command}\n${r.stderr}`);
      const entry = /Peers add this node to their peers\.yaml with:\n((?: {2}.*\n)+)/.exec(r.stdout)?.[1];
      assert.ok(entry !== undefined, `init printed the peers.yaml entry:\n${r.stdout}`);
      printed.set(node, entry);
      const originEntry = /add its key as an origin:\n((?: {2}.*\n)+)/.exec(r.stdout)?.[1];
      assert.ok(originEntry !== undefined && /roles: \[origin\]/.test(originEntry) && !/url:/.test(originEntry), `init printed the origin-only entry:\n${r.stdout}`);
      printedOrigin.set(node, originEntry);
      const verifyKey = /keys: \{ verify: "(ed25519:[A-Za-z0-9_-]{43})" \}/.exec(entry)?.[1];
      assert.ok(verifyKey !== undefined, entry);
      keys.add(verifyKey);
      const port = 8088 + i;
      assert.match(entry, new RegExp(`did: "did:vm:node:${node}"\\n {4}url: "http://127\\.0\\.0\\.1:${port}"\\n {4}roles: \\[announce, serve, request, origin\\]`));
      assert.match(await readFile(config(node, "federation.yaml"), "utf8"), new RegExp(`node_id: "did:vm:node:${node}"[^]*http: "127\\.0\\.0\\.1:${port}"`));
      for (const f of ["peers.yaml", "anchors.yaml"]) await stat(config(node, f));
      assert.equal((await stat(config(node, "keys/node.key"))).mode & 0o777, 0o600, "the key is written with mode 0600");
    }
    assert.equal(keys.size, 3, "three different keys");
  });

  test("quick start: with the printed entries pasted in a line a – b – c, the serve lines start three daemons", async () => {
    for (const node of NODES) {
      // Substitution: the fixed ports 8088–8090 may be taken on a shared host, so each node moves
      // to a free loopback port: its own listen address, and the url of its printed entry.
      const port = await freePort();
      const fed = config(node, "federation.yaml");
      await writeFile(fed, (await readFile(fed, "utf8")).replace(/http: "127\.0\.0\.1:\d+"/, `http: "127.0.0.1:${port}"`));
      printed.set(node, printed.get(node)!.replace(/url: "http:\/\/127\.0\.0\.1:\d+"/, `url: "http://127.0.0.1:${port}"`));
    }
    for (const node of NODES) {
      // "in demo/a/config/peers.yaml list b; …": append the entries init printed, as printed, at the end.
      const peers = config(node, "peers.yaml");
      // "c never talks to a but must accept a's batch checkpoints …; likewise a lists c": the second form init printed.
      const pasted = [...LINE[node]!.map((p) => printed.get(p)!), ...NODES.filter((p) => p !== node && !LINE[node]!.includes(p)).map((p) => printedOrigin.get(p)!)].join("");
      await writeFile(peers, `${await readFile(peers, "utf8")}${pasted}`);
      // "Route the namespace the same way in each federation.yaml".
      const fed = config(node, "federation.yaml");
      const routed = (await readFile(fed, "utf8")).replace(/^(\s+)peers: \[\].*$/m, `$1peers: [${LINE[node]!.map((p) => `"did:vm:node:${p}"`).join(", ")}]`);
      await writeFile(fed, routed);
      // "Give every node the same verifier endpoints in anchors.yaml": here a TSA trust bundle (the
      // announced batch below carries an RFC 3161 anchor; EVM and Bitcoin endpoints are run by test/demo).
      await writeFile(config(node, "tsa-root.pem"), tsa.rootPem);
      const anchors = config(node, "anchors.yaml");
      await writeFile(anchors, `${await readFile(anchors, "utf8")}rfc3161:\n  trustBundle: tsa-root.pem\n`);
    }
    for (const [i, command] of blocks[1]!.entries()) {
      const node = NODES[i]!;
      const daemon = ws.start(command);
      daemons.set(node, daemon);
      await daemon.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/);
      assert.match(daemon.output(), new RegExp(`node did:vm:node:${node}`));
      assert.match(daemon.output(), new RegExp(`peers=${LINE[node]!.length}\\b`), "the pasted peers were loaded");
    }
  });

  test("quick start: a batch announced on a is delivered to b and reaches c through b, verified", async () => {
    const [announce, status] = blocks[2]!;
    // Substitution: the sealer's files (docs/FEDERATION_SEMANTICS.md §The sealer's files) are written by the test's sealer, at the paths
    // the command names: sealer/batches/b-0001.json and sealer/receipts/b-0001/.
    const sealed = await sealTsaBatch(join(ws.dir, "sealer-output"), "b-0001", 4, tsa);
    await mkdir(join(ws.dir, "sealer", "batches"), { recursive: true });
    await mkdir(join(ws.dir, "sealer", "receipts"), { recursive: true });
    await rename(sealed.batchFile, join(ws.dir, "sealer", "batches", "b-0001.json"));
    await rename(sealed.receiptsDir, join(ws.dir, "sealer", "receipts", "b-0001"));

    const r = await ws.run(announce!);
    assert.equal(r.code, 0, `${announce}\n${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, /batch b-0001 of dao:vaultmesh: 4 receipts stored \(4 new\), active/);
    assert.match(r.stdout, /did:vm:node:b\s+delivered/);
    const s = await ws.run(status!);
    assert.equal(s.code, 0, s.stderr);
    assert.match(s.stdout, /node did:vm:node:c/);
    assert.match(s.stdout, /did:vm:node:b\s+yes/, "c sees b reachable");
    // "c, which only knows b, holds it a moment later."
    const deadline = Date.now() + 30_000;
    for (;;) {
      const doc = JSON.parse((await ws.run(`${status} --json`)).stdout) as { counts: { batches: number; receipts: number; anchors: { verified: number } } | null };
      if (doc.counts?.batches === 1 && doc.counts.receipts === 4 && doc.counts.anchors.verified === 1) break;
      assert.ok(Date.now() < deadline, `c did not hold b-0001 within 30 s: ${JSON.stringify(doc.counts)}\nb: ${daemons.get("b")!.output().slice(-1500)}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    assert.match(daemons.get("c")!.output(), /imported announced batch namespace=dao:vaultmesh batch=b-0001 from=did:vm:node:b|anti-entropy closed a gap peer=did:vm:node:b/);
  });

  test("quick start: Ctrl-C stops each daemon cleanly", async () => {
    for (const [node, daemon] of daemons) {
      await daemon.stop("SIGINT");
      assert.match(daemon.output(), /SIGINT: stopping[^]*\bstopped\b/, `${node} logged a clean stop`);
    }
  });
});
