/**
 * `BtcSource` over Esplora's REST API (Blockstream's electrs): the genesis hash
 * from `/block-height/0` names the network, `/tx/:txid/hex` and `/status` locate
 * the transaction, `/tx/:txid/merkle-proof` is folded to the merkle root of the
 * header from `/block/:hash/header`.
 */
import { rejected, unreachable } from "../result.js";
import { fromDisplayHex, isHashHex, toDisplayHex } from "./hash-order.js";
import { parseBlockHeader } from "./header.js";
import { foldMerkleBranch } from "./merkle-branch.js";
import { networkOfGenesis } from "./networks.js";
import type { BtcSource, Step } from "./source.js";
import { sendRequest, type EndpointTarget } from "./transport.js";

const HEX = /^(?:[0-9a-fA-F]{2})+$/;

type Got = { ok: true; body: string } | { ok: false; notFound: boolean; result: Step<never> };

function field(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function json(body: string): unknown {
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/**
 * A source answering through the Esplora instance at `target`.
 * @example esploraSource(endpointTarget("http://127.0.0.1:3002")!, 10_000)
 */
export function esploraSource(target: EndpointTarget, timeoutMs: number): BtcSource {
  const fail = <T>(reason: string): Step<T> => ({ ok: false, result: unreachable(`btc endpoint ${target.label} ${reason}`) });

  async function get(path: string): Promise<Got> {
    const answer = await sendRequest(target, path, { method: "GET" }, timeoutMs);
    if (!answer.ok) return { ok: false, notFound: false, result: { ok: false, result: unreachable(answer.unreachable) } };
    if (answer.status === 200) return { ok: true, body: answer.body.trim() };
    return { ok: false, notFound: answer.status === 404, result: fail(`answered GET ${path.replace(/\/[0-9a-f]{64}/, "/…")} with HTTP ${answer.status}`) };
  }

  async function text<T>(path: string, read: (body: string) => T | undefined, what: string): Promise<Step<T>> {
    const got = await get(path);
    if (!got.ok) return got.result;
    const value = read(got.body);
    return value === undefined ? fail(`answered GET ${path} without ${what}`) : { ok: true, value };
  }

  const height = (body: string): number | undefined => (/^[0-9]{1,10}$/.test(body) ? Number(body) : undefined);

  return {
    label: target.label,

    network: () =>
      text("/block-height/0", (body) => {
        if (!isHashHex(body)) return undefined;
        const network = networkOfGenesis(body);
        return network === undefined ? { seen: `genesis ${body.toLowerCase()}` } : { network, seen: `genesis ${body.toLowerCase()}` };
      }, "a genesis block hash"),

    tipHeight: () => text("/blocks/tip/height", height, "a height"),

    async transaction(txid) {
      const hex = await get(`/tx/${txid}/hex`);
      if (!hex.ok) return hex.notFound ? { ok: false, result: rejected("transaction not found") } : hex.result;
      if (!HEX.test(hex.body)) return fail("answered /tx/…/hex without transaction hex");
      const status = await text(`/tx/${txid}/status`, (body) => {
        const s = json(body);
        const confirmed = field(s, "confirmed");
        const blockHash = field(s, "block_hash");
        if (confirmed === false) return { confirmed: false as const };
        return confirmed === true && isHashHex(blockHash) ? { confirmed: true as const, blockHash: blockHash.toLowerCase() } : undefined;
      }, "a transaction status");
      if (!status.ok) return status;
      const raw = Uint8Array.from(Buffer.from(hex.body, "hex"));
      return { ok: true, value: status.value.confirmed ? { raw, blockHash: status.value.blockHash } : { raw } };
    },

    async inclusion(txid, blockHash) {
      const proof = await text(`/tx/${txid}/merkle-proof`, (body) => {
        const p = json(body);
        const merkle = field(p, "merkle");
        const pos = field(p, "pos");
        if (!Array.isArray(merkle) || !merkle.every(isHashHex) || merkle.length > 32 || !Number.isSafeInteger(pos)) return undefined;
        return { branch: merkle.map((h) => fromDisplayHex(h)), pos: pos as number };
      }, "a merkle proof");
      if (!proof.ok) return proof;
      const header = await text(`/block/${blockHash}/header`, (body) => (body.length === 160 && HEX.test(body) ? parseBlockHeader(Uint8Array.from(Buffer.from(body, "hex"))) : undefined), "an 80-byte header");
      if (!header.ok) return header;
      const root = foldMerkleBranch(fromDisplayHex(txid), proof.value.branch, proof.value.pos);
      if (root === undefined) return { ok: false, result: rejected(`transaction not in block ${blockHash}: merkle-proof position ${proof.value.pos} does not fit its ${proof.value.branch.length}-hash branch, or the branch repeats a node`) };
      if (!Buffer.from(root).equals(header.value.merkleRoot)) {
        return { ok: false, result: rejected(`transaction not in block ${blockHash}: merkle-proof folds to ${toDisplayHex(root)}, header has merkle root ${toDisplayHex(header.value.merkleRoot)}`) };
      }
      return header;
    },

    blockHeight: (blockHash) =>
      text(`/block/${blockHash}`, (body) => {
        const h = field(json(body), "height");
        return Number.isSafeInteger(h) && (h as number) >= 0 ? (h as number) : undefined;
      }, "a block height"),

    hashAtHeight: (h) => text(`/block-height/${h}`, (body) => (isHashHex(body) ? body.toLowerCase() : undefined), "a block hash"),
  };
}
