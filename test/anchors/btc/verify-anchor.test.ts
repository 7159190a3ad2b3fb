/**
 * verifyBtcAnchor against both kinds of endpoint, Bitcoin Core JSON-RPC and Esplora REST, each a
 * stub serving a regtest chain mined in the test (docs/ANCHORS.md §Bitcoin anchors,
 * docs/RELIABILITY.md §How the tests are built). One table of cases: a case runs against every
 * backend unless it names one, because it exercises something only that interface has.
 */
import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { Anchor } from "../../../lib/anchors/anchor.js";
import { verifyBtcAnchor, type BtcVerifyContext } from "../../../lib/anchors/btc/index.js";
import type { VerificationResult } from "../../../lib/anchors/result.js";
import { ArgumentError } from "../../../lib/errors.js";
import { startCoreRpcServer, startEsploraServer, type CoreStubOptions, type EsploraStubOptions, type RegtestChain, type RunningServer } from "../../support/btc-regtest.js";
import { anchoredChain, fixedNow, rootOf } from "./scenario.js";

type Kind = "core" | "esplora";

/** Answers a case substitutes for the chain's own; `rawTx` on either interface, the rest per interface. */
interface Faults {
  /** The raw transaction served for `txid` (Core also names `blockhash`). */
  rawTx?: { txid: string; hex: string; blockhash: string };
  core?: CoreStubOptions;
  esplora?: EsploraStubOptions;
}

interface Backend {
  kind: Kind;
  start(chain: RegtestChain, faults?: Faults): Promise<RunningServer>;
  endpoint(server: RunningServer): BtcVerifyContext["endpoint"];
  /** Whether the inclusion proof was asked for (gettxoutproof, or /merkle-proof). */
  askedForProof(calls: string[]): boolean;
}

const BACKENDS: Backend[] = [
  {
    kind: "core",
    start: (chain, faults = {}) => {
      const raw = faults.rawTx;
      const own = faults.core?.respond;
      return startCoreRpcServer(chain, {
        ...faults.core,
        respond: (method, params) => (raw !== undefined && method === "getrawtransaction" && params[0] === raw.txid ? { result: { txid: raw.txid, hex: raw.hex, blockhash: raw.blockhash } } : own?.(method, params)),
      });
    },
    endpoint: (s) => ({ rpcUrl: s.url }),
    askedForProof: (calls) => calls.includes("gettxoutproof"),
  },
  {
    kind: "esplora",
    start: (chain, faults = {}) => {
      const raw = faults.rawTx;
      const own = faults.esplora?.respond;
      return startEsploraServer(chain, {
        ...faults.esplora,
        respond: (path) => (raw !== undefined && path === `/tx/${raw.txid}/hex` ? { status: 200, body: raw.hex } : own?.(path)),
      });
    },
    endpoint: (s) => ({ esploraUrl: s.url }),
    askedForProof: (calls) => calls.some((c) => c.endsWith("/merkle-proof")),
  },
];

/** What a case gets: its backend, a stub started on a chain (closed after the test), and verify. */
interface Run {
  kind: Kind;
  t: TestContext;
  serve(chain: RegtestChain, faults?: Faults): Promise<RunningServer>;
  askedForProof(calls: string[]): boolean;
  verify(anchor: Anchor, root: string, server: RunningServer, ctx?: Partial<BtcVerifyContext>): Promise<VerificationResult>;
}

interface Case {
  name: string;
  /** Run against this backend only. */
  only?: Kind;
  run(r: Run): Promise<void>;
}

const CASES: Case[] = [
  {
    name: "accepts an anchor mined on the regtest chain and records evidence",
    async run(r) {
      const { chain, root, anchor } = anchoredChain(`${r.kind}-ok`, 2);
      const server = await r.serve(chain);
      const result = await r.verify(anchor, root, server, { confirmations: 3, now: fixedNow });
      const block = chain.blocks[anchor.block]!;
      assert.equal(result.outcome, "verified", result.reason);
      assert.deepEqual(result.evidence, {
        checkedAt: 1_700_000_000,
        blockHash: block.getId(),
        height: anchor.block,
        head: chain.height,
        confirmations: 3,
        merkleRoot: Buffer.from(block.merkleRoot!).reverse().toString("hex"),
      });
      assert.ok(r.askedForProof(server.calls), `the inclusion proof came from the endpoint: ${server.calls.join(", ")}`);
    },
  },
  {
    name: "pending while short of confirmations, verified once enough blocks are mined",
    async run(r) {
      const { chain, root, anchor } = anchoredChain(`${r.kind}-confirm`, 1);
      const server = await r.serve(chain);
      const first = await r.verify(anchor, root, server, { confirmations: 6 });
      assert.equal(first.outcome, "pending");
      assert.equal(first.reason, "2 of 6 confirmations");
      chain.mine(4);
      const second = await r.verify(anchor, root, server, { confirmations: 6, previous: first.evidence });
      assert.equal(second.outcome, "verified", second.reason);
      assert.equal(second.evidence?.confirmations, 6);
    },
  },
  {
    name: "pending for a transaction still in the mempool",
    only: "core",
    async run(r) {
      const { chain, root } = anchoredChain(`${r.kind}-mempool-base`);
      const tx = chain.addAnchorTx(root);
      const server = await r.serve(chain);
      const anchor = { batchId: "b", batchRoot: root, chain: "btc:regtest", tx, block: chain.height + 1, ts: 0 };
      const result = await r.verify(anchor, root, server);
      assert.equal(result.outcome, "pending");
      assert.match(result.reason!, /^0 of 1 confirmations/);
    },
  },
  {
    name: "pending, naming the endpoint without credentials, when its port is closed",
    async run(r) {
      const { chain, root, anchor } = anchoredChain(`${r.kind}-closed`);
      const server = await BACKENDS.find((b) => b.kind === r.kind)!.start(chain);
      await server.close();
      const result = await r.verify(anchor, root, server, { timeoutMs: 2_000 });
      assert.equal(result.outcome, "pending");
      assert.equal(result.reason, `btc endpoint ${server.origin} unreachable: connection refused`);
      assert.ok(!result.reason!.includes("regtest-secret"), "the password must not appear in the reason");
    },
  },
  {
    name: "pending when the node accepts the connection but never answers within timeoutMs",
    only: "core",
    async run(r) {
      const { root, anchor } = anchoredChain(`${r.kind}-silent`);
      const silent = createServer(() => undefined); // holds every request open
      await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
      r.t.after(() => new Promise<void>((resolve) => {
        silent.closeAllConnections();
        silent.close(() => resolve());
      }));
      const { port } = silent.address() as AddressInfo;
      const result = await verifyBtcAnchor(anchor, root, { endpoint: { rpcUrl: `http://vmsh:secret@127.0.0.1:${port}` }, confirmations: 1, timeoutMs: 300 });
      assert.equal(result.outcome, "pending");
      assert.equal(result.reason, `btc endpoint http://127.0.0.1:${port} unreachable: no answer within 300 ms`);
    },
  },
  {
    name: "pending, without echoing the password, when the node refuses the credentials",
    only: "core",
    async run(r) {
      const { chain, root, anchor } = anchoredChain(`${r.kind}-401`);
      const server = await r.serve(chain);
      const result = await verifyBtcAnchor(anchor, root, { endpoint: { rpcUrl: server.url.replace("regtest-secret", "wrong-password") }, confirmations: 1 });
      assert.equal(result.outcome, "pending");
      assert.match(result.reason!, /HTTP 401/);
      assert.ok(!result.reason!.includes("wrong-password"));
    },
  },
  {
    name: "pending when the endpoint answers HTTP 503",
    only: "esplora",
    async run(r) {
      const { chain, root, anchor } = anchoredChain(`${r.kind}-503`);
      const server = await r.serve(chain, { esplora: { respond: (path) => (path.startsWith("/tx/") ? { status: 503, body: "overloaded" } : undefined) } });
      const result = await r.verify(anchor, root, server);
      assert.equal(result.outcome, "pending");
      assert.match(result.reason!, new RegExp(`^btc endpoint ${server.origin} answered GET /tx/…/hex with HTTP 503$`));
    },
  },
  {
    name: "finds a confirmed transaction on a node without -txindex through the anchor's block",
    only: "core",
    async run(r) {
      const { chain, root, anchor } = anchoredChain(`${r.kind}-no-txindex`);
      const server = await r.serve(chain, { core: { txindex: false } });
      const result = await r.verify(anchor, root, server);
      assert.equal(result.outcome, "verified", result.reason);
    },
  },
  {
    name: "rejects an anchor whose batchRoot is not the batch's root, asking the endpoint nothing",
    async run(r) {
      const { chain, anchor } = anchoredChain(`${r.kind}-batchroot`);
      const server = await r.serve(chain);
      const result = await r.verify(anchor, rootOf("another batch"), server);
      assert.equal(result.outcome, "rejected");
      assert.match(result.reason!, /differs from batch root/);
      assert.deepEqual(server.calls, [], "nothing is asked of the endpoint for an anchor that contradicts itself");
    },
  },
  {
    name: "rejects a transaction without an RV OP_RETURN output",
    async run(r) {
      const { chain, root } = anchoredChain(`${r.kind}-no-rv`);
      const tx = chain.addOpReturnTx(Buffer.concat([Buffer.from("RX"), Buffer.from(root.slice(7), "hex")]));
      chain.mine(1);
      const server = await r.serve(chain);
      const result = await r.verify({ batchId: "b", batchRoot: root, chain: "btc:regtest", tx, block: chain.height, ts: 0 }, root, server);
      assert.equal(result.outcome, "rejected");
      assert.equal(result.reason, "no OP_RETURN output carries RV followed by the 32 root bytes");
    },
  },
  {
    name: "rejects an RV output that commits to a different root",
    async run(r) {
      const { chain, anchor } = anchoredChain(`${r.kind}-wrong-root`);
      const server = await r.serve(chain);
      const claimed = rootOf("claimed root");
      const result = await r.verify({ ...anchor, batchRoot: claimed }, claimed, server);
      assert.equal(result.outcome, "rejected");
      assert.match(result.reason!, new RegExp(`commits to ${rootOf(`${r.kind}-wrong-root`)}, not batch root ${claimed}`));
    },
  },
  {
    name: "rejects when gettxoutproof proves a different transaction of the block",
    only: "core",
    async run(r) {
      const { chain, root, anchor } = anchoredChain(`${r.kind}-forged-proof`);
      const block = chain.blocks[anchor.block]!;
      const coinbaseProof = Buffer.from(chain.txOutProof(block, [block.transactions![0]!.getId()])).toString("hex");
      const server = await r.serve(chain, { core: { respond: (method) => (method === "gettxoutproof" ? { result: coinbaseProof } : undefined) } });
      const result = await r.verify(anchor, root, server);
      assert.equal(result.outcome, "rejected");
      assert.match(result.reason!, /not among the proof's matched transactions/);
    },
  },
  {
    name: "rejects a gettxoutproof whose tree does not reach the header's merkle root",
    only: "core",
    async run(r) {
      const { chain, root, anchor } = anchoredChain(`${r.kind}-forged-tree`);
      const proof = Buffer.from(chain.txOutProof(chain.blocks[anchor.block]!, [anchor.tx]));
      proof[80 + 4 + 1 + 5]! ^= 0x01; // a byte of the first hash of the tree
      const server = await r.serve(chain, { core: { respond: (method) => (method === "gettxoutproof" ? { result: proof.toString("hex") } : undefined) } });
      const result = await r.verify(anchor, root, server);
      assert.equal(result.outcome, "rejected");
      assert.match(result.reason!, /partial merkle tree recomputes root/);
    },
  },
  {
    name: "rejects a merkle-proof branch that does not fold to the header's merkle root",
    only: "esplora",
    async run(r) {
      const { chain, root, anchor } = anchoredChain(`${r.kind}-forged-branch`);
      const located = chain.locate(anchor.tx)!;
      const honest = chain.merkleBranch(located.block, located.index);
      const forged = { block_height: located.height, merkle: honest.merkle.map((h, i) => (i === 0 ? `${h.slice(0, 63)}${h[63] === "0" ? "1" : "0"}` : h)), pos: honest.pos };
      const server = await r.serve(chain, { esplora: { respond: (path) => (path.endsWith("/merkle-proof") ? { status: 200, body: JSON.stringify(forged) } : undefined) } });
      const result = await r.verify(anchor, root, server);
      assert.equal(result.outcome, "rejected");
      assert.match(result.reason!, /^transaction not in block [0-9a-f]{64}: merkle-proof folds to/);
    },
  },
  {
    name: "rejects a merkle-proof at another position of the same block",
    only: "esplora",
    async run(r) {
      const { chain, root, anchor } = anchoredChain(`${r.kind}-wrong-pos`);
      const located = chain.locate(anchor.tx)!;
      const honest = chain.merkleBranch(located.block, located.index);
      const server = await r.serve(chain, { esplora: { respond: (path) => (path.endsWith("/merkle-proof") ? { status: 200, body: JSON.stringify({ ...honest, pos: honest.pos ^ 1 }) } : undefined) } });
      const result = await r.verify(anchor, root, server);
      assert.equal(result.outcome, "rejected");
      assert.match(result.reason!, /^transaction not in block/);
    },
  },
  {
    name: "rejects a transaction in a block whose header misses its own target",
    async run(r) {
      const { chain, root } = anchoredChain(`${r.kind}-bad-pow-base`);
      const tx = chain.addAnchorTx(root);
      chain.mine(1, { invalidProofOfWork: true });
      chain.mine(1);
      const server = await r.serve(chain);
      const result = await r.verify({ batchId: "b", batchRoot: root, chain: "btc:regtest", tx, block: chain.height - 1, ts: 0 }, root, server);
      assert.equal(result.outcome, "rejected");
      // Core's reason names the call whose header failed: the block comes with gettxoutproof.
      const where = r.kind === "core" ? `gettxoutproof for block ${chain.blocks[chain.height - 1]!.getId()}: ` : "";
      assert.equal(result.reason, `${where}header hash does not meet the target of its own bits 0x207fffff`);
    },
  },
  {
    name: "rejects when the endpoint returns a different transaction for the txid",
    async run(r) {
      const { chain, root, anchor } = anchoredChain(`${r.kind}-other-tx`);
      const decoy = chain.addAnchorTx(root); // carries the very same RV commitment
      chain.mine(1);
      const server = await r.serve(chain, { rawTx: { txid: anchor.tx, hex: chain.locate(decoy)!.tx.toHex(), blockhash: chain.blocks[anchor.block]!.getId() } });
      const result = await r.verify(anchor, root, server);
      assert.equal(result.outcome, "rejected");
      assert.equal(result.reason, `raw transaction from the endpoint hashes to ${decoy}, not anchor tx ${anchor.tx}`);
    },
  },
  {
    name: "rejects a btc:mainnet anchor checked against a regtest endpoint",
    async run(r) {
      const { chain, root, anchor } = anchoredChain(`${r.kind}-network`);
      const server = await r.serve(chain);
      const result = await r.verify({ ...anchor, chain: "btc:mainnet" }, root, server);
      assert.equal(result.outcome, "rejected");
      // Core names its chain; Esplora is known by its genesis block hash.
      const serves = r.kind === "core" ? `chain "regtest"` : `genesis ${chain.blocks[0]!.getId()}`;
      assert.equal(result.reason, `wrong network: endpoint ${server.origin} serves ${serves}, anchor is btc:mainnet`);
    },
  },
  {
    name: "rejects regtest-difficulty headers from a node that claims to serve mainnet",
    only: "core",
    async run(r) {
      const { chain, root, anchor } = anchoredChain(`${r.kind}-lying-network`);
      const server = await r.serve(chain, { core: { chainName: "main" } });
      const result = await r.verify({ ...anchor, chain: "btc:mainnet" }, root, server);
      assert.equal(result.outcome, "rejected");
      assert.equal(result.reason, "header bits 0x207fffff exceed the btc:mainnet proof-of-work limit");
    },
  },
  {
    name: "rejects an unknown txid as transaction not found",
    async run(r) {
      const { chain, root, anchor } = anchoredChain(`${r.kind}-unknown`);
      const server = await r.serve(chain);
      const result = await r.verify({ ...anchor, tx: "ab".repeat(32) }, root, server);
      assert.equal(result.outcome, "rejected");
      assert.equal(result.reason, "transaction not found");
    },
  },
  {
    name: "rejects an anchor whose block height is not the transaction's",
    async run(r) {
      const { chain, root, anchor } = anchoredChain(`${r.kind}-height`, 1);
      const server = await r.serve(chain);
      const result = await r.verify({ ...anchor, block: anchor.block + 1 }, root, server);
      assert.equal(result.outcome, "rejected");
      assert.equal(result.reason, `transaction is in block height ${anchor.block}, anchor says ${anchor.block + 1}`);
    },
  },
  {
    name: "rejects a reorg that moved the transaction into another block",
    async run(r) {
      const { chain, root, anchor } = anchoredChain(`${r.kind}-reorg`, 1);
      const server = await r.serve(chain);
      const before = await r.verify(anchor, root, server);
      assert.equal(before.outcome, "verified", before.reason);
      chain.reorg(2);
      assert.equal(chain.locate(anchor.tx)?.height, anchor.block, "re-mined at the same height");
      const after = await r.verify(anchor, root, server, { previous: before.evidence });
      assert.equal(after.outcome, "rejected");
      assert.match(after.reason!, new RegExp(`^reorg: transaction moved from block ${before.evidence!.blockHash} to ${chain.blocks[anchor.block]!.getId()}`));
    },
  },
  {
    name: "pending with a reorg reason when the new block still lacks confirmations",
    async run(r) {
      const { chain, root, anchor } = anchoredChain(`${r.kind}-reorg-shallow`);
      const server = await r.serve(chain);
      const before = await r.verify(anchor, root, server);
      chain.reorg(1);
      const after = await r.verify(anchor, root, server, { confirmations: 3, previous: before.evidence });
      assert.equal(after.outcome, "pending");
      assert.match(after.reason!, /^reorg: transaction moved from block [0-9a-f]{64} to [0-9a-f]{64} at height \d+; 2 of 3 confirmations$/);
    },
  },
  {
    name: "pending with a reorg reason when the reorg left the transaction unconfirmed",
    async run(r) {
      const { chain, root, anchor } = anchoredChain(`${r.kind}-reorg-mempool`, 1);
      const server = await r.serve(chain);
      const before = await r.verify(anchor, root, server);
      chain.reorg(2, { reinclude: false });
      const after = await r.verify(anchor, root, server, { previous: before.evidence });
      assert.equal(after.outcome, "pending");
      assert.match(after.reason!, /^reorg: block [0-9a-f]{64} no longer holds the transaction; 0 of 1 confirmations/);
    },
  },
  {
    name: "a caller's malformed context throws ArgumentError naming the parameter",
    async run(r) {
      const { root, anchor } = anchoredChain(`${r.kind}-args`);
      const bad = r.kind === "core" ? { rpcUrl: "ftp://x" } : { esploraUrl: "ftp://x" };
      await assert.rejects(verifyBtcAnchor(anchor, root, { endpoint: bad, confirmations: 1 }), (e: unknown) => e instanceof ArgumentError && new RegExp(`ctx\\.endpoint\\.${Object.keys(bad)[0]}`).test(e.message));
      const good = r.kind === "core" ? { rpcUrl: "http://127.0.0.1:1" } : { esploraUrl: "http://127.0.0.1:1" };
      await assert.rejects(verifyBtcAnchor(anchor, root, { endpoint: good, confirmations: 0 }), /ctx\.confirmations/);
      await assert.rejects(verifyBtcAnchor(anchor, "sha256:xyz", { endpoint: good, confirmations: 1 }), /batchRoot/);
    },
  },
];

for (const backend of BACKENDS) {
  describe(`verifyBtcAnchor with ${backend.kind === "core" ? "Bitcoin Core JSON-RPC" : "Esplora REST"}`, () => {
    for (const c of CASES.filter((x) => x.only === undefined || x.only === backend.kind)) {
      test(`verify (${backend.kind}): ${c.name}`, (t) =>
        c.run({
          kind: backend.kind,
          t,
          async serve(chain, faults) {
            const server = await backend.start(chain, faults);
            t.after(() => server.close());
            return server;
          },
          askedForProof: backend.askedForProof,
          verify: (anchor, root, server, ctx = {}) => verifyBtcAnchor(anchor, root, { endpoint: backend.endpoint(server), confirmations: 1, ...ctx }),
        }));
    }
  });
}
