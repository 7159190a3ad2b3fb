/**
 * Receipt inclusion check (docs/FEDERATION_SEMANTICS.md §2.3): the proof must recompute
 * `batchRoot` from `eventHash`, `proof.index`, `proof.size` and `proof.path`.
 * Receipts come from peers, so nothing here throws: every defect becomes
 * `{ ok: false, reason }` naming the field.
 */
import { bytesEqual, digestBytes, isDigest } from "../digest.js";
import { TREE_KINDS, type Receipt, type TreeKind } from "../receipt.js";
import { rfc9162LeafHash, rfc9162PathLength, rfc9162RootFromPath } from "./rfc9162.js";
import { MAX_TREE_SIZE } from "./tree.js";
import { vmshDupPathLength, vmshDupRootFromPath } from "./vmsh-dup.js";

export type InclusionResult = { ok: true } | { ok: false; reason: string };

function fail(reason: string): InclusionResult {
  return { ok: false, reason };
}

function quote(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === "number" || typeof value === "boolean" || value === null || value === undefined) return String(value);
  return Array.isArray(value) ? "an array" : typeof value;
}

/** Shape checks, in the order a reader would look; the first defect is reported (shared with batch-verify.ts). */
export function shapeProblem(receipt: unknown): string | undefined {
  if (typeof receipt !== "object" || receipt === null || Array.isArray(receipt)) return "receipt is not an object";
  const r = receipt as Record<string, unknown>;
  if (!isDigest(r.eventHash)) return `eventHash is not a sha256:<64 lower-case hex> digest: ${quote(r.eventHash)}`;
  if (r.id !== r.eventHash) return `id ${quote(r.id)} differs from eventHash ${quote(r.eventHash)}`;
  if (!isDigest(r.batchRoot)) return `batchRoot is not a sha256:<64 lower-case hex> digest: ${quote(r.batchRoot)}`;
  const proof = r.proof;
  if (typeof proof !== "object" || proof === null || Array.isArray(proof)) return "proof is not an object";
  const p = proof as Record<string, unknown>;
  if (!TREE_KINDS.includes(p.tree as TreeKind)) return `proof.tree ${quote(p.tree)} is not one of ${TREE_KINDS.join(", ")}`;
  if (!Number.isSafeInteger(p.size) || (p.size as number) < 1) return `proof.size must be a positive integer, got ${quote(p.size)}`;
  if ((p.size as number) > MAX_TREE_SIZE) return `proof.size ${p.size as number} exceeds the largest batch, 2^32`;
  if (!Number.isSafeInteger(p.index) || (p.index as number) < 0) return `proof.index must be a non-negative integer, got ${quote(p.index)}`;
  // Both rules: an index at or past the size names a leaf the batch does not have.
  // Under vmsh-dup it would also "verify" the duplicated last node as a phantom leaf.
  if ((p.index as number) >= (p.size as number)) return `proof.index ${p.index as number} is not below proof.size ${p.size as number}`;
  if (!Array.isArray(p.path)) return "proof.path is not an array";
  return undefined;
}

/**
 * Checks that a receipt's proof recomputes its `batchRoot`. Never throws on
 * peer data; the reason names the first failed check.
 * @example
 * const proof = inclusionProof(leaves, 1, "vmsh-dup-sha256");
 * verifyInclusion({ id: leaves[1], eventHash: leaves[1], batchRoot: merkleRoot(leaves, "vmsh-dup-sha256"),
 *   namespace: "dao:vaultmesh", batchId: "b1", ts: 1700000000, proof }) // { ok: true }
 */
export function verifyInclusion(receipt: Receipt): InclusionResult {
  const problem = shapeProblem(receipt);
  if (problem !== undefined) return fail(problem);
  const { tree, index, size } = receipt.proof;
  const pathDigests = receipt.proof.path;
  const expected = tree === "vmsh-dup-sha256" ? vmshDupPathLength(size) : rfc9162PathLength(index, size);
  if (pathDigests.length !== expected) {
    return fail(`proof.path has ${pathDigests.length} elements; ${tree} needs exactly ${expected} for index ${index} in size ${size}`);
  }
  // Length first, so an oversized path costs one comparison, not a scan.
  const bad = pathDigests.findIndex((h) => !isDigest(h));
  if (bad >= 0) return fail(`proof.path[${bad}] is not a sha256:<64 lower-case hex> digest: ${quote(pathDigests[bad])}`);
  const path = pathDigests.map((h) => digestBytes(h));
  const event = digestBytes(receipt.eventHash);
  const walked = tree === "vmsh-dup-sha256"
    ? vmshDupRootFromPath(event, index, size, path)
    : rfc9162RootFromPath(rfc9162LeafHash(event), index, size, path);
  if ("reason" in walked) return fail(walked.reason);
  if (!bytesEqual(walked.root, digestBytes(receipt.batchRoot))) {
    return fail(`proof does not recompute batchRoot: ${tree} path from eventHash at index ${index} of ${size} gives a different root`);
  }
  return { ok: true };
}
