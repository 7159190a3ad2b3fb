/**
 * The demo's stand-in for the VaultMesh sealer (docs/FEDERATION_SEMANTICS.md §The sealer's files): seals random events into a batch,
 * anchors the root on the three rails the demo runs locally (an OP_RETURN `RV`+root mined
 * into a regtest block, an `anchor(...)` call on anvil, an openssl TSA token) and writes the
 * sealer's batch file and receipt files, laid out as docs/FEDERATION_OPERATIONS.md shows:
 * `sealer/batches/<id>.json` and `sealer/receipts/<id>/<n>.json`.
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { digestBytes } from "../dist/lib/digest.js";
import { inclusionProofs, merkleRoot } from "../dist/lib/merkle/index.js";
import { sendAnchor } from "../dist/test/support/anvil.js";

/** The TSA's name in `rfc3161:<name>` anchor chain ids. */
export const TSA_NAME = "demo-tsa";

/**
 * Seals `size` random events as batch `id`, anchors its root on every rail in `rails`, and
 * writes the files under `dir`. Receipt n carries anchor n mod 3, as a sealer that anchors
 * a batch several times copies one anchor into each receipt: the same (chain, tx) anchor is
 * byte-identical in every receipt that carries it.
 * @example
 * const b = await sealOnThreeRails(join(root, "sealer"), "b-0001", 8, { btc, anvil, contract, tsa });
 * // b.anchors: [btc:regtest, eip155:31337, rfc3161:demo-tsa]
 */
export async function sealOnThreeRails(dir, id, size, rails) {
  const { btc, anvil, contract, tsa } = rails;
  const leaves = Array.from({ length: size }, () => `sha256:${randomBytes(32).toString("hex")}`);
  const root = merkleRoot(leaves, "vmsh-dup-sha256");
  const createdAt = Math.floor(Date.now() / 1000);

  // Bitcoin: the OP_RETURN transaction, mined into the next regtest block (one confirmation).
  const btcTx = btc.addAnchorTx(root);
  btc.mine(1);
  const btcAnchor = { chain: "btc:regtest", tx: btcTx, block: btc.height, ts: createdAt + 1 };

  // EVM: BatchAnchor.anchor(root, keccak256(batchId), memo, false); anvil mines it at once.
  const sent = await sendAnchor(anvil, { contract, root, batchId: id, memo: `demo ${id}` });
  const evmAnchor = { chain: `eip155:${anvil.chainId}`, contract, tx: sent.tx, block: sent.block, ts: createdAt + 2 };

  // RFC 3161: `openssl ts -query -data <32 root bytes> -sha256`, answered by `openssl ts -reply`.
  const token = Buffer.from(tsa.mint(digestBytes(root))).toString("base64");
  const tsaAnchor = { chain: `rfc3161:${TSA_NAME}`, tx: `tsa-${id}`, block: 0, ts: createdAt + 3, sig: token };

  const anchors = [btcAnchor, evmAnchor, tsaAnchor];
  const batchFile = join(dir, "batches", `${id}.json`);
  const receiptsDir = join(dir, "receipts", id);
  await mkdir(join(dir, "batches"), { recursive: true });
  await mkdir(receiptsDir, { recursive: true });
  await writeFile(batchFile, `${JSON.stringify({ id, root, leaves, createdAt }, null, 2)}\n`);
  const proofs = inclusionProofs(leaves, "vmsh-dup-sha256");
  for (const [i, leaf] of leaves.entries()) {
    const receipt = { eventHash: leaf, batchRoot: root, path: proofs[i].path, anchor: anchors[i % anchors.length], verifier: "did:vm:node:demo-sealer", integrity: "vmr1-demo" };
    await writeFile(join(receiptsDir, `${String(i).padStart(4, "0")}.json`), `${JSON.stringify(receipt, null, 2)}\n`);
  }
  return { id, root, createdAt, size, anchors, batchFile, receiptsDir };
}
