/**
 * A real regtest chain mined with bitcoinjs-lib (docs/RELIABILITY.md §How the tests are built): Bitcoin Core's regtest
 * genesis block, coinbase transactions with BIP 34 heights, merkle roots from
 * bitcoinjs-lib, and nonces searched until the header meets regtest's 0x207fffff
 * target. Two loopback servers expose it: one answering Bitcoin Core JSON-RPC
 * (errors in Core's `{result:null,error,id}` form, 401 on bad Basic auth), one
 * answering Esplora REST. Used by the tests and by the demo script, so it only
 * computes what a real node would answer, plus explicit `respond` overrides
 * that tests use to make the node lie.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Block, Transaction, opcodes, script as bscript } from "bitcoinjs-lib";
import { buildPartialMerkleTree } from "../../lib/anchors/btc/partial-merkle-tree.js";
import { encodeTxOutProof } from "../../lib/anchors/btc/txoutproof.js";
import { sha256d } from "../../lib/anchors/btc/hash-order.js";

/** Raw coinbase of Core's regtest (and mainnet) genesis block. */
const GENESIS_COINBASE =
  "01000000010000000000000000000000000000000000000000000000000000000000000000ffffffff4d04ffff001d0104455468652054696d65732030332f4a616e2f32303039204368616e63656c6c6f72206f6e206272696e6b206f66207365636f6e64206261696c6f757420666f722062616e6b73ffffffff0100f2052a01000000434104678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5fac00000000";
export const REGTEST_GENESIS_HASH = "0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206";
export const REGTEST_BITS = 0x207fffff;
const GENESIS_TIME = 1296688602;
const OP_TRUE = Uint8Array.of(opcodes.OP_1);

const reversedHex = (b: Uint8Array): string => Buffer.from(b).reverse().toString("hex");

/** The `RV` + 32 root bytes push of docs/ANCHORS.md §Bitcoin anchors, for a `sha256:<hex>` root or raw bytes. */
export function rvPayload(root: string | Uint8Array): Uint8Array {
  const bytes = typeof root === "string" ? Buffer.from(root.replace(/^sha256:/, ""), "hex") : Buffer.from(root);
  return Uint8Array.from(Buffer.concat([Buffer.from("RV"), bytes]));
}

export interface MineOptions {
  /** Include the mempool's transactions (default true). */
  includeMempool?: boolean;
  /** Pick a nonce whose header hash is above the target (a block no node would accept). */
  invalidProofOfWork?: boolean;
}

/** The chain: active blocks by height, every block ever mined by hash, and a mempool. */
export class RegtestChain {
  readonly blocks: Block[] = [];
  private readonly known = new Map<string, Block>();
  mempool: Transaction[] = [];
  private salt = 0;
  private nextSpend = 1;

  constructor() {
    const coinbase = Transaction.fromHex(GENESIS_COINBASE);
    const genesis = this.assemble(new Uint8Array(32), [coinbase], GENESIS_TIME, 2);
    if (genesis.getId() !== REGTEST_GENESIS_HASH) throw new Error("regtest genesis does not hash to Core's genesis hash");
    this.append(genesis);
  }

  /** Height of the best block. */
  get height(): number {
    return this.blocks.length - 1;
  }

  get tipHash(): string {
    return this.blocks[this.height]!.getId();
  }

  /** A block (active or reorged away) by display hash. */
  blockByHash(hash: string): Block | undefined {
    return this.known.get(hash.toLowerCase());
  }

  /** Height of an active-chain block, or undefined for a stale/unknown one. */
  heightOf(hash: string): number | undefined {
    const h = this.blocks.findIndex((b) => b.getId() === hash.toLowerCase());
    return h < 0 ? undefined : h;
  }

  /** Where `txid` sits on the active chain. */
  locate(txid: string): { block: Block; height: number; index: number; tx: Transaction } | undefined {
    for (const [height, block] of this.blocks.entries()) {
      const index = block.transactions!.findIndex((t) => t.getId() === txid);
      if (index >= 0) return { block, height, index, tx: block.transactions![index]! };
    }
    return undefined;
  }

  /** Mines `n` blocks on the tip; returns their hashes. */
  mine(n: number, options: MineOptions = {}): string[] {
    const hashes: string[] = [];
    for (let i = 0; i < n; i++) {
      const height = this.height + 1;
      const txs = options.includeMempool === false ? [] : this.mempool.splice(0);
      const block = this.assemble(this.blocks[this.height]!.getHash(), [this.coinbase(height), ...txs], GENESIS_TIME + height * 600, 0, options.invalidProofOfWork);
      this.append(block);
      hashes.push(block.getId());
    }
    return hashes;
  }

  /**
   * Puts into the mempool a transaction with an OP_RETURN pushing `payload` (default
   * use: `rvPayload(root)`), spending a mature coinbase output; the input is unsigned
   * (OP_TRUE outputs need no signature). Returns the txid.
   */
  addOpReturnTx(payload: Uint8Array): string {
    if (this.nextSpend > this.height) this.mine(1, { includeMempool: false });
    const spent = this.blocks[this.nextSpend++]!.transactions![0]!;
    const tx = new Transaction();
    tx.version = 2;
    tx.addInput(spent.getHash(), 0);
    tx.addOutput(bscript.compile([opcodes.OP_RETURN, payload]), 0n);
    tx.addOutput(OP_TRUE, spent.outs[0]!.value - 1_000n);
    this.mempool.push(tx);
    return tx.getId();
  }

  /** `addOpReturnTx(rvPayload(root))`: the anchor transaction docs/ANCHORS.md §Bitcoin anchors describes. */
  addAnchorTx(root: string | Uint8Array): string {
    return this.addOpReturnTx(rvPayload(root));
  }

  /**
   * Replaces the last `k` blocks with `k + 1` new ones (so the new branch is longer).
   * Their transactions go back to the mempool and, unless `reinclude` is false, into
   * the first replacement block.
   */
  reorg(k: number, options: { reinclude?: boolean } = {}): string[] {
    if (k < 1 || k > this.height) throw new RangeError(`cannot reorg ${k} of ${this.height} blocks`);
    const removed = this.blocks.splice(this.blocks.length - k, k);
    const returned = removed.flatMap((b) => b.transactions!.slice(1));
    this.mempool = [...returned, ...this.mempool];
    this.salt++;
    if (options.reinclude === false) {
      return this.mine(k + 1, { includeMempool: false });
    }
    return [...this.mine(1), ...this.mine(k)];
  }

  /** Core's `gettxoutproof`: the CMerkleBlock for `txids` in `block`. */
  txOutProof(block: Block, txids: readonly string[]): Uint8Array {
    const ids = block.transactions!.map((t) => t.getHash());
    const matched = block.transactions!.map((t) => txids.includes(t.getId()));
    return encodeTxOutProof(block.toBuffer(true), buildPartialMerkleTree(ids, matched));
  }

  /** Esplora's `merkle-proof`: sibling hashes bottom-up (display hex) and the tx position. */
  merkleBranch(block: Block, index: number): { merkle: string[]; pos: number } {
    let level = block.transactions!.map((t) => t.getHash());
    const merkle: string[] = [];
    let pos = index;
    while (level.length > 1) {
      merkle.push(reversedHex(level[pos ^ 1] ?? level[pos]!));
      const next: Uint8Array[] = [];
      for (let i = 0; i < level.length; i += 2) next.push(sha256d(level[i]!, level[i + 1] ?? level[i]!));
      level = next;
      pos >>= 1;
    }
    return { merkle, pos: index };
  }

  private coinbase(height: number): Transaction {
    const tx = new Transaction();
    tx.version = 2;
    // BIP 34 height, then a salt so that a reorg's replacement blocks differ from the originals.
    tx.addInput(new Uint8Array(32), 0xffffffff, 0xffffffff, bscript.compile([bscript.number.encode(height), bscript.number.encode(this.salt + 1000)]));
    tx.addOutput(OP_TRUE, 5_000_000_000n >> BigInt(Math.floor(height / 150)));
    return tx;
  }

  private assemble(prevHash: Uint8Array, txs: Transaction[], time: number, nonce: number, invalid = false): Block {
    const block = new Block();
    block.version = nonce === 2 && time === GENESIS_TIME ? 1 : 0x20000000;
    block.prevHash = prevHash;
    block.merkleRoot = Block.calculateMerkleRoot(txs);
    block.timestamp = time;
    block.bits = REGTEST_BITS;
    block.transactions = txs;
    block.nonce = nonce;
    if (time !== GENESIS_TIME) {
      // At 0x207fffff about every other nonce meets the target, so this loop is short either way.
      while (block.checkProofOfWork() === invalid) block.nonce++;
    }
    return block;
  }

  private append(block: Block): void {
    this.blocks.push(block);
    this.known.set(block.getId(), block);
  }
}

/** A fresh chain with the genesis block and `blocks` more mined on it. */
export function createRegtestChain(blocks = 0): RegtestChain {
  const chain = new RegtestChain();
  chain.mine(blocks);
  return chain;
}

export interface RunningServer {
  /** Base URL; for the Core stub it carries `user:pass@`. */
  url: string;
  /** Base URL without credentials. */
  origin: string;
  /** Requests served, as `method` (Core) or `GET /path` (Esplora). */
  calls: string[];
  close(): Promise<void>;
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void, host = "127.0.0.1"): Promise<Server> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => handler(req, res, Buffer.concat(chunks).toString("utf8")));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return server;
}

function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
}

/** A canned answer a test substitutes for the node's own: a result, or a Core error. */
export type CoreReply = { result: unknown } | { error: { code: number; message: string } };

export interface CoreStubOptions {
  user?: string;
  password?: string;
  /** `getblockchaininfo.chain` (default "regtest"). */
  chainName?: string;
  /** Whether getrawtransaction finds confirmed transactions without a block hash (default true). */
  txindex?: boolean;
  /** Return a reply to make the node answer differently; `undefined` lets it answer truthfully. */
  respond?: (method: string, params: unknown[]) => CoreReply | undefined;
  /** Address to listen on; default 127.0.0.1 (the chaos run uses its test network's hub address). */
  host?: string;
}

class RpcFailure extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

const RPC_INVALID_ADDRESS_OR_KEY = -5;
const RPC_INVALID_PARAMETER = -8;

function blockHeaderJson(chain: RegtestChain, block: Block): Record<string, unknown> {
  const hash = block.getId();
  const height = chain.heightOf(hash);
  const json: Record<string, unknown> = {
    hash,
    confirmations: height === undefined ? -1 : chain.height - height + 1,
    version: block.version,
    versionHex: (block.version >>> 0).toString(16).padStart(8, "0"),
    merkleroot: reversedHex(block.merkleRoot!),
    time: block.timestamp,
    nonce: block.nonce,
    bits: block.bits.toString(16).padStart(8, "0"),
    nTx: block.transactions!.length,
  };
  if (height !== undefined) json.height = height;
  if (height !== undefined && height > 0) json.previousblockhash = reversedHex(block.prevHash!);
  if (height !== undefined && height < chain.height) json.nextblockhash = chain.blocks[height + 1]!.getId();
  return json;
}

function txJson(chain: RegtestChain, tx: Transaction, block: Block | undefined): Record<string, unknown> {
  const json: Record<string, unknown> = {
    txid: tx.getId(),
    hash: reversedHex(tx.getHash(true)),
    version: tx.version,
    size: tx.byteLength(),
    vsize: tx.virtualSize(),
    weight: tx.weight(),
    locktime: tx.locktime,
    vin: tx.ins.map((i) => (tx.isCoinbase() ? { coinbase: Buffer.from(i.script).toString("hex"), sequence: i.sequence } : { txid: reversedHex(i.hash), vout: i.index, scriptSig: { hex: Buffer.from(i.script).toString("hex") }, sequence: i.sequence })),
    vout: tx.outs.map((o, n) => ({ value: Number(o.value) / 1e8, n, scriptPubKey: { hex: Buffer.from(o.script).toString("hex") } })),
    hex: tx.toHex(),
  };
  if (block !== undefined) {
    const height = chain.heightOf(block.getId());
    json.blockhash = block.getId();
    json.confirmations = height === undefined ? 0 : chain.height - height + 1;
    json.time = block.timestamp;
    json.blocktime = block.timestamp;
  }
  return json;
}

function coreMethod(chain: RegtestChain, options: CoreStubOptions, method: string, params: unknown[]): unknown {
  const blockParam = (value: unknown, notFound = "Block not found"): Block => {
    const block = typeof value === "string" ? chain.blockByHash(value) : undefined;
    if (block === undefined) throw new RpcFailure(RPC_INVALID_ADDRESS_OR_KEY, notFound);
    return block;
  };
  switch (method) {
    case "getblockchaininfo":
      return { chain: options.chainName ?? "regtest", blocks: chain.height, headers: chain.height, bestblockhash: chain.tipHash, difficulty: 4.656542373906925e-10, verificationprogress: 1, initialblockdownload: false, pruned: false, warnings: "" };
    case "getblockcount":
      return chain.height;
    case "getbestblockhash":
      return chain.tipHash;
    case "getblockhash": {
      const h = params[0];
      if (typeof h !== "number" || !Number.isInteger(h) || h < 0 || h > chain.height) throw new RpcFailure(RPC_INVALID_PARAMETER, "Block height out of range");
      return chain.blocks[h]!.getId();
    }
    case "getblockheader": {
      const block = blockParam(params[0]);
      return params[1] === false ? block.toHex(true) : blockHeaderJson(chain, block);
    }
    case "getrawtransaction": {
      const [txid, verbosity, blockhash] = params;
      const verbose = verbosity === true || (typeof verbosity === "number" && verbosity > 0);
      let found: { tx: Transaction; block?: Block } | undefined;
      if (blockhash !== undefined) {
        const block = blockParam(blockhash, "Block hash not found");
        const tx = block.transactions!.find((t) => t.getId() === txid);
        if (tx === undefined) throw new RpcFailure(RPC_INVALID_ADDRESS_OR_KEY, "No such transaction found in the provided block. Use gettransaction for wallet transactions.");
        found = { tx, block };
      } else {
        const inMempool = chain.mempool.find((t) => t.getId() === txid);
        const located = typeof txid === "string" ? chain.locate(txid) : undefined;
        if (inMempool !== undefined) found = { tx: inMempool };
        else if (located !== undefined && options.txindex !== false) found = { tx: located.tx, block: located.block };
        else if (options.txindex === false) throw new RpcFailure(RPC_INVALID_ADDRESS_OR_KEY, "No such mempool transaction. Use -txindex or provide a block hash to enable blockchain transaction queries. Use gettransaction for wallet transactions.");
        else throw new RpcFailure(RPC_INVALID_ADDRESS_OR_KEY, "No such mempool or blockchain transaction. Use gettransaction for wallet transactions.");
      }
      return verbose ? txJson(chain, found.tx, found.block) : found.tx.toHex();
    }
    case "gettxoutproof": {
      const [txids, blockhash] = params;
      if (!Array.isArray(txids) || txids.length === 0 || !txids.every((t) => typeof t === "string")) throw new RpcFailure(RPC_INVALID_PARAMETER, "Invalid parameter");
      let block: Block;
      if (blockhash !== undefined) block = blockParam(blockhash);
      else {
        const located = chain.locate(txids[0] as string);
        if (located === undefined) throw new RpcFailure(RPC_INVALID_ADDRESS_OR_KEY, "Transaction not yet in block");
        block = located.block;
      }
      const inBlock = new Set(block.transactions!.map((t) => t.getId()));
      if (!txids.every((t) => inBlock.has(t as string))) throw new RpcFailure(RPC_INVALID_ADDRESS_OR_KEY, "Not all transactions found in specified or retrieved block");
      return Buffer.from(chain.txOutProof(block, txids as string[])).toString("hex");
    }
    default:
      throw new RpcFailure(-32601, "Method not found");
  }
}

/**
 * Serves `chain` as Bitcoin Core's JSON-RPC on 127.0.0.1 (port 0), with HTTP Basic auth.
 * @example const core = await startCoreRpcServer(chain); verify with { rpcUrl: core.url }; await core.close();
 */
export async function startCoreRpcServer(chain: RegtestChain, options: CoreStubOptions = {}): Promise<RunningServer> {
  const user = options.user ?? "vmsh";
  const password = options.password ?? "regtest-secret";
  const expected = `Basic ${Buffer.from(`${user}:${password}`).toString("base64")}`;
  const calls: string[] = [];
  const server = await listen((req, res, body) => {
    if (req.headers.authorization !== expected) {
      res.writeHead(401, { "www-authenticate": 'Basic realm="jsonrpc"' }).end();
      return;
    }
    let request: { id?: unknown; method?: unknown; params?: unknown };
    try {
      request = JSON.parse(body) as typeof request;
    } catch {
      res.writeHead(500, { "content-type": "application/json" }).end(JSON.stringify({ result: null, error: { code: -32700, message: "Parse error" }, id: null }));
      return;
    }
    const method = String(request.method);
    const params = Array.isArray(request.params) ? request.params : [];
    calls.push(method);
    const reply = (status: number, payload: Record<string, unknown>): void => {
      res.writeHead(status, { "content-type": "application/json" }).end(`${JSON.stringify({ ...payload, id: request.id ?? null })}\n`);
    };
    const override = options.respond?.(method, params);
    if (override !== undefined) {
      if ("error" in override) reply(500, { result: null, error: override.error });
      else reply(200, { result: override.result, error: null });
      return;
    }
    try {
      reply(200, { result: coreMethod(chain, options, method, params), error: null });
    } catch (error) {
      if (!(error instanceof RpcFailure)) throw error;
      reply(error.code === -32601 ? 404 : 500, { result: null, error: { code: error.code, message: error.message } });
    }
  }, options.host);
  const { port } = server.address() as AddressInfo;
  const host = options.host ?? "127.0.0.1";
  return { url: `http://${user}:${password}@${host}:${port}`, origin: `http://${host}:${port}`, calls, close: closer(server) };
}

/** A canned Esplora answer. */
export interface EsploraReply {
  status: number;
  body: string;
}

export interface EsploraStubOptions {
  /** Return a reply to make the server answer differently; `undefined` lets it answer truthfully. */
  respond?: (path: string) => EsploraReply | undefined;
}

function esploraRoute(chain: RegtestChain, path: string): EsploraReply {
  const ok = (body: unknown): EsploraReply => ({ status: 200, body: typeof body === "string" ? body : JSON.stringify(body) });
  const blockNotFound = { status: 404, body: "Block not found" };
  const txNotFound = { status: 404, body: "Transaction not found" };
  let m: RegExpExecArray | null;
  if (path === "/blocks/tip/height") return ok(String(chain.height));
  if (path === "/blocks/tip/hash") return ok(chain.tipHash);
  if ((m = /^\/block-height\/(\d+)$/.exec(path))) {
    const h = Number(m[1]);
    return h <= chain.height ? ok(chain.blocks[h]!.getId()) : blockNotFound;
  }
  if ((m = /^\/block\/([0-9a-f]{64})(\/header|\/status)?$/.exec(path))) {
    const block = chain.blockByHash(m[1]!);
    if (block === undefined) return blockNotFound;
    const height = chain.heightOf(m[1]!);
    if (m[2] === "/header") return ok(block.toHex(true));
    if (m[2] === "/status") return ok({ in_best_chain: height !== undefined, height, next_best: height !== undefined && height < chain.height ? chain.blocks[height + 1]!.getId() : null });
    return ok({ id: block.getId(), height, version: block.version, timestamp: block.timestamp, tx_count: block.transactions!.length, merkle_root: reversedHex(block.merkleRoot!), previousblockhash: reversedHex(block.prevHash!), nonce: block.nonce, bits: block.bits });
  }
  if ((m = /^\/tx\/([0-9a-f]{64})\/(hex|status|merkle-proof)$/.exec(path))) {
    const txid = m[1]!;
    const located = chain.locate(txid);
    const inMempool = chain.mempool.find((t) => t.getId() === txid);
    if (located === undefined && inMempool === undefined) return txNotFound;
    if (m[2] === "hex") return ok((located?.tx ?? inMempool)!.toHex());
    if (m[2] === "status") {
      return ok(located === undefined ? { confirmed: false } : { confirmed: true, block_height: located.height, block_hash: located.block.getId(), block_time: located.block.timestamp });
    }
    if (located === undefined) return txNotFound;
    return ok({ block_height: located.height, ...chain.merkleBranch(located.block, located.index) });
  }
  return { status: 404, body: "Not Found" };
}

/**
 * Serves `chain` as an Esplora REST API on 127.0.0.1 (port 0).
 * @example const esplora = await startEsploraServer(chain); verify with { esploraUrl: esplora.url };
 */
export async function startEsploraServer(chain: RegtestChain, options: EsploraStubOptions = {}): Promise<RunningServer> {
  const calls: string[] = [];
  const server = await listen((req, res) => {
    const path = new URL(req.url ?? "/", "http://stub").pathname;
    calls.push(`${req.method ?? "GET"} ${path}`);
    const reply = req.method === "GET" ? (options.respond?.(path) ?? esploraRoute(chain, path)) : { status: 405, body: "Method Not Allowed" };
    const json = reply.body.startsWith("{") || reply.body.startsWith("[");
    res.writeHead(reply.status, { "content-type": json ? "application/json" : "text/plain" }).end(reply.body);
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return { url, origin: url, calls, close: closer(server) };
}
