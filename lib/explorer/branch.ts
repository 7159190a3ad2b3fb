/**
 * A receipt's inclusion proof as the steps a person can follow (docs/EXPLORER.md §What the page shows):
 * for each level, the node so far, the sibling from the proof and on which side it sits, and
 * the parent they make. For display only: whether the proof holds is decided by
 * verifyInclusion (lib/merkle/verify.ts), which the same answer carries.
 */
import { bytesToHex, digestBytes, sha256 } from "../digest.js";
import type { Receipt } from "../receipt.js";
import { rfc9162LeafHash, rfc9162NodeHash } from "../merkle/rfc9162.js";

export interface BranchStep {
  level: number;
  node: string;
  sibling: string;
  /** Where the sibling sits; "self" where vmsh-dup pairs the last node of an odd level with itself. */
  side: "left" | "right" | "self";
  parent: string;
}

export interface Branch {
  /** The leaf as hashed into the tree (RFC 9162 adds the 0x00 leaf prefix). */
  leaf: string;
  steps: BranchStep[];
  /** The root the steps arrive at; equals batchRoot exactly when the proof holds. */
  root: string;
}

const hex = (b: Uint8Array): string => `sha256:${bytesToHex(b)}`;

/**
 * The steps of `receipt`'s proof, or undefined when it has the wrong shape to walk.
 * @example merkleBranch(receipt)?.steps.map((s) => s.side) // ["right", "left"]
 */
export function merkleBranch(receipt: Receipt): Branch | undefined {
  const { tree, index, size, path } = receipt.proof;
  let node: Uint8Array;
  try {
    node = tree === "rfc9162-sha256" ? rfc9162LeafHash(digestBytes(receipt.eventHash)) : digestBytes(receipt.eventHash);
  } catch {
    return undefined;
  }
  const leaf = hex(node);
  const steps: BranchStep[] = [];
  let fn = index;
  let sn = size - 1;
  for (let k = 0; k < path.length; k++) {
    let sibling: Uint8Array;
    try {
      sibling = digestBytes(path[k]!);
    } catch {
      return undefined;
    }
    let side: BranchStep["side"];
    let parent: Uint8Array;
    if (tree === "rfc9162-sha256") {
      // RFC 9162 §2.1.3.2, the verification walk.
      if (fn % 2 === 1 || fn === sn) {
        side = "left";
        parent = rfc9162NodeHash(sibling, node);
        if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) {
          fn >>= 1;
          sn >>= 1;
        }
      } else {
        side = "right";
        parent = rfc9162NodeHash(node, sibling);
      }
    } else if (fn % 2 === 1) {
      side = "left";
      parent = sha256(sibling, node);
    } else if (fn === sn) {
      side = "self";
      parent = sha256(node, node);
    } else {
      side = "right";
      parent = sha256(node, sibling);
    }
    steps.push({ level: k, node: hex(node), sibling: path[k]!, side, parent: hex(parent) });
    node = parent;
    fn >>= 1;
    sn >>= 1;
  }
  return { leaf, steps, root: hex(node) };
}
