/**
 * A receipt's Merkle branch drawn bottom-up: the leaf, then per level the node on the path
 * beside the sibling from the proof (left or right, or itself where vmsh-dup pairs the last
 * node of an odd level), up to the root the steps arrive at.
 */
import { h, s, short } from "./dom.js";

export interface BranchStep {
  level: number;
  node: string;
  sibling: string;
  side: "left" | "right" | "self";
  parent: string;
}
export interface Branch {
  leaf: string;
  steps: BranchStep[];
  root: string;
}

const BOX_W = 210;
const BOX_H = 26;
const ROW = 52;

function box(x: number, y: number, text: string, cls: string, label: string): SVGElement {
  return s("g", {}, s("title", {}, `${label}: ${text}`), s("rect", { x, y, width: BOX_W, height: BOX_H, rx: 4, class: cls }), s("text", { x: x + 8, y: y + 17, class: "hash" }, short(text, 14)));
}

/** The branch as an SVG plus a text list of the same steps for screen readers and copying. */
export function drawBranch(b: Branch, batchRoot: string): HTMLElement {
  const rows = b.steps.length + 1;
  const height = rows * ROW + 10;
  const width = 2 * BOX_W + 60;
  const svg = s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": `Merkle branch with ${b.steps.length} levels` });
  const pathX = BOX_W / 2;
  // Rows from the top: root first, leaf last.
  const y = (level: number) => (rows - 1 - level) * ROW + 5;
  if (b.steps.length === 0) svg.append(box(20, y(0), b.leaf, "path", "leaf"));
  b.steps.forEach((st, i) => {
    const sibX = st.side === "left" ? 20 : 20 + BOX_W + 20;
    const nodeX = st.side === "left" ? 20 + BOX_W + 20 : 20;
    svg.append(box(nodeX, y(i), st.node, "path", i === 0 ? "leaf" : `level ${i} node`));
    if (st.side !== "self") svg.append(box(sibX, y(i), st.sibling, "sibling", `level ${i} sibling (${st.side})`));
    svg.append(s("line", { x1: nodeX + pathX, y1: y(i), x2: 20 + pathX + (BOX_W + 20) / 2, y2: y(i + 1) + BOX_H }));
    svg.append(s("line", { x1: sibX + pathX, y1: y(i), x2: 20 + pathX + (BOX_W + 20) / 2, y2: y(i + 1) + BOX_H }));
  });
  if (b.steps.length > 0) svg.append(box(20 + (BOX_W + 20) / 2, y(rows - 1), b.root, b.root === batchRoot ? "path" : "sibling", "computed root"));
  const list = h("ol", { class: "mono", "aria-label": "Merkle branch steps" },
    h("li", {}, `leaf ${b.leaf}`),
    ...b.steps.map((st) => h("li", { "data-side": st.side }, `level ${st.level}: sibling ${st.sibling} on the ${st.side === "self" ? "node itself (odd level)" : st.side} → ${st.parent}`)),
  );
  return h("div", { class: "branch" }, svg, list);
}
