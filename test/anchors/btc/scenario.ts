/**
 * Shared set-up for the BTC anchor tests: a regtest chain with one anchor
 * transaction mined into a block, the matching `Anchor`, and its servers.
 */
import { createHash } from "node:crypto";
import type { Anchor } from "../../../lib/anchors/anchor.js";
import { createRegtestChain, type RegtestChain } from "../../support/btc-regtest.js";

export interface AnchoredChain {
  chain: RegtestChain;
  root: string;
  anchor: Anchor;
}

/** A deterministic `sha256:<hex>` root from a label. */
export function rootOf(label: string): string {
  return `sha256:${createHash("sha256").update(label).digest("hex")}`;
}

/**
 * A chain of a few blocks, then a block holding an anchor tx for `rootOf(label)`,
 * then `after` more blocks. The anchor's height is the anchor block's.
 */
export function anchoredChain(label: string, after = 0): AnchoredChain {
  const chain = createRegtestChain(3);
  const root = rootOf(label);
  chain.addOpReturnTx(Buffer.from("unrelated payload"));
  const tx = chain.addAnchorTx(root);
  chain.mine(1);
  const block = chain.height;
  chain.mine(after);
  return { chain, root, anchor: { batchId: `batch-${label}`, batchRoot: root, chain: "btc:regtest", tx, block, ts: 1_700_000_000 } };
}

/** A fixed clock: 2023-11-14T22:13:20Z in milliseconds. */
export const fixedNow = (): number => 1_700_000_000_000;
