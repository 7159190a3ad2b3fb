/**
 * The strength order of anchors for one batch root (docs/FEDERATION_SEMANTICS.md §3. Conflicts): finality
 * btc:* > eip155:* > rfc3161:*, then the higher block, then (chain, tx) in
 * code-unit order. A total order, so every node sorts the same way.
 */
import { parseChainId, type Anchor, type Rail } from "../anchors/anchor.js";
import { compareCodeUnits } from "./record.js";

const RAIL_RANK: Record<Rail, number> = { btc: 0, eip155: 1, rfc3161: 2 };
/** A chain id outside the forms of docs/FEDERATION_PROTOCOL.md §Anchor never verifies; it sorts after every rail so the order stays total. */
const UNKNOWN_RAIL_RANK = 3;

function railRank(chain: unknown): number {
  const id = typeof chain === "string" ? parseChainId(chain) : undefined;
  return id === undefined ? UNKNOWN_RAIL_RANK : RAIL_RANK[id.rail];
}

/** Non-numbers and NaN count as the lowest block, so a comparison never yields NaN. */
function blockValue(block: unknown): number {
  return typeof block === "number" && !Number.isNaN(block) ? block : Number.NEGATIVE_INFINITY;
}

/**
 * Negative when `a` is stronger than `b`, positive when weaker, 0 only when both
 * have the same rail rank, block, chain and tx: usable with `Array.prototype.sort`
 * to put the strongest first.
 * @example
 * compareAnchors(btcAnchor, evmAnchor) // < 0: Bitcoin finality beats an EVM log
 * [tsa, evm, btc].sort(compareAnchors) // [btc, evm, tsa]
 */
export function compareAnchors(a: Anchor, b: Anchor): number {
  const rail = railRank(a.chain) - railRank(b.chain);
  if (rail !== 0) return rail < 0 ? -1 : 1;
  // docs/FEDERATION_SEMANTICS.md §3. Conflicts, rule 2: on the same rail the higher block wins.
  const ba = blockValue(a.block);
  const bb = blockValue(b.block);
  if (ba !== bb) return ba > bb ? -1 : 1;
  // docs/FEDERATION_SEMANTICS.md §3. Conflicts, rule 3: lexicographic (chain, tx), ascending, by UTF-16 code units.
  return compareCodeUnits(String(a.chain), String(b.chain)) || compareCodeUnits(String(a.tx), String(b.tx));
}
