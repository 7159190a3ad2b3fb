/**
 * Checkpoint note text (c2sp.org/tlog-checkpoint; docs/FEDERATION_PROTOCOL.md §Origin log):
 * the origin line, the tree size in decimal, the base64 RFC 6962 root hash, then optional
 * extension lines. Pure.
 */
import { ArgumentError } from "../errors.js";
import { decodeBase64 } from "./note.js";

/** A log's tree head as a checkpoint carries it. */
export interface TreeHead {
  origin: string;
  size: number;
  /** 32 bytes. */
  rootHash: Uint8Array;
  /** Extension lines, each non-empty; we write none. */
  extensions?: readonly string[];
}

/**
 * The note text of a checkpoint, ending in a newline.
 * @example formatCheckpoint({ origin: "example.com/log", size: 0, rootHash: sha256() })
 * // "example.com/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
 */
export function formatCheckpoint(head: TreeHead): string {
  if (head.origin.length === 0 || head.origin.includes("\n")) throw new ArgumentError("origin", "must be one non-empty line");
  if (!Number.isSafeInteger(head.size) || head.size < 0) throw new ArgumentError("size", `not a tree size: ${head.size}`);
  if (head.rootHash.length !== 32) throw new ArgumentError("rootHash", `expected 32 bytes, got ${head.rootHash.length}`);
  for (const e of head.extensions ?? []) if (e.length === 0 || e.includes("\n")) throw new ArgumentError("extensions", "each extension is one non-empty line");
  return [head.origin, String(head.size), Buffer.from(head.rootHash).toString("base64"), ...(head.extensions ?? [])].join("\n") + "\n";
}

/**
 * Reads a checkpoint's note text (without signatures); a reason when it is not one.
 * @example parseCheckpoint("example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n")
 */
export function parseCheckpoint(text: string): TreeHead | { reason: string } {
  if (!text.endsWith("\n")) return { reason: "the checkpoint text does not end with a newline" };
  const lines = text.slice(0, -1).split("\n");
  if (lines.length < 3) return { reason: `a checkpoint has at least three lines, this one ${lines.length}` };
  const [origin, sizeText, hashText, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin.length === 0) return { reason: "the origin line is empty" };
  // tlog-checkpoint §Note text: decimal, no leading zeroes unless the tree is empty.
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) return { reason: `the tree size line is not a decimal size: ${JSON.stringify(sizeText.slice(0, 40))}` };
  const rootHash = decodeBase64(hashText);
  if (rootHash === undefined || rootHash.length !== 32) return { reason: "the root hash line is not base64 of 32 bytes" };
  if (extensions.some((e) => e.length === 0)) return { reason: "an extension line is empty" };
  return { origin, size: Number(sizeText), rootHash, ...(extensions.length > 0 ? { extensions } : {}) };
}
