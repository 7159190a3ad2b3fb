/**
 * A real local EVM node for tests and demos (docs/RELIABILITY.md §How the tests are built): starts anvil from the
 * `@foundry-rs/anvil` devDependency on a free 127.0.0.1 port, and drives it:
 * deploy the BatchAnchor fixture, send `anchor(...)` from anvil's first funded
 * account, mine, snapshot/revert, toggle automine. Every started node is killed
 * when the test process exits, even if a test failed before calling `stop()`.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  createPublicClient,
  createTestClient,
  encodeFunctionData,
  http,
  type Address,
  type Hex,
  type PublicClient,
  type TestClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { BATCH_ANCHOR_ABI, batchIdTopic, rootTopic } from "../../lib/anchors/evm/contract.js";
import { fixturePath, repoRoot } from "./repo-root.js";

export interface AnvilNode {
  rpcUrl: string;
  chainId: number;
  /** Kills anvil and resolves once it has exited. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartAnvilOptions {
  /** Chain id anvil reports; default 31337. */
  chainId?: number;
  /** How long to wait for anvil to answer; default 20 000 ms. */
  startTimeoutMs?: number;
  /** Address to listen on; default 127.0.0.1 (the chaos run uses its test network's hub address). */
  host?: string;
}

/** Anvil's first default account (public test mnemonic "test test … junk"), funded with 10 000 ETH. */
export const ANVIL_ACCOUNT = privateKeyToAccount("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

function anvilBinary(): string {
  const arch = process.arch === "x64" ? "amd64" : process.arch;
  const native = join(repoRoot, "node_modules", "@foundry-rs", `anvil-${process.platform}-${arch}`, "bin", "anvil");
  // The native binary directly: the .bin wrapper is a node process that would sit between us and anvil.
  return existsSync(native) ? native : join(repoRoot, "node_modules", ".bin", "anvil");
}

/**
 * Starts anvil on a free loopback port (`--port 0`, port read from its banner) and waits until it answers.
 * @example
 * const node = await startAnvil({ chainId: 31337 });
 * after(() => node.stop());
 */
export async function startAnvil(options: StartAnvilOptions = {}): Promise<AnvilNode> {
  const chainId = options.chainId ?? 31337;
  const host = options.host ?? "127.0.0.1";
  const child = spawn(anvilBinary(), ["--host", host, "--port", "0", "--chain-id", String(chainId), "--accounts", "2"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  // Unreferenced, so a test that fails before stop() still lets the process end, and the exit hook kills anvil.
  child.unref();
  for (const stream of [child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  exited.then(() => running.delete(child), () => undefined);
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    }
  };

  let output = "";
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`anvil did not start within ${options.startTimeoutMs ?? 20_000} ms:\n${output.slice(-2000)}`)), options.startTimeoutMs ?? 20_000);
      const onData = (chunk: Buffer): void => {
        output = (output + chunk.toString("utf8")).slice(-8000);
        const m = new RegExp(`Listening on ${host.replaceAll(".", "\\.")}:(\\d+)`).exec(output);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      };
      child.stdout!.on("data", onData);
      child.stderr!.on("data", onData);
      child.once("error", (e) => (clearTimeout(timer), reject(e)));
      child.once("exit", (code, signal) => (clearTimeout(timer), reject(new Error(`anvil exited (${code ?? signal}) before listening:\n${output.slice(-2000)}`))));
    });
    const rpcUrl = `http://${host}:${port}`;
    const answered = await createPublicClient({ transport: http(rpcUrl, { retryCount: 20, retryDelay: 100 }) }).getChainId();
    if (answered !== chainId) throw new Error(`anvil answered chain id ${answered}, expected ${chainId}`);
    return { rpcUrl, chainId, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * A viem public client on the node, polling fast enough for tests.
 * @example const head = await publicClientFor(node).getBlockNumber();
 */
export function publicClientFor(node: AnvilNode): PublicClient {
  return createPublicClient({ transport: http(node.rpcUrl, { retryCount: 0 }), pollingInterval: 50, cacheTime: 0 });
}

/**
 * A viem test client (anvil_* / evm_* methods) on the node.
 * @example await testClientFor(node).setNextBlockTimestamp({ timestamp: 1_900_000_000n });
 */
export function testClientFor(node: AnvilNode): TestClient<"anvil"> {
  return createTestClient({ mode: "anvil", transport: http(node.rpcUrl, { retryCount: 0 }), pollingInterval: 50 });
}

/**
 * Mines `blocks` empty blocks.
 * @example await mine(node, 2); // an anchor mined just before now has 3 confirmations
 */
export async function mine(node: AnvilNode, blocks = 1): Promise<void> {
  await testClientFor(node).mine({ blocks });
}

/**
 * Takes an `evm_snapshot`; pass the id to `revertTo`.
 * @example const id = await snapshot(node); … await revertTo(node, id);
 */
export async function snapshot(node: AnvilNode): Promise<Hex> {
  return testClientFor(node).snapshot();
}

/**
 * `evm_revert`: drops every block and state change made after the snapshot (a reorg, seen from outside).
 * @example await revertTo(node, id);
 */
export async function revertTo(node: AnvilNode, id: Hex): Promise<void> {
  await testClientFor(node).revert({ id });
}

/**
 * Turns anvil's mine-on-every-transaction mode on or off.
 * @example await setAutomine(node, false); // the next sendAnchor stays in the mempool
 */
export async function setAutomine(node: AnvilNode, enabled: boolean): Promise<void> {
  await testClientFor(node).setAutomine(enabled);
}

/**
 * Deploys test/fixtures/evm/BatchAnchor.json's bytecode and returns the contract address.
 * @example const contract = await deployBatchAnchor(node);
 */
export async function deployBatchAnchor(node: AnvilNode): Promise<Address> {
  const artifact = JSON.parse(readFileSync(fixturePath("evm", "BatchAnchor.json"), "utf8")) as { bytecode: Hex };
  const { hash } = await signAndSend(node, { data: artifact.bytecode });
  const receipt = await publicClientFor(node).waitForTransactionReceipt({ hash, pollingInterval: 50, timeout: 20_000 });
  if (!receipt.contractAddress || receipt.status !== "success") throw new Error(`BatchAnchor deployment failed in ${hash}`);
  return receipt.contractAddress;
}

export interface SendAnchorParams {
  contract: Address;
  /** `sha256:<hex>` batch root, sent as the raw 32 bytes. */
  root: string;
  /** Sealer batch id, sent as keccak256(utf8(batchId)). */
  batchId: string;
  memo?: string;
  persist?: boolean;
  /** Fixed gas limit: skips estimation, so a call that reverts is still mined (with status 0). */
  gas?: bigint;
}

export interface SentAnchor {
  tx: Hex;
  /** Block number of the receipt; `undefined` when automine is off and it is still in the mempool. */
  block: number | undefined;
  /** The signed raw transaction, to re-broadcast after a reorg. */
  raw: Hex;
}

/**
 * Calls `anchor(root, keccak256(batchId), memo, persist)` from ANVIL_ACCOUNT.
 * @example const { tx, block } = await sendAnchor(node, { contract, root: batch.root, batchId: batch.id });
 */
export async function sendAnchor(node: AnvilNode, params: SendAnchorParams): Promise<SentAnchor> {
  const data = encodeFunctionData({
    abi: BATCH_ANCHOR_ABI,
    functionName: "anchor",
    args: [rootTopic(params.root), batchIdTopic(params.batchId), params.memo ?? "", params.persist ?? false],
  });
  const { hash, raw } = await signAndSend(node, { to: params.contract, data, gas: params.gas });
  // Anvil answers eth_sendRawTransaction before its automine task has sealed the block.
  if (!(await testClientFor(node).getAutomine())) return { tx: hash, block: undefined, raw };
  const receipt = await publicClientFor(node).waitForTransactionReceipt({ hash, pollingInterval: 50, timeout: 20_000 });
  return { tx: hash, block: Number(receipt.blockNumber), raw };
}

/**
 * Re-broadcasts a signed transaction (e.g. after `revertTo` dropped its block); with automine on, waits until it is mined.
 * @example await sendRaw(node, sent.raw);
 */
export async function sendRaw(node: AnvilNode, raw: Hex): Promise<Hex> {
  const hash = await publicClientFor(node).sendRawTransaction({ serializedTransaction: raw });
  if (await testClientFor(node).getAutomine()) await publicClientFor(node).waitForTransactionReceipt({ hash, pollingInterval: 50, timeout: 20_000 });
  return hash;
}

async function signAndSend(node: AnvilNode, request: { to?: Address; data: Hex; gas?: bigint | undefined }): Promise<{ hash: Hex; raw: Hex }> {
  const client = publicClientFor(node);
  const prepared = await client.prepareTransactionRequest({
    account: ANVIL_ACCOUNT,
    chain: null,
    to: request.to ?? null,
    data: request.data,
    ...(request.gas === undefined ? {} : { gas: request.gas }),
  });
  const raw = await ANVIL_ACCOUNT.signTransaction({ ...prepared, chainId: node.chainId } as Parameters<typeof ANVIL_ACCOUNT.signTransaction>[0]);
  const hash = await client.sendRawTransaction({ serializedTransaction: raw });
  return { hash, raw };
}
