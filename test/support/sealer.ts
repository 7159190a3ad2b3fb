/**
 * Sealer output (docs/FEDERATION_SEMANTICS.md §The sealer's files) made by tests: a batch file and one receipt file per event, all
 * carrying one RFC 3161 anchor minted by the test's openssl TSA over the batch root.
 */
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { digestBytes } from "../../lib/digest.js";
import { inclusionProofs, merkleRoot } from "../../lib/merkle/index.js";
import type { OpensslTsa } from "./openssl-tsa.js";

export interface SealedFiles {
  id: string;
  root: string;
  leaves: string[];
  batchFile: string;
  receiptsDir: string;
}

/**
 * Writes batch `id` of `size` random events under `dir`, anchored by `tsa`.
 * @example const b = await sealTsaBatch(tmp, "b-1", 4, tsa)
 */
export async function sealTsaBatch(dir: string, id: string, size: number, tsa: OpensslTsa, createdAt = 1_760_000_000): Promise<SealedFiles> {
  const leaves = Array.from({ length: size }, () => `sha256:${randomBytes(32).toString("hex")}`);
  const root = merkleRoot(leaves, "vmsh-dup-sha256");
  const base = join(dir, id);
  const receiptsDir = join(base, "receipts");
  await mkdir(receiptsDir, { recursive: true });
  const batchFile = join(base, "batch.json");
  await writeFile(batchFile, JSON.stringify({ id, root, leaves, createdAt }));
  const token = Buffer.from(tsa.mint(digestBytes(root), { noNonce: false })).toString("base64");
  const anchor = { chain: "rfc3161:vmsh-test", tx: `tsa-${id}`, block: 0, ts: createdAt + 5, sig: token };
  const proofs = inclusionProofs(leaves, "vmsh-dup-sha256");
  await Promise.all(leaves.map((leaf, i) => writeFile(join(receiptsDir, `${i}.json`), JSON.stringify({ eventHash: leaf, batchRoot: root, path: proofs[i]!.path, anchor, verifier: "did:vm:node:sealer", integrity: "vmr1-test" }))));
  return { id, root, leaves, batchFile, receiptsDir };
}
