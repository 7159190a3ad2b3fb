/**
 * The local sealer's placeholder anchor (docs/ANCHORS.md §The sealer's placeholder): right after
 * sealing, before any rail has anchored the batch, every receipt carries
 * `{ chain: "vm:internal", tx: "batch:<batchId>", block: 0, ts }`. It attests nothing, so it is
 * recognised, never verified or stored, and the batch is held until a real anchor arrives.
 */
import { integer, malformed, object, string } from "../messages/fields.js";
import { LIMITS } from "../messages/limits.js";

/** The placeholder's `chain`: not one of the anchoring rails. */
export const PLACEHOLDER_CHAIN = "vm:internal";

/** What `announce` and its JSON say when a batch has only the placeholder. */
export const PLACEHOLDER_NOTE = "no anchor yet: the batch is held until one arrives";

/**
 * True when `anchor` claims to be the sealer's placeholder. Then it must be exactly the
 * placeholder of `batchId`, else this throws ProtocolError MALFORMED naming the member: a
 * placeholder naming another batch is a file that lies about what it belongs to.
 * @example isPlaceholderAnchor({ chain: "vm:internal", tx: "batch:1760000000", block: 0, ts: 1760000000 }, "1760000000", "receipt.anchor") // true
 */
export function isPlaceholderAnchor(anchor: unknown, batchId: string, path: string): boolean {
  if (typeof anchor !== "object" || anchor === null || (anchor as { chain?: unknown }).chain !== PLACEHOLDER_CHAIN) return false;
  // The sealer writes `contract: undefined`, which JSON leaves out; nothing else belongs here.
  const o = object(anchor, path, ["chain", "tx", "block", "ts"]);
  const tx = string(o, "tx", path, LIMITS.maxTxLength);
  if (tx !== `batch:${batchId}`) throw malformed(`${path}.tx`, `the sealer's placeholder of batch ${batchId} is "batch:${batchId}", got ${JSON.stringify(tx.slice(0, 80))}`);
  integer(o, "block", path, 0, 0);
  integer(o, "ts", path, 0, LIMITS.maxTimestamp);
  return true;
}
