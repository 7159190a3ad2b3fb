/**
 * `BtcSource` over Bitcoin Core JSON-RPC: `getblockchaininfo` for the network,
 * `getrawtransaction` (retried with the block of the anchor's height for nodes
 * without `-txindex`), `gettxoutproof` checked with `verifyTxOutProof`,
 * `getblockheader` and `getblockhash`.
 */
import { rejected, unreachable } from "../result.js";
import { RPC_INVALID_ADDRESS_OR_KEY, RPC_INVALID_PARAMETER, callCore, endpointTrouble } from "./core-rpc.js";
import { isHashHex } from "./hash-order.js";
import { parseBlockHeader } from "./header.js";
import { networkOfCoreChain } from "./networks.js";
import type { BtcSource, LocatedTransaction, Step } from "./source.js";
import type { EndpointTarget } from "./transport.js";
import { verifyTxOutProof } from "./txoutproof.js";

const HEX = /^(?:[0-9a-fA-F]{2})*$/;

function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

/**
 * A source answering through the Core node at `target`.
 * @example coreSource(endpointTarget("http://user:pass@127.0.0.1:8332")!, 10_000)
 */
export function coreSource(target: EndpointTarget, timeoutMs: number): BtcSource {
  const malformed = <T>(method: string, what: string): Step<T> => ({
    ok: false,
    result: unreachable(`btc endpoint ${target.label} answered ${method} without ${what}`),
  });

  async function call<T>(method: string, params: unknown[], read: (result: unknown) => T | undefined, what: string): Promise<Step<T>> {
    const answer = await callCore(target, method, params, timeoutMs);
    if (answer.kind === "failed") return { ok: false, result: answer.result };
    if (answer.kind === "rpc-error") return { ok: false, result: endpointTrouble(target, method, answer) };
    const value = read(answer.result);
    return value === undefined ? malformed(method, what) : { ok: true, value };
  }

  async function rawTransaction(params: unknown[]): Promise<Step<LocatedTransaction> | "not-found"> {
    const answer = await callCore(target, "getrawtransaction", params, timeoutMs);
    if (answer.kind === "failed") return { ok: false, result: answer.result };
    if (answer.kind === "rpc-error") return answer.code === RPC_INVALID_ADDRESS_OR_KEY ? "not-found" : { ok: false, result: endpointTrouble(target, "getrawtransaction", answer) };
    const hex = field(answer.result, "hex");
    const blockHash = field(answer.result, "blockhash");
    if (typeof hex !== "string" || !HEX.test(hex)) return malformed("getrawtransaction", "the transaction hex");
    if (blockHash !== undefined && !isHashHex(blockHash)) return malformed("getrawtransaction", "a valid blockhash");
    const raw = Uint8Array.from(Buffer.from(hex, "hex"));
    return { ok: true, value: blockHash === undefined ? { raw } : { raw, blockHash: blockHash.toLowerCase() } };
  }

  const notFound: Step<never> = { ok: false, result: rejected("transaction not found") };

  return {
    label: target.label,

    network: () =>
      call("getblockchaininfo", [], (r) => {
        const chain = field(r, "chain");
        if (typeof chain !== "string") return undefined;
        const network = networkOfCoreChain(chain);
        return network === undefined ? { seen: `chain "${chain.slice(0, 40)}"` } : { network, seen: `chain "${chain}"` };
      }, "chain"),

    tipHeight: () => call("getblockcount", [], (r) => (Number.isSafeInteger(r) && (r as number) >= 0 ? (r as number) : undefined), "a height"),

    async transaction(txid, heightHint) {
      const direct = await rawTransaction([txid, true]);
      if (direct !== "not-found") return direct;
      // Without -txindex Core finds a confirmed tx only when told its block.
      const hash = await callCore(target, "getblockhash", [heightHint], timeoutMs);
      if (hash.kind === "failed") return { ok: false, result: hash.result };
      if (hash.kind === "rpc-error") return hash.code === RPC_INVALID_PARAMETER ? notFound : { ok: false, result: endpointTrouble(target, "getblockhash", hash) };
      if (!isHashHex(hash.result)) return malformed("getblockhash", "a block hash");
      const inBlock = await rawTransaction([txid, true, hash.result]);
      return inBlock === "not-found" ? notFound : inBlock;
    },

    async inclusion(txid, blockHash) {
      const answer = await callCore(target, "gettxoutproof", [[txid], blockHash], timeoutMs);
      if (answer.kind === "failed") return { ok: false, result: answer.result };
      if (answer.kind === "rpc-error") {
        return answer.code === RPC_INVALID_ADDRESS_OR_KEY
          ? { ok: false, result: rejected(`transaction not in block ${blockHash}: gettxoutproof says "${answer.message}"`) }
          : { ok: false, result: endpointTrouble(target, "gettxoutproof", answer) };
      }
      if (typeof answer.result !== "string" || !HEX.test(answer.result)) return malformed("gettxoutproof", "proof hex");
      const checked = verifyTxOutProof(answer.result, txid);
      if (checked.outcome !== "verified") return { ok: false, result: rejected(`gettxoutproof for block ${blockHash}: ${checked.reason ?? "proof rejected"}`) };
      return { ok: true, value: parseBlockHeader(Uint8Array.from(Buffer.from(answer.result.slice(0, 160), "hex")))! };
    },

    blockHeight: (blockHash) =>
      call("getblockheader", [blockHash, true], (r) => {
        const h = field(r, "height");
        return Number.isSafeInteger(h) && (h as number) >= 0 ? (h as number) : undefined;
      }, "a height"),

    hashAtHeight: (height) => call("getblockhash", [height], (r) => (isHashHex(r) ? r.toLowerCase() : undefined), "a block hash"),
  };
}
