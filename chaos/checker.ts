/**
 * The chaos run's checker (docs/RELIABILITY.md §Chaos), over the recorded history only:
 * - safety, on every observation: no node reports verified a claim the workload made up (or one
 *   it never made), no verified claim later loses its verdict, and no node loses an item it held
 *   (receipt, checkpoint, claim record, cosignature);
 * - convergence, after each heal: every node holds the same items with the same verdicts and
 *   winners; where they differ, the shortest description of the difference.
 */
import { agreedClaims, agreedPart, type NodeView } from "./history.js";

export interface Violation {
  at: number;
  node: string;
  kind: "false-verified" | "unknown-claim" | "verdict-lost" | "item-lost";
  detail: string;
}

/**
 * Item keys of a view that must never disappear once held. Claims are judged by their verdict
 * instead (`verdict-lost`): an unverified record may rightly give way to a newer claim
 * (docs/FEDERATION_SEMANTICS.md §6, the claim bound).
 */
function heldItems(v: NodeView): string[] {
  return [...v.receiptIds.map((id) => `receipt ${id}`), ...v.checkpoints, ...v.cosignatures];
}

export class Checker {
  readonly violations: Violation[] = [];
  readonly #held = new Map<string, Set<string>>();
  readonly #verified = new Map<string, Set<string>>();

  constructor(readonly genuine: ReadonlySet<string>, readonly bogus: ReadonlySet<string>) {}

  /** Judges one observation against everything the node was seen to hold before. */
  observe(v: NodeView): void {
    const held = this.#held.get(v.node) ?? new Set<string>();
    const now = new Set(heldItems(v));
    for (const item of held) if (!now.has(item)) this.#flag(v, "item-lost", item);
    for (const item of now) held.add(item);
    this.#held.set(v.node, held);

    const verifiedBefore = this.#verified.get(v.node) ?? new Set<string>();
    const verifiedNow = new Set<string>();
    for (const c of v.claims) {
      const [, root, ref, outcome] = c.split(" ");
      const key = `${root} ${ref}`;
      if (outcome !== "verified") continue;
      verifiedNow.add(key);
      if (this.bogus.has(key)) this.#flag(v, "false-verified", key);
      else if (!this.genuine.has(key)) this.#flag(v, "unknown-claim", key);
    }
    for (const key of verifiedBefore) if (!verifiedNow.has(key)) this.#flag(v, "verdict-lost", key);
    for (const key of verifiedNow) verifiedBefore.add(key);
    this.#verified.set(v.node, verifiedBefore);
  }

  #flag(v: NodeView, kind: Violation["kind"], detail: string): void {
    // One entry per node, kind and item: a lasting fault is one finding, not one per tick.
    if (this.violations.some((x) => x.node === v.node && x.kind === kind && x.detail === detail)) return;
    this.violations.push({ at: v.at, node: v.node, kind, detail });
  }
}

/** True when every view holds the same items with the same verdicts and winners. */
export function converged(views: readonly NodeView[]): boolean {
  return views.length > 0 && views.every((v) => agreedPart(v) === agreedPart(views[0]!));
}

/**
 * The shortest description of how `views` differ: the items not every node holds, each with the
 * nodes that hold it, fewest first, at most `limit` lines.
 * @example describeDivergence(views) // ["cl sha256:ab… eip155:31337/0x12 verified: only n0,n1 (of 7)"]
 */
export function describeDivergence(views: readonly NodeView[], limit = 8): string[] {
  const holders = new Map<string, string[]>();
  for (const v of views) {
    for (const item of [...v.receiptIds.map((id) => `receipt ${id}`), ...v.checkpoints, ...agreedClaims(v), ...v.cosignatures, ...v.winners]) {
      const list = holders.get(item) ?? [];
      list.push(v.node);
      holders.set(item, list);
    }
  }
  const partial = [...holders].filter(([, nodes]) => nodes.length < views.length);
  // Receipts come in whole batches: count them per holder set instead of listing each.
  const receiptGroups = new Map<string, number>();
  const lines: Array<[number, string]> = [];
  for (const [item, nodes] of partial) {
    if (item.startsWith("receipt ")) receiptGroups.set(nodes.join(","), (receiptGroups.get(nodes.join(",")) ?? 0) + 1);
    else lines.push([nodes.length, `${item}: only ${nodes.join(",")} (of ${views.length})`]);
  }
  for (const [nodes, count] of receiptGroups) lines.push([nodes.split(",").length, `${count} receipts: only ${nodes} (of ${views.length})`]);
  lines.sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]));
  const out = lines.slice(0, limit).map(([, l]) => l);
  if (lines.length > limit) out.push(`… and ${lines.length - limit} more differences`);
  return out;
}
