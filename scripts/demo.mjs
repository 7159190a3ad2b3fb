#!/usr/bin/env node
/**
 * `npm run demo`: a three-node federation on this machine, end to end, with every step
 * checked. It starts a local EVM chain (anvil, BatchAnchor deployed), a Bitcoin Core-style
 * regtest node (the tests' JSON-RPC stub over a chain mined with bitcoinjs-lib), an openssl
 * time-stamp authority, and nodes a – b – c (`vmsh-federation serve` processes on 127.0.0.1);
 * seals a batch anchored on all three rails, announces it on a, shows b and c re-verify it
 * and agree on the Bitcoin anchor (docs/FEDERATION_SEMANTICS.md §3. Conflicts), then stops c, announces more, restarts c and
 * shows the gap close. Exit 0 only if every check held; every process and temp directory it
 * made is removed on exit, on failure and on Ctrl-C.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const repo = join(dirname(fileURLToPath(import.meta.url)), "..");
if (!existsSync(join(repo, "dist", "test", "support", "mesh.js"))) {
  console.error("dist/ is missing or incomplete: run `npm run demo`, which compiles first (or `npm run build`).");
  process.exit(2);
}
const { Chalk } = await import("chalk");
const { table } = await import("../dist/commands/output.js");
const { deployBatchAnchor, startAnvil } = await import("../dist/test/support/anvil.js");
const { createRegtestChain, startCoreRpcServer } = await import("../dist/test/support/btc-regtest.js");
const { createOpensslTsa } = await import("../dist/test/support/openssl-tsa.js");
const { MESH_NAMESPACE: NS, startMesh, waitUntil } = await import("../dist/test/support/mesh.js");
const { sealOnThreeRails } = await import("./demo-sealer.mjs");
const { DemoFailure, check, learnedFrom, logLines, nodeView, outboxFor, waitForConvergence } = await import("./demo-state.mjs");

const color = new Chalk({ level: process.stdout.isTTY && !process.env.NO_COLOR ? 1 : 0 });
const STEPS = 8;
const started = Date.now();
let stepNo = 0;
let stepTitle = "start-up";
let demoRoot = "";

// --- clean-up: every resource registers how to release it; Ctrl-C, errors and success all run it once.
const cleanups = [];
let cleaning;
function cleanup() {
  cleaning ??= (async () => {
    for (const [what, release] of cleanups.reverse()) {
      try {
        await release();
        console.log(color.dim(`  stopped ${what}`));
      } catch (e) {
        console.error(`  could not stop ${what}: ${e.message}`);
      }
    }
  })();
  return cleaning;
}
let interrupted = false;
let flowSettled = Promise.resolve();
/** Run again once the interrupted step has settled: stops a node it may have restarted, removes what it wrote. */
let sweep = async () => undefined;
for (const signal of ["SIGINT", "SIGTERM"]) {
  process.once(signal, async () => {
    interrupted = true;
    console.log(`\n${signal}: stopping everything the demo started and removing its files…`);
    await cleanup();
    // A step still in flight (a CLI command, the sealer writing files) may write into the demo
    // directory after it was removed: let it finish against the stopped nodes, then sweep again.
    await Promise.race([flowSettled, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    await sweep().catch((e) => console.error(`  could not clean up: ${e.message}`));
    process.exit(signal === "SIGINT" ? 130 : 143);
  });
}

// A stray rejection would end the process and orphan the serve children: stop them first.
for (const event of ["uncaughtException", "unhandledRejection"]) {
  process.once(event, async (error) => {
    console.error(`\n${color.red.bold(`DEMO FAILED at step ${stepNo}/${STEPS} (${stepTitle}):`)} ${event}: ${error?.stack ?? error}`);
    await cleanup();
    process.exit(1);
  });
}

// --- output
const indent = (text) => text.replace(/\s+$/, "").split("\n").map((l) => `    ${l}`).join("\n");
const show = (path) => (demoRoot && path.startsWith(demoRoot) ? `$DEMO/${relative(demoRoot, path)}` : path);
const note = (text) => console.log(`  ${text}`);

async function step(title, body) {
  if (interrupted) throw new Error("interrupted");
  stepNo++;
  stepTitle = title;
  console.log(`\n${color.bold.cyan(`Step ${stepNo}/${STEPS}: ${title}`)}`);
  const t0 = Date.now();
  await body();
  console.log(color.green(`  ✓ step ${stepNo} checked (${((Date.now() - t0) / 1000).toFixed(1)} s)`));
}

/** Runs the real CLI against `node`'s configuration and prints the command and its output. */
async function cli(node, ...args) {
  console.log(color.dim(`  $ vmsh-federation --config ${show(node.configDir)} ${args.map(show).join(" ")}`));
  const r = await node.cli(...args);
  if (r.stdout.trim()) console.log(indent(r.stdout));
  if (r.stderr.trim()) console.log(indent(r.stderr));
  return r;
}

const shortTx = (tx) => (tx.length > 20 ? `${tx.slice(0, 10)}…${tx.slice(-8)}` : tx);

/** Waits until every node in `nodes` holds every batch in `sealed`, converged; returns the table rows. */
async function waitForAll(nodes, sealed, timeoutMs) {
  const rows = [];
  for (const node of nodes) for (const s of sealed) rows.push(...(await waitForConvergence(node, s, timeoutMs, () => interrupted)));
  return rows;
}

// --- the demo
async function demo() {
  let anvil, contract, tsa, btc, core, mesh;
  const sealed = [];

  await step("start the local trust domains: an EVM chain, a Bitcoin node, a time-stamp authority", async () => {
    const anvilStarting = startAnvil();
    tsa = createOpensslTsa();
    cleanups.push(["the openssl TSA (temp directory)", () => tsa.cleanup()]);
    anvil = await anvilStarting;
    cleanups.push(["anvil", () => anvil.stop()]);
    contract = await deployBatchAnchor(anvil);
    btc = createRegtestChain(3);
    core = await startCoreRpcServer(btc);
    cleanups.push(["the Bitcoin Core JSON-RPC stub", () => core.close()]);
    check(/^0x[0-9a-fA-F]{40}$/.test(contract ?? ""), "a deployed BatchAnchor address", String(contract));
    console.log(indent(table(["rail", "chain id", "endpoint", "what runs there"], [
      ["EVM", `eip155:${anvil.chainId}`, anvil.rpcUrl, `anvil; BatchAnchor contract at ${contract}`],
      ["Bitcoin", "btc:regtest", `${core.origin} (Basic auth)`, `Core JSON-RPC over a regtest chain of ${btc.height + 1} blocks mined with bitcoinjs-lib`],
      ["RFC 3161", "rfc3161:demo-tsa", "openssl ts -reply", "a throwaway root CA → issuing CA → TSA certificate"],
    ])));
  });

  await step("start three federation nodes on 127.0.0.1, connected in a line a – b – c", async () => {
    const anchorsYaml = `eip155:\n  "${anvil.chainId}": { rpcUrl: "${anvil.rpcUrl}", contract: "${contract}" }\nbtc:\n  regtest: { rpcUrl: "${core.url}" }\n`;
    mesh = await startMesh([
      { name: "a", routes: ["b"] },
      { name: "b", routes: ["a", "c"] },
      { name: "c", routes: ["b"] },
    ], { trustPem: tsa.rootPem, anchorsYaml });
    demoRoot = mesh.root;
    cleanups.push([`nodes a, b, c and ${mesh.root}`, () => mesh.stop()]);
    sweep = () => mesh.stop();
    note(`DEMO=${mesh.root}   (each node has $DEMO/<name>/config and $DEMO/<name>/state)`);
    const rows = [];
    for (const name of ["a", "b", "c"]) {
      const n = mesh.node(name);
      const h = await n.health();
      check(h.status === 200 && h.body.status === "ok" && h.body.node === n.did, `${n.url}/health to answer ok as ${n.did}`, JSON.stringify(h.body));
      rows.push([name, n.did, n.url, { a: "b", b: "a, c", c: "b" }[name]]);
    }
    console.log(indent(table(["node", "DID", "listening on", "peers"], rows)));
    note("Every node's anchors.yaml names its own verifier endpoints (same ones here), confirmations 1:");
    console.log(indent((await readFile(join(mesh.node("a").configDir, "anchors.yaml"), "utf8")).replace(/\/\/([^:@/]+):[^@/]+@/, "//$1:***@")));
  });

  await step("seal batch b-0001 and anchor its root on all three rails", async () => {
    const s = await sealOnThreeRails(join(mesh.root, "sealer"), "b-0001", 9, { btc, anvil, contract, tsa });
    sealed.push(s);
    note(`9 random events sealed; Merkle root ${s.root}`);
    console.log(indent(table(["anchor", "tx", "block", "how", "in receipts"], s.anchors.map((a, i) => [a.chain, shortTx(a.tx), String(a.block), ["OP_RETURN 'RV'+root, mined", "BatchAnchor.anchor(root, …)", "openssl ts -reply token"][i], `${Math.ceil((s.size - i) / 3)} of ${s.size}`]))));
    note(`wrote ${show(s.batchFile)} and ${s.size} receipts in ${show(s.receiptsDir)}/`);
    check(btc.locate(s.anchors[0].tx)?.height === s.anchors[0].block, "the Bitcoin anchor tx mined in its block", "not on the chain");
  });

  await step("announce b-0001 on node a (a verifies it first, with its own endpoints)", async () => {
    const [s] = sealed;
    const r = await cli(mesh.node("a"), "announce", "--namespace", NS, "--batch", s.batchFile, "--receipts", s.receiptsDir);
    check(r.code === 0, "announce to exit 0", `exit ${r.code}`);
    check(/active/.test(r.stdout), "the batch to be active on a", r.stdout);
    check(new RegExp(`btc:regtest\\s+${s.anchors[0].tx}\\s+verified\\s+winner`).test(r.stdout), "the BTC anchor verified and the winner on a", r.stdout);
    check(/did:vm:node:b\s+delivered/.test(r.stdout), "the Announce delivered to b", r.stdout);
  });

  await step("b pulls from a, c pulls from b; both re-verify and converge on the BTC anchor", async () => {
    const [s] = sealed;
    const rows = await waitForAll(["a", "b", "c"].map((n) => mesh.node(n)), [s], 30_000);
    console.log(indent(table(["node", "chain", "tx", "block", "outcome", "conflict resolution"], rows)));
    // c is routed to b only: whether b's relayed Announce or c's anti-entropy timer got there first, it came from b.
    // c logs the import just after its state shows it: give that line a moment to arrive through the pipe.
    await mesh.node("c").waitForLog(/imported announced batch.*"batch":"b-0001"|anti-entropy closed a gap/, 10_000).catch(() => undefined);
    const how = learnedFrom(mesh.node("c"), s.id);
    check(how.length > 0 && how.every((line) => line.includes(mesh.node("b").did)), "c's log to show it learned b-0001 from b (c does not know a)", how.join("; ") || "no such log line");
    for (const line of how) note(`c's log → ${line}`);
    note("Re-verifying everything c stores against the live endpoints:");
    const v = await cli(mesh.node("c"), "verify-online", "--batch", s.id);
    check(v.code === 0 && /3 verified, 0 pending, 0 rejected/.test(v.stdout), "verify-online on c: exit 0, 3 verified", `exit ${v.code}: ${v.stdout}`);
  });

  await step("status of every node", async () => {
    // Asked together (each asks its peers' /health), printed in order.
    const results = await Promise.all(["a", "b", "c"].map((name) => mesh.node(name).cli("status")));
    for (const [i, name] of ["a", "b", "c"].entries()) {
      const r = results[i];
      console.log(color.dim(`  $ vmsh-federation --config ${show(mesh.node(name).configDir)} status`));
      console.log(indent(r.stdout + r.stderr));
      check(r.code === 0, `status on ${name} to exit 0`, `exit ${r.code}`);
      check(/Stored: 1 batches, 9 receipts; anchors 3 verified, 0 pending, 0 rejected/.test(r.stdout), `${name} to store 1 batch, 9 receipts, 3 verified anchors`, r.stdout);
      check(!/ no \(/.test(r.stdout), `every peer of ${name} reachable`, r.stdout);
    }
  });

  await step("partition: stop c, then announce b-0002 and b-0003 on a", async () => {
    const c = mesh.node("c");
    const code = await c.stop("SIGTERM");
    check(code === 0, "c to stop cleanly on SIGTERM (exit 0)", `exit ${code}`);
    note("c stopped (SIGTERM).");
    for (const id of ["b-0002", "b-0003"]) {
      const s = await sealOnThreeRails(join(mesh.root, "sealer"), id, 6, { btc, anvil, contract, tsa });
      sealed.push(s);
      const r = await cli(mesh.node("a"), "announce", "--namespace", NS, "--batch", s.batchFile, "--receipts", s.receiptsDir);
      check(r.code === 0 && /did:vm:node:b\s+delivered/.test(r.stdout), `announce ${id}: exit 0, delivered to b`, `exit ${r.code}: ${r.stdout}`);
    }
    await waitForAll([mesh.node("a"), mesh.node("b")], sealed.slice(1), 30_000);
    const rows = [];
    for (const name of ["a", "b", "c"]) {
      const view = await nodeView(mesh.node(name));
      rows.push([name, mesh.node(name).running ? "running" : "stopped", [...view.keys()].sort().join(", "), String([...view.values()].reduce((n, b) => n + b.receipts, 0))]);
    }
    console.log(indent(table(["node", "daemon", "batches held", "receipts"], rows)));
    const cView = await nodeView(c);
    check(cView.size === 1, "c to hold only b-0001 while it is down", [...cView.keys()].join(", "));
    // Counted by batch: an anti-entropy round racing a pull can queue a second Announce of one batch (harmless: importing is idempotent).
    const queuedBatches = async () => [...new Set((await outboxFor(mesh.node("b"), c.did)).map((e) => e.message?.batchId))].sort();
    await waitUntil(async () => interrupted || (await queuedBatches()).length >= 2, 15_000, "b's outbox to hold Announces of 2 batches for c").catch((e) => {
      throw new DemoFailure("b's relay to c to wait in b's outbox (2 Announces)", e.message);
    });
    const waiting = await queuedBatches();
    note(`b could not relay to c: Announces of ${waiting.length} batches (${waiting.join(", ")}) wait in b's outbox for c (in its state directory, kept across restarts).`);
  });

  await step("restart c: b's outbox or c's anti-entropy closes the gap", async () => {
    const c = mesh.node("c");
    await c.start();
    note(`c is back on ${c.url}`);
    const rows = await waitForAll([c], sealed.slice(1), 45_000);
    // The log line follows the state write: let it arrive before reading the log.
    await c.waitForLog(/anti-entropy closed a gap|imported announced batch.*"batch":"b-000[^1]/, 10_000).catch(() => undefined);
    const how = [...logLines(c, /anti-entropy closed a gap/).map((e) => `anti-entropy: reconciled with ${e.peer}, fetched ${e.fetched} receipts, imported ${e.imported}, ${e.bytes} bytes in ${e.roundTrips} round trips`),
      ...logLines(c, /imported announced batch/).filter((e) => e.batch !== "b-0001").map((e) => `outbox: ${e.from} re-sent its Announce of ${e.batch}; c pulled it (${e.receipts} receipts, winner ${e.winner})`)];
    check(how.length > 0, "c's log to show how the gap closed (anti-entropy or an outbox Announce)", c.logs.slice(-8).join("\n"));
    for (const line of how) note(`c's log → ${line}`);
    console.log(indent(table(["node", "chain", "tx", "block", "outcome", "conflict resolution"], rows)));
    note("An on-demand anti-entropy round from c (in sync now: one round trip):");
    const r = await cli(c, "sync", "--namespace", NS);
    check(r.code === 0 && /did:vm:node:b\s+ok/.test(r.stdout) && /fetched 0, .* in 1 round trips/.test(r.stdout), "sync on c: exit 0, peer b ok, nothing to fetch, 1 round trip", `exit ${r.code}: ${r.stdout}`);
    const counts = [];
    for (const name of ["a", "b", "c"]) counts.push([...(await nodeView(mesh.node(name))).values()].reduce((n, b) => n + b.receipts, 0));
    const total = sealed.reduce((n, s) => n + s.size, 0);
    check(counts.every((n) => n === total), `a, b and c to hold all ${total} receipts`, counts.join(", "));
    note(`a, b and c each hold ${sealed.length} batches, ${total} receipts, every anchor verified, same winners.`);
  });
}

let code = 0;
try {
  const flow = demo();
  flowSettled = flow.catch(() => undefined);
  await flow;
} catch (error) {
  if (interrupted) await new Promise(() => undefined); // the signal handler finishes and exits
  code = 1;
  console.error(`\n${color.red.bold(`DEMO FAILED at step ${stepNo}/${STEPS} (${stepTitle}):`)}`);
  console.error(`  ${error instanceof DemoFailure ? error.message : (error?.stack ?? String(error))}`);
}
console.log(`\n${color.bold("Cleaning up")}`);
await cleanup();
if (code === 0) console.log(`\n${color.green.bold(`Demo finished in ${((Date.now() - started) / 1000).toFixed(1)} s: all ${STEPS} steps checked.`)}`);
process.exit(code);
