/**
 * Schemas of the items messages carry: anchors and receipts (docs/FEDERATION_PROTOCOL.md §Receipt, §Anchor). Each parser
 * returns a fresh object holding only known members, or throws ProtocolError MALFORMED.
 */
import { parseChainId, type Anchor } from "../anchors/anchor.js";
import { TREE_KINDS, type Receipt, type TreeKind } from "../receipt.js";
import { array, digest, integer, malformed, object, optionalString, string } from "./fields.js";
import { BATCH_ID_PATTERN, LIMITS, NAMESPACE_PATTERN } from "./limits.js";

const ANCHOR_MEMBERS = ["batchId", "batchRoot", "chain", "contract", "tx", "block", "ts", "sig", "memo"] as const;
const RECEIPT_MEMBERS = ["id", "namespace", "batchId", "batchRoot", "eventHash", "ts", "proof"] as const;
const PROOF_MEMBERS = ["tree", "index", "size", "path"] as const;

const BTC_TXID = /^[0-9a-f]{64}$/;
const EVM_TX = /^0x[0-9a-f]{64}$/;
const EVM_ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const TSA_TX = /^[A-Za-z0-9._:-]+$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * Validates one wire anchor. Rail-specific shapes: BTC txids are 64 lower-case hex,
 * EVM tx hashes `0x`+64 hex with an optional `contract` address, TSA anchors carry
 * `sig` (base64 DER) and block 0. `memo: ""` is accepted as sent; see `anchorClaim`.
 * @example parseAnchor(json, "anchors[0]")
 */
export function parseAnchor(value: unknown, path: string): Anchor {
  const o = object(value, path, ANCHOR_MEMBERS);
  const chain = string(o, "chain", path, 80);
  const id = parseChainId(chain);
  if (id === undefined) throw malformed(`${path}.chain`, "expected btc:<network>, eip155:<chainId> or rfc3161:<tsa name>");
  const anchor: Anchor = {
    batchId: string(o, "batchId", path, LIMITS.maxBatchIdLength, BATCH_ID_PATTERN),
    batchRoot: digest(o, "batchRoot", path),
    chain,
    tx: string(o, "tx", path, LIMITS.maxTxLength),
    block: integer(o, "block", path, 0, Number.MAX_SAFE_INTEGER),
    ts: integer(o, "ts", path, 0, LIMITS.maxTimestamp),
  };
  const contract = optionalString(o, "contract", path, 42, EVM_ADDRESS);
  const sig = optionalString(o, "sig", path, LIMITS.maxTsaTokenChars, BASE64);
  // Upstream's EVM writer always writes `memo: ""` (docs/FEDERATION_PROTOCOL.md §Anchor). It is
  // kept here, so a signature over it still verifies; `anchorClaim` drops it before any import.
  const memo = o.memo === "" ? "" : optionalString(o, "memo", path, LIMITS.maxMemoLength);
  if (id.rail === "btc" && !BTC_TXID.test(anchor.tx)) throw malformed(`${path}.tx`, "expected a Bitcoin txid (64 lower-case hex digits)");
  if (id.rail === "eip155" && !EVM_TX.test(anchor.tx)) throw malformed(`${path}.tx`, "expected an EVM tx hash (0x and 64 lower-case hex digits)");
  if (id.rail === "rfc3161" && !TSA_TX.test(anchor.tx)) throw malformed(`${path}.tx`, "expected letters, digits, '.', '_', ':' or '-'");
  if (contract !== undefined && id.rail !== "eip155") throw malformed(`${path}.contract`, `only EVM anchors name a contract, this is ${chain}`);
  if (id.rail === "rfc3161") {
    if (sig === undefined) throw malformed(`${path}.sig`, "a TSA anchor must carry the base64 DER time-stamp token");
    if (anchor.block !== 0) throw malformed(`${path}.block`, "a TSA anchor has block 0");
  } else if (sig !== undefined) throw malformed(`${path}.sig`, `only TSA anchors carry sig, this is ${chain}`);
  if (contract !== undefined) anchor.contract = contract;
  if (sig !== undefined) anchor.sig = sig;
  if (memo !== undefined) anchor.memo = memo;
  return anchor;
}

/**
 * The claim an anchor makes, in the one form that is compared and stored: an empty memo and
 * an absent one are the same claim (docs/FEDERATION_PROTOCOL.md §Anchor), so `memo: ""` is left out.
 * @example anchorClaim({ ...anchor, memo: "" }) // deep-equals the anchor without memo
 */
export function anchorClaim<A extends { memo?: string }>(anchor: A): A {
  if (anchor.memo !== "") return anchor;
  const { memo: _m, ...rest } = anchor;
  return rest as A;
}

/**
 * Validates one wire receipt: shapes, `id` equal to `eventHash`, `index < size`, and
 * a path no longer than any batch could need. Inclusion itself is checked by verifyInclusion.
 * @example parseReceipt(json, "receipts[3]")
 */
export function parseReceipt(value: unknown, path: string): Receipt {
  const o = object(value, path, RECEIPT_MEMBERS);
  const receipt = {
    id: digest(o, "id", path),
    namespace: string(o, "namespace", path, LIMITS.maxNamespaceLength, NAMESPACE_PATTERN),
    batchId: string(o, "batchId", path, LIMITS.maxBatchIdLength, BATCH_ID_PATTERN),
    batchRoot: digest(o, "batchRoot", path),
    eventHash: digest(o, "eventHash", path),
    ts: integer(o, "ts", path, 0, LIMITS.maxTimestamp),
  };
  if (receipt.id !== receipt.eventHash) throw malformed(`${path}.id`, "must equal eventHash");
  const p = object(o.proof, `${path}.proof`, PROOF_MEMBERS);
  const tree = p.tree;
  if (typeof tree !== "string" || !(TREE_KINDS as readonly string[]).includes(tree)) throw malformed(`${path}.proof.tree`, `expected one of ${TREE_KINDS.join(", ")}`);
  const size = integer(p, "size", `${path}.proof`, 1, 2 ** 32);
  const index = integer(p, "index", `${path}.proof`, 0, 2 ** 32);
  if (index >= size) throw malformed(`${path}.proof.index`, `index ${index} is outside a batch of ${size} leaves`);
  const rawPath = array(p, "path", `${path}.proof`, LIMITS.maxPathLength);
  const siblings = rawPath.map((h, i) => digest({ h }, "h", `${path}.proof.path[${i}]`));
  return { ...receipt, proof: { tree: tree as TreeKind, index, size, path: siblings } };
}
