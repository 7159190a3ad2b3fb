/**
 * The anchor transaction: parsed from raw bytes with bitcoinjs-lib, its txid
 * recomputed (never taken from the endpoint), and its OP_RETURN outputs searched
 * for the sealer's commitment (docs/ANCHORS.md §Bitcoin anchors): one data push of 0x5256 ("RV") and the 32 root bytes.
 */
import { Transaction, script as bscript, opcodes } from "bitcoinjs-lib";

/** "RV", the sealer's tag in front of the root (docs/ANCHORS.md §Bitcoin anchors). */
export const RV_TAG = Uint8Array.of(0x52, 0x56);

export type ParsedTransaction = { ok: true; txid: string; outputScripts: Uint8Array[] } | { ok: false; reason: string };

/**
 * Parses raw transaction bytes and recomputes the txid (display hex, witness excluded).
 * @example parseTransaction(raw) // { ok: true, txid: "74d6…7651", outputScripts: [...] }
 */
export function parseTransaction(raw: Uint8Array): ParsedTransaction {
  let tx: Transaction;
  try {
    tx = Transaction.fromBuffer(raw);
  } catch (error) {
    return { ok: false, reason: `raw transaction does not parse: ${error instanceof Error ? error.message : String(error)}` };
  }
  return { ok: true, txid: tx.getId(), outputScripts: tx.outs.map((o) => o.script) };
}

/**
 * The data of an OP_RETURN script when it is exactly OP_RETURN and one data push, else `undefined`.
 * @example opReturnData(Uint8Array.from([0x6a, 0x02, 0x52, 0x56])) // Uint8Array [0x52, 0x56]
 */
export function opReturnData(scriptPubKey: Uint8Array): Uint8Array | undefined {
  if (scriptPubKey[0] !== opcodes.OP_RETURN) return undefined;
  let chunks: Array<number | Uint8Array> | null;
  try {
    chunks = bscript.decompile(scriptPubKey);
  } catch {
    return undefined;
  }
  if (chunks === null || chunks.length !== 2 || !(chunks[1] instanceof Uint8Array)) return undefined;
  return chunks[1];
}

export type RootCommitment = { found: true; index: number } | { found: false; otherRoots: Uint8Array[] };

/**
 * Looks for an output committing to `root` (32 bytes); when none does, lists the roots
 * that RV outputs commit to instead, so the reason can tell "wrong root" from "no RV output".
 * @example findRootCommitment(outputScripts, rootBytes) // { found: true, index: 2 }
 */
export function findRootCommitment(outputScripts: readonly Uint8Array[], root: Uint8Array): RootCommitment {
  const otherRoots: Uint8Array[] = [];
  for (const [index, s] of outputScripts.entries()) {
    const data = opReturnData(s);
    if (data === undefined || data.length !== RV_TAG.length + 32 || data[0] !== RV_TAG[0] || data[1] !== RV_TAG[1]) continue;
    const committed = data.subarray(RV_TAG.length);
    if (Buffer.from(committed).equals(root)) return { found: true, index };
    otherRoots.push(Uint8Array.from(committed));
  }
  return { found: false, otherRoots };
}
