/**
 * Reading the local sealer's output (docs/FEDERATION_SEMANTICS.md §The sealer's files): a batch file and one receipt file per event,
 * turned into what the import pipeline takes. Everything is checked against the batch's
 * own leaves: the root is recomputed, every receipt's path must be the one the leaves give,
 * and receipts may only add anchors for this batch. Pure: the caller reads the files.
 */
import type { Anchor } from "../anchors/anchor.js";
import { VmshError, ProtocolError, ArgumentError } from "../errors.js";
import { indexInBatch, merkleRoot, receiptsForBatch, type SealerBatch } from "../merkle/index.js";
import { array, digest, integer, object, optionalInteger, string, type Json } from "../messages/fields.js";
import { anchorClaim, parseAnchor } from "../messages/items.js";
import { BATCH_ID_PATTERN, LIMITS } from "../messages/limits.js";
import type { BatchImport } from "../pipeline/import.js";
import type { Receipt, TreeKind } from "../receipt.js";
import { isPlaceholderAnchor } from "./placeholder.js";

/** What a sealer batch becomes: the pipeline's input, and how many receipts carried only the sealer's placeholder anchor. */
export type SealedBatch = BatchImport & { placeholderReceipts: number };

/** A sealer receipt file once read; `file` names it in errors. */
export interface SealerReceiptFile {
  file: string;
  json: unknown;
}

function invalid(file: string, message: string, cause?: unknown): VmshError {
  return new VmshError("SEALER_FILE_INVALID", `${file}: ${message}`, { cause });
}

/** A well-formed receipt file that does not prove what it says about this batch: a failed check, not a usage error. */
function mismatch(file: string, message: string, cause?: unknown): VmshError {
  return new VmshError("SEALER_RECEIPT_MISMATCH", `${file}: ${message}`, { cause });
}

/** Runs a schema reader, turning its ProtocolError into an error that names the local file. */
function inFile<T>(file: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (e instanceof ProtocolError || e instanceof ArgumentError) throw invalid(file, e.message.replace(/^(batch|receipt)\./, ""), e);
    throw e;
  }
}

/**
 * Validates a sealer batch file `{ id, root, leaves, createdAt }`.
 * @example parseSealerBatch(JSON.parse(text), "batches/b1.json")
 */
export function parseSealerBatch(json: unknown, file: string): SealerBatch {
  return inFile(file, () => {
    const o = object(json, "batch", ["id", "root", "leaves", "createdAt"]);
    return {
      id: string(o, "id", "batch", LIMITS.maxBatchIdLength, BATCH_ID_PATTERN),
      root: digest(o, "root", "batch"),
      leaves: array(o, "leaves", "batch", 2 ** 24, 1).map((leaf, i) => digest({ leaf }, "leaf", `batch.leaves[${i}]`)),
      createdAt: integer(o, "createdAt", "batch", 0, LIMITS.maxTimestamp),
    };
  });
}

interface ParsedReceiptFile {
  eventHash: string;
  batchRoot: string;
  path: string[];
  index?: number;
  /** Absent when the receipt carries the sealer's placeholder (lib/sealer/placeholder.ts). */
  anchor?: Omit<Anchor, "batchId" | "batchRoot">;
}

const RECEIPT_MEMBERS = ["eventHash", "batchRoot", "path", "index", "anchor", "verifier", "integrity", "issuedAt"];

function parseReceiptFile(json: unknown, file: string, batchId: string): ParsedReceiptFile {
  return inFile(file, () => {
    const o: Json = object(json, "receipt", RECEIPT_MEMBERS);
    const eventHash = digest(o, "eventHash", "receipt");
    const batchRoot = digest(o, "batchRoot", "receipt");
    const path = array(o, "path", "receipt", LIMITS.maxPathLength).map((h, i) => digest({ h }, "h", `receipt.path[${i}]`));
    const index = optionalInteger(o, "index", "receipt", 0, 2 ** 32);
    if (isPlaceholderAnchor(o.anchor, batchId, "receipt.anchor")) return index === undefined ? { eventHash, batchRoot, path } : { eventHash, batchRoot, path, index };
    // The anchor object lacks batchId/batchRoot on disk; the schema wants them, so lend them.
    const rawAnchor = object(o.anchor, "receipt.anchor", ["chain", "contract", "tx", "block", "ts", "sig", "memo"]);
    const { batchId: _b, batchRoot: _r, ...anchor } = anchorClaim(parseAnchor({ ...rawAnchor, batchId: "x", batchRoot }, "receipt.anchor"));
    return index === undefined ? { eventHash, batchRoot, path, anchor } : { eventHash, batchRoot, path, index, anchor };
  });
}

/**
 * The rule a batch file's root was computed with: upstream's sealer uses vmsh-dup-sha256, `seal`
 * rfc9162-sha256 by default, and the file does not say (its shape is upstream's). The leaves
 * tell: the two rules give different roots for any leaves (rfc9162 hashes every leaf with a
 * 0x00 prefix), so at most one of them matches (docs/FEDERATION_SEMANTICS.md §The sealer's files).
 */
function treeOf(batch: SealerBatch): TreeKind {
  try {
    return merkleRoot(batch.leaves, "rfc9162-sha256") === batch.root ? "rfc9162-sha256" : "vmsh-dup-sha256";
  } catch {
    return "vmsh-dup-sha256";
  }
}

/**
 * Builds the pipeline input for one sealer batch and its receipt files. Throws, naming the
 * file: a root that the leaves do not recompute (both roots given), a receipt of another
 * batch, an event hash not in the leaves, an index that disagrees with the leaves, a path
 * other than the leaves give, or two different anchors under one `(chain, tx)`. A receipt
 * carrying the sealer's placeholder anchor adds no anchor and is counted in `placeholderReceipts`.
 * @example sealedBatch("dao:vaultmesh", parseSealerBatch(json, "b1.json"), "b1.json", [{ file, json }])
 */
export function sealedBatch(namespace: string, batch: SealerBatch, batchFile: string, receiptFiles: readonly SealerReceiptFile[]): SealedBatch {
  let receipts: Receipt[];
  try {
    receipts = receiptsForBatch(batch, namespace, { tree: treeOf(batch) });
  } catch (e) {
    if (e instanceof ArgumentError && e.message.startsWith("batch.root:")) {
      throw new VmshError("BATCH_ROOT_MISMATCH", `${batchFile}: batch ${batch.id} says root ${batch.root}, its leaves give ${/\((sha256:[0-9a-f]{64})\)/.exec(e.message)?.[1] ?? "another root"}`, { cause: e });
    }
    throw inFile(batchFile, () => {
      throw e;
    });
  }
  const anchors = new Map<string, Anchor>();
  let placeholderReceipts = 0;
  for (const { file, json } of receiptFiles) {
    const r = parseReceiptFile(json, file, batch.id);
    if (r.batchRoot !== batch.root) throw mismatch(file, `batchRoot ${r.batchRoot} is not the root of batch ${batch.id} (${batch.root})`);
    let index: number;
    try {
      index = indexInBatch(batch.leaves, r.eventHash);
    } catch (e) {
      throw mismatch(file, e instanceof ArgumentError ? e.message.replace(/^(eventHash|leaves): /, "") : String(e), e);
    }
    if (r.index !== undefined && r.index !== index) throw mismatch(file, `index ${r.index} disagrees with the batch, where ${r.eventHash} is leaf ${index}`);
    const expected = receipts[index]!.proof.path;
    if (r.path.length !== expected.length || r.path.some((h, i) => h !== expected[i])) throw mismatch(file, `path is not the inclusion path of leaf ${index} in batch ${batch.id}`);
    if (r.anchor === undefined) {
      placeholderReceipts++;
      continue;
    }
    const anchor: Anchor = { batchId: batch.id, batchRoot: batch.root, ...r.anchor };
    const key = `${anchor.chain}/${anchor.tx}`;
    const seen = anchors.get(key);
    if (seen !== undefined && JSON.stringify(seen) !== JSON.stringify(anchor)) throw mismatch(file, `anchor ${key} differs from the one another receipt of batch ${batch.id} carries`);
    anchors.set(key, anchor);
  }
  return { namespace, batchId: batch.id, batchRoot: batch.root, createdAt: batch.createdAt, receipts, anchors: [...anchors.values()], placeholderReceipts };
}
