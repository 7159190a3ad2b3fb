/**
 * Files shaped exactly as the upstream vm-spawn tools write them (VaultSovereign/vm-spawn,
 * `services/sealer/src/index.ts`, `services/anchors/src/{tsa,evm,btc}Writer.ts` and
 * `services/anchors/scripts/_common.ts` `updateReceipts`). Only the shapes are reproduced:
 * member names and order, the values each writer puts there, 2-space JSON, and that adding a
 * rail rewrites every receipt of the batch with the new anchor (the previous one is gone from
 * the files). The Merkle work and the chain calls are this repository's own.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Address } from "viem";
import { digestBytes } from "../../lib/digest.js";
import { inclusionProofs, merkleRoot } from "../../lib/merkle/index.js";
import { publicClientFor, sendAnchor, type AnvilNode } from "./anvil.js";
import type { RegtestChain } from "./btc-regtest.js";
import type { OpensslTsa } from "./openssl-tsa.js";

/** One anchor object as an upstream writer returns it (`AnchorAttestation`). */
export type UpstreamAnchor = Record<string, unknown>;

export interface UpstreamBatch {
  /** Unix seconds as a decimal string: the sealer names batches by their sealing second. */
  id: string;
  root: string;
  leaves: string[];
  batchFile: string;
  receiptsDir: string;
}

const pretty = (value: unknown): string => JSON.stringify(value, null, 2);

/**
 * The sealer's output for `events` fresh events under `outDir` (`batches/<id>.json`,
 * `receipts/<eventId>.json`), every receipt carrying the `vm:internal` placeholder anchor.
 * @example const b = await sealUpstreamBatch(join(tmp, "out"), 200, 1_760_000_000)
 */
export async function sealUpstreamBatch(outDir: string, events: number, sealedAt: number): Promise<UpstreamBatch> {
  const id = String(sealedAt);
  const eventIds = Array.from({ length: events }, (_, i) => `evt-${id}-${String(i).padStart(5, "0")}`);
  const leaves = eventIds.map(() => `sha256:${randomBytes(32).toString("hex")}`);
  const root = merkleRoot(leaves, "vmsh-dup-sha256");
  const batchDir = join(outDir, "batches");
  const receiptsDir = join(outDir, "receipts");
  await mkdir(batchDir, { recursive: true });
  await mkdir(receiptsDir, { recursive: true });
  const batchFile = join(batchDir, `${id}.json`);
  await writeFile(batchFile, pretty({ id, root, leaves, createdAt: sealedAt }));
  const proofs = inclusionProofs(leaves, "vmsh-dup-sha256");
  for (const [i, eventId] of eventIds.entries()) {
    const receipt = {
      eventHash: leaves[i],
      batchRoot: root,
      path: proofs[i]!.path,
      // The sealer writes `contract: undefined`, which JSON.stringify leaves out.
      anchor: { chain: "vm:internal", contract: undefined, tx: `batch:${id}`, block: 0, ts: sealedAt },
      verifier: "did:vm:arbiter:local-sealer",
      integrity: `vmr1-${id}-${eventId}`,
    };
    await writeFile(join(receiptsDir, `${eventId}.json`), pretty(receipt));
  }
  return { id, root, leaves, batchFile, receiptsDir };
}

/**
 * `updateReceipts`: every receipt file whose `integrity` names `batchId` gets `anchor` in place
 * of the one it had. Returns how many files were rewritten.
 * @example await rewriteReceipts(b.receiptsDir, b.id, await evmAnchor(...))
 */
export async function rewriteReceipts(receiptsDir: string, batchId: string, anchor: UpstreamAnchor): Promise<number> {
  let n = 0;
  for (const name of (await readdir(receiptsDir)).filter((f) => f.endsWith(".json"))) {
    const file = join(receiptsDir, name);
    const receipt = JSON.parse(await readFile(file, "utf8")) as Record<string, unknown>;
    if (typeof receipt.integrity === "string" && receipt.integrity.includes(batchId)) {
      receipt.anchor = anchor;
      await writeFile(file, pretty(receipt));
      n++;
    }
  }
  return n;
}

/**
 * `tsaWriter`: a query over the 32 raw root bytes with `-sha256 -cert -no_nonce`, the whole
 * TimeStampResp in `sig`, `ts` from the reply's "Time stamp:" line, and `memo` empty unless a
 * policy OID was configured.
 * @example await rewriteReceipts(dir, id, upstreamTsaAnchor(tsa, root))
 */
export function upstreamTsaAnchor(tsa: OpensslTsa, root: string, policyOID?: string): UpstreamAnchor {
  const response = tsa.mint(digestBytes(root), { noNonce: true, embedCerts: true });
  const tsr = join(tsa.dir, `upstream-${randomBytes(6).toString("hex")}.tsr`);
  writeFileSync(tsr, response);
  const text = execFileSync("openssl", ["ts", "-reply", "-in", tsr, "-text"], { encoding: "utf8" });
  const line = text.split("\n").map((l) => l.trim()).find((l) => l.startsWith("Time stamp:"));
  const ts = line === undefined ? Math.floor(Date.now() / 1000) : Math.floor(new Date(line.replace("Time stamp:", "").trim()).getTime() / 1000);
  return { chain: "rfc3161:tsa", tx: "tsq:request.tsq", block: 0, ts, sig: Buffer.from(response).toString("base64"), memo: policyOID === undefined ? "" : `tsaPolicyOID=${policyOID}` };
}

/**
 * `evmWriter`: `anchor(root, keccak256(batchId), "", false)`, then chain, contract as
 * configured, tx hash, the receipt's block, that block's timestamp, and `memo: ""` always.
 * @example await rewriteReceipts(dir, id, await upstreamEvmAnchor(anvil, contract, b))
 */
export async function upstreamEvmAnchor(node: AnvilNode, contract: Address, batch: { id: string; root: string }): Promise<UpstreamAnchor> {
  const sent = await sendAnchor(node, { contract, root: batch.root, batchId: batch.id, memo: "", persist: false });
  const block = sent.block ?? 0;
  const ts = block === 0 ? Math.floor(Date.now() / 1000) : Number((await publicClientFor(node).getBlock({ blockNumber: BigInt(block) })).timestamp);
  return { chain: `eip155:${node.chainId}`, contract, tx: sent.tx, block, ts, memo: "" };
}

/**
 * `btcWriter`: an OP_RETURN of "RV" + root sent to the node, read back at once; `block` and `ts`
 * are those of the block holding the tx, or of the best block when it is still unmined (which is
 * what a node that does not mine in between answers). `memo` is always "OP_RETURN:RV+sha256".
 * `minedBeforeReadBack` mines the tx before the read-back, the other branch of the writer.
 * @example await rewriteReceipts(dir, id, upstreamBtcAnchor(chain, b.root, { minedBeforeReadBack: true }))
 */
export function upstreamBtcAnchor(chain: RegtestChain, root: string, options: { minedBeforeReadBack?: boolean } = {}): UpstreamAnchor {
  const tx = chain.addAnchorTx(root);
  if (options.minedBeforeReadBack === true) chain.mine(1);
  const holding = chain.locate(tx);
  const height = holding?.height ?? chain.height;
  const block = holding?.block ?? chain.blocks[chain.height]!;
  return { chain: "btc:regtest", tx, block: height, ts: block.timestamp, memo: "OP_RETURN:RV+sha256" };
}
