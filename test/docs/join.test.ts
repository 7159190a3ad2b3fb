/**
 * README.md §Joining two nodes, run as written: its ```sh blocks are read from the README, each
 * command runs through `sh` in a scratch directory, and the prose steps between them (paste
 * the printed entries, route the namespace, trust the TSA) are done as the text says. The few
 * substitutions a loopback-only test must make are commented where they happen: free ports for
 * 8088/8089, and a local openssl TSA served over HTTP for FreeTSA (its root for the downloaded
 * one, its URL for https://freetsa.org/tsr).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { copyFile, readFile, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { join } from "node:path";
import { createOpensslTsa, type OpensslTsa } from "../support/openssl-tsa.js";
import { repoRoot } from "../support/repo-root.js";
import { serveTsa, type HttpTsa } from "../support/tsa-http.js";
import { sectionBlocks, shellCommands } from "./doc-blocks.js";
import { workspace, type Background, type Workspace } from "./doc-shell.js";

const README = "README.md";
const blocks = sectionBlocks(README, "## Joining two nodes").filter((b) => b.lang === "sh").map((b) => shellCommands(b.body));
const NODES = ["a", "b"] as const;
const OTHER: Record<string, string> = { a: "b", b: "a" };
const FREETSA_ROOT = "https://freetsa.org/files/cacert.pem";
const FREETSA = "https://freetsa.org/tsr";

let ws: Workspace;
let tsa: OpensslTsa;
let http: HttpTsa;
const printed = new Map<string, string>();
const daemons = new Map<string, Background>();

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on("error", reject);
  });
}

const config = (node: string, file: string) => join(ws.dir, `node-${node}`, "config", file);

before(async () => {
  ws = await workspace();
  tsa = createOpensslTsa();
  http = await serveTsa(tsa);
});
after(async () => {
  for (const d of daemons.values()) await d.stop("SIGTERM");
  await ws?.cleanup();
  await http?.close();
  tsa?.cleanup();
});

describe("docs: README.md joining two nodes, run as written", () => {
  test("join: the section has the four shell blocks this test runs", () => {
    assert.deepEqual(
      blocks.map((cmds) => cmds.map((c) => c.split(/\s+/).find((w) => ["init", "serve", "announce", "status", "seal", "curl", "cp"].includes(w)))),
      [["init", "init"], ["curl", "cp"], ["serve", "serve"], ["seal", "announce", "status"]],
    );
  });

  test("join: the init lines give each node its own DID, port and key", async () => {
    const dids = new Set<string>();
    for (const [i, command] of blocks[0]!.entries()) {
      const node = NODES[i]!;
      const r = await ws.run(command);
      assert.equal(r.code, 0, `${command}\n${r.stderr}`);
      const entry = /Peers add this node to their peers\.yaml with:\n((?: {2}.*\n)+)/.exec(r.stdout)?.[1];
      assert.ok(entry !== undefined, r.stdout);
      printed.set(node, entry);
      dids.add(/did: "([^"]+)"/.exec(entry)![1]!);
      assert.match(entry, new RegExp(`url: "http://127\\.0\\.0\\.1:${8088 + i}"`));
    }
    assert.deepEqual([...dids], ["did:vm:node:a", "did:vm:node:b"]);
  });

  test("join: entries pasted, namespace routed, the TSA trusted, both daemons start", async () => {
    for (const node of NODES) {
      // Substitution: 8088/8089 may be taken on a shared host; each node moves to a free port (its listen address and the url in its entry).
      const port = await freePort();
      const fed = config(node, "federation.yaml");
      await writeFile(fed, (await readFile(fed, "utf8")).replace(/http: "127\.0\.0\.1:\d+"/, `http: "127.0.0.1:${port}"`));
      printed.set(node, printed.get(node)!.replace(/url: "http:\/\/127\.0\.0\.1:\d+"/, `url: "http://127.0.0.1:${port}"`));
    }
    for (const node of NODES) {
      // "Append b's entry, as printed, at the end of node-a/config/peers.yaml, and a's at the end of node-b/config/peers.yaml".
      const peers = config(node, "peers.yaml");
      await writeFile(peers, `${await readFile(peers, "utf8")}${printed.get(OTHER[node]!)!}`);
      // "route the namespace to b, peers: ["did:vm:node:b"] under "dao:vaultmesh"" (and to a on b).
      const fed = config(node, "federation.yaml");
      await writeFile(fed, (await readFile(fed, "utf8")).replace(/^(\s+)peers: \[\].*$/m, `$1peers: ["did:vm:node:${OTHER[node]}"]`));
      // "add rfc3161: { trustBundle: tsa-root.pem } at the end of each anchors.yaml".
      const anchors = config(node, "anchors.yaml");
      await writeFile(anchors, `${await readFile(anchors, "utf8")}rfc3161: { trustBundle: tsa-root.pem }\n`);
    }
    const [download, copy] = blocks[1]!;
    assert.equal(download, `curl -fsS -o node-a/config/tsa-root.pem ${FREETSA_ROOT}`);
    // Substitution: the test's TSA root is written where curl would have saved FreeTSA's.
    await writeFile(config("a", "tsa-root.pem"), tsa.rootPem);
    const cp = await ws.run(copy!);
    assert.equal(cp.code, 0, cp.stderr);
    for (const [i, command] of blocks[2]!.entries()) {
      const node = NODES[i]!;
      const daemon = ws.start(command);
      daemons.set(node, daemon);
      await daemon.waitFor(/listening on http:\/\/127\.0\.0\.1:\d+/);
      assert.match(daemon.output(), new RegExp(`node did:vm:node:${node}`));
      assert.match(daemon.output(), /peers=1\b/);
      assert.doesNotMatch(daemon.output(), /warning/i, "the configuration loads without warnings");
    }
  });

  test("join: seal stamps two files, announce on a delivers to b, and b holds the batch verified", async () => {
    const [seal, announce, status] = blocks[3]!;
    // The checkout's README.md and LICENSE, which the command seals.
    for (const f of ["README.md", "LICENSE"]) await copyFile(join(repoRoot, f), join(ws.dir, f));
    assert.ok(seal!.includes(FREETSA));
    // Substitution: the local TSA's URL for FreeTSA's.
    const s = await ws.run(seal!.replace(FREETSA, http.url));
    assert.equal(s.code, 0, `${seal}\n${s.stderr}`);
    assert.match(s.stdout, /Sealed batch b-0001: 2 events/);
    const a = await ws.run(announce!);
    assert.equal(a.code, 0, `${announce}\n${a.stdout}\n${a.stderr}`);
    assert.match(a.stdout, /batch b-0001 of dao:vaultmesh: 2 receipts stored \(2 new\), active/);
    assert.match(a.stdout, /did:vm:node:b\s+delivered/);
    const deadline = Date.now() + 30_000;
    for (;;) {
      const r = await ws.run(`${status} --json`);
      const doc = JSON.parse(r.stdout) as { counts: { batches: number; receipts: number; anchors: { verified: number } } | null };
      if (doc.counts?.batches === 1 && doc.counts.receipts === 2 && doc.counts.anchors.verified === 1) {
        assert.equal(r.code, 0, "a is reachable from b");
        break;
      }
      assert.ok(Date.now() < deadline, `b did not hold b-0001 within 30 s: ${JSON.stringify(doc.counts)}\n${daemons.get("b")!.output().slice(-1500)}`);
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    const human = await ws.run(status!);
    assert.match(human.stdout, /Stored: 1 batches, 2 receipts; anchors 1 verified/);
  });
});
