/**
 * The chaos run's workload (docs/RELIABILITY.md §Chaos): batches sealed exactly as upstream's sealer
 * writes them, announced by a seeded choice of origin, then anchored rail by rail as upstream's
 * writers do it (a TSA stamp minted by `openssl ts` first, an EVM anchor on anvil and a Bitcoin
 * anchor on a regtest chain later), and now and then a false claim: another batch's genuine EVM
 * transaction attached to a batch whose root it does not anchor. It keeps the ground truth the
 * checker judges every reported verdict by.
 */
import { join } from "node:path";
import type { Address } from "viem";
import { deployBatchAnchor, mine, startAnvil, type AnvilNode } from "../test/support/anvil.js";
import { createRegtestChain, startCoreRpcServer, type RegtestChain, type RunningServer } from "../test/support/btc-regtest.js";
import { createOpensslTsa, type OpensslTsa } from "../test/support/openssl-tsa.js";
import { rewriteReceipts, sealUpstreamBatch, upstreamBtcAnchor, upstreamEvmAnchor, upstreamTsaAnchor, type UpstreamAnchor, type UpstreamBatch } from "../test/support/upstream-writers.js";
import { NAMESPACE, type ClusterNode } from "./cluster.js";
import type { Rng } from "./rng.js";

export interface WorkBatch extends UpstreamBatch {
  origin: number;
  rails: Set<"tsa" | "evm" | "btc" | "false">;
  evm?: UpstreamAnchor;
}

export interface Operation {
  at: number;
  op: "seal" | "evm" | "btc" | "false";
  batch: string;
  origin: string;
  code: number | null;
  status?: string;
  error?: string;
}

/** `<batchRoot> <chain>/<tx>` of a claim; TSA claims all name `tsq:request.tsq`. */
export const claimKey = (root: string, anchor: Record<string, unknown>): string => `${root} ${String(anchor.chain)}/${String(anchor.tx)}`;

export class Workload {
  readonly batches: WorkBatch[] = [];
  readonly operations: Operation[] = [];
  /** Claims that really anchor the root they name. */
  readonly genuine = new Set<string>();
  /** Claims made up by the workload: no node may ever report one verified. */
  readonly bogus = new Set<string>();
  #next: number;

  private constructor(
    readonly dir: string,
    readonly tsa: OpensslTsa,
    readonly anvil: AnvilNode,
    readonly contract: Address,
    readonly btc: RegtestChain,
    readonly core: RunningServer,
  ) {
    // Upstream names a batch by its sealing second; past seconds, one per batch.
    this.#next = Math.floor(Date.now() / 1000) - 100_000;
  }

  /** Starts the chain endpoints on `host` (the hub's address, which every node reaches). */
  static async start(dir: string, host: string): Promise<Workload> {
    const tsa = createOpensslTsa();
    const anvil = await startAnvil({ host });
    const contract = await deployBatchAnchor(anvil);
    const btc = createRegtestChain(3);
    const core = await startCoreRpcServer(btc, { host });
    return new Workload(dir, tsa, anvil, contract, btc, core);
  }

  /** What every node's anchors.yaml adds for these endpoints. */
  anchorsYaml(): string {
    // Plain http on the test network (not loopback): allowed explicitly, as docs/ANCHORS.md says.
    return `eip155:\n  "${this.anvil.chainId}": { rpcUrl: "${this.anvil.rpcUrl}", contract: "${this.contract}" }\nbtc:\n  regtest: { rpcUrl: "${this.core.url}", insecure: true }\n`;
  }

  async stop(): Promise<void> {
    await this.anvil.stop();
    await this.core.close();
    this.tsa.cleanup();
  }

  /** Seals a batch of `events` receipts at `origin`, stamps it (TSA) and announces it there. */
  async seal(nodes: ClusterNode[], origin: number, events: number): Promise<Operation> {
    const batch: WorkBatch = { ...(await sealUpstreamBatch(join(this.dir, `b${this.batches.length}`), events, this.#next++)), origin, rails: new Set() };
    this.batches.push(batch);
    const anchor = upstreamTsaAnchor(this.tsa, batch.root);
    await rewriteReceipts(batch.receiptsDir, batch.id, anchor);
    batch.rails.add("tsa");
    this.genuine.add(claimKey(batch.root, anchor));
    return this.#announce(nodes, batch, "seal");
  }

  /** One seeded step: a new batch, a later rail on an earlier batch, or a false claim. */
  async step(nodes: ClusterNode[], rng: Rng, eventsMax: number): Promise<Operation> {
    const roll = rng.next();
    const lacking = (rail: "evm" | "btc") => this.batches.filter((b) => !b.rails.has(rail));
    if (roll < 0.4 || this.batches.length === 0) return this.seal(nodes, rng.int(0, nodes.length - 1), rng.int(20, eventsMax));
    if (roll < 0.65 && lacking("evm").length > 0) {
      const batch = rng.pick(lacking("evm"));
      const anchor = await upstreamEvmAnchor(this.anvil, this.contract, batch);
      await mine(this.anvil, 2);
      batch.evm = anchor;
      return this.#rail(nodes, batch, "evm", anchor);
    }
    if (roll < 0.9 && lacking("btc").length > 0) {
      const batch = rng.pick(lacking("btc"));
      const anchor = upstreamBtcAnchor(this.btc, batch.root, { minedBeforeReadBack: true });
      this.btc.mine(1);
      return this.#rail(nodes, batch, "btc", anchor);
    }
    const donors = this.batches.filter((b) => b.evm !== undefined);
    const targets = this.batches.filter((b) => !b.rails.has("false"));
    if (donors.length === 0 || targets.length < 2) return this.seal(nodes, rng.int(0, nodes.length - 1), rng.int(20, eventsMax));
    const donor = rng.pick(donors);
    const target = rng.pick(targets.filter((b) => b !== donor));
    return this.#rail(nodes, target, "false", donor.evm!);
  }

  async #rail(nodes: ClusterNode[], batch: WorkBatch, rail: "evm" | "btc" | "false", anchor: UpstreamAnchor): Promise<Operation> {
    await rewriteReceipts(batch.receiptsDir, batch.id, anchor);
    batch.rails.add(rail);
    (rail === "false" ? this.bogus : this.genuine).add(claimKey(batch.root, anchor));
    return this.#announce(nodes, batch, rail);
  }

  async #announce(nodes: ClusterNode[], batch: WorkBatch, op: Operation["op"]): Promise<Operation> {
    const node = nodes[batch.origin]!;
    const at = Date.now();
    const r = await node.cli(["announce", "--namespace", NAMESPACE, "--batch", batch.batchFile, "--receipts", batch.receiptsDir, "--json"]);
    let status: string | undefined;
    try {
      status = (JSON.parse(r.stdout) as { report?: { status?: string } }).report?.status;
    } catch {
      // not JSON: the error is in stderr
    }
    const operation: Operation = { at, op, batch: batch.id, origin: node.name, code: r.code, ...(status === undefined ? {} : { status }), ...(r.code === 0 ? {} : { error: r.stderr.trim().split("\n").slice(-2).join(" ").slice(0, 300) }) };
    this.operations.push(operation);
    return operation;
  }
}
