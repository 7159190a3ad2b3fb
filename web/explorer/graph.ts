/**
 * The peer network drawn as SVG, without a graph library: this node in the centre, its peers
 * on a ring, their peers on an outer ring next to the peer that reported them. A federation
 * mesh is tens of nodes, which a fixed radial layout shows clearly (docs/EXPLORER.md, "Why no
 * front-end dependency"). Every node is focusable and names itself to screen readers.
 */
import { didName, s } from "./dom.js";

export interface TopologyNode {
  did: string;
  kind: "self" | "peer" | "remote";
  reachable: boolean | null;
  latencyMs: number | null;
  outboxDepth: number | null;
  via: string | null;
}
export interface Topology {
  node: string;
  nodes: TopologyNode[];
  edges: Array<{ from: string; to: string; namespaces: string[] }>;
  errors: Array<{ peer: string; error: string }>;
  /** Peers whose topology listed more peers than the node draws (docs/EXPLORER.md §Topology bounds). */
  truncated?: Array<{ peer: string; shown: number; hidden: number }>;
}

/** Characters of a namespace list drawn on an edge; the title holds all of it. */
const EDGE_LABEL_CHARS = 40;

const W = 440;
const H = 400;

function describe(n: TopologyNode): string {
  if (n.kind === "self") return `${n.did}: this node`;
  if (n.kind === "remote") return `${n.did}: peer of ${n.via ?? "a peer"}`;
  const state = n.reachable ? `reachable${n.latencyMs !== null ? `, ${n.latencyMs} ms` : ""}` : "not reachable";
  return `${n.did}: peer, ${state}, ${n.outboxDepth ?? 0} queued in the outbox`;
}

/** An SVG of `t`; `onSelect(did)` runs when a node is clicked or chosen with Enter/Space. */
export function drawGraph(t: Topology, onSelect: (did: string) => void): SVGElement {
  const cx = W / 2;
  const cy = H / 2;
  const pos = new Map<string, { x: number; y: number }>();
  const peers = t.nodes.filter((n) => n.kind === "peer");
  const remotes = t.nodes.filter((n) => n.kind === "remote");
  pos.set(t.node, { x: cx, y: cy });
  peers.forEach((p, i) => {
    // Start up and to the left, so that a lone chain of peers does not run into the top edge.
    const a = (-3 * Math.PI) / 4 + (2 * Math.PI * i) / Math.max(1, peers.length);
    pos.set(p.did, { x: cx + 100 * Math.cos(a), y: cy + 100 * Math.sin(a) });
  });
  // Each peer's own peers (and its "+N more" mark) share the peer's slice of the outer ring, so
  // that twenty of them, the most drawn per peer, still do not overlap another peer's.
  const more = new Map((t.truncated ?? []).map((m) => [m.peer, m.hidden]));
  const slice = (2 * Math.PI) / Math.max(1, peers.length);
  remotes.forEach((r, i) => {
    const via = r.via !== null ? pos.get(r.via) : undefined;
    const base = via ? Math.atan2(via.y - cy, via.x - cx) : (2 * Math.PI * i) / Math.max(1, remotes.length);
    const siblings = remotes.filter((q) => q.via === r.via);
    const k = siblings.indexOf(r);
    const slots = siblings.length + (r.via !== null && more.has(r.via) ? 1 : 0);
    const step = Math.min(0.45, (slice * 0.9) / Math.max(1, slots));
    const a = base + (k - (slots - 1) / 2) * step;
    const radius = slots > 8 ? 170 + 40 * (k % 2) : 170;
    pos.set(r.did, { x: cx + radius * Math.cos(a), y: cy + radius * Math.sin(a) });
  });
  const marks: Array<{ peer: string; hidden: number; x: number; y: number }> = [];
  for (const [peer, hidden] of more) {
    const via = pos.get(peer);
    if (via === undefined) continue;
    const slots = remotes.filter((q) => q.via === peer).length + 1;
    const step = Math.min(0.45, (slice * 0.9) / slots);
    const a = Math.atan2(via.y - cy, via.x - cx) + (slots - 1 - (slots - 1) / 2) * step;
    marks.push({ peer, hidden, x: cx + 170 * Math.cos(a), y: cy + 170 * Math.sin(a) });
  }
  // Crop the drawing to what is on it, with room for the labels to the right of each node.
  const xs = [...pos.values(), ...marks].map((p) => p.x);
  const ys = [...pos.values(), ...marks].map((p) => p.y);
  const box = { x: Math.min(...xs) - 40, y: Math.min(...ys) - 36, w: Math.max(...xs) - Math.min(...xs) + 160, h: Math.max(...ys) - Math.min(...ys) + 72 };
  const svg = s("svg", { viewBox: `${box.x.toFixed(0)} ${box.y.toFixed(0)} ${Math.max(box.w, 200).toFixed(0)} ${Math.max(box.h, 120).toFixed(0)}`, role: "group", "aria-label": `Peer network: ${t.nodes.length} nodes, ${t.edges.length} links` });
  for (const e of t.edges) {
    const a = pos.get(e.from);
    const b = pos.get(e.to);
    if (!a || !b) continue;
    const g = s("g", { class: "edge-group", "data-from": e.from, "data-to": e.to, "data-namespaces": e.namespaces.join(" ") });
    g.append(s("line", { class: "edge", x1: a.x, y1: a.y, x2: b.x, y2: b.y }, s("title", {}, `${e.from} — ${e.to}: ${e.namespaces.join(", ")}`)));
    const label = e.namespaces.join(", ");
    g.append(s("text", { class: "edge-label", x: (a.x + b.x) / 2 + 4, y: (a.y + b.y) / 2 - 4 }, label.length > EDGE_LABEL_CHARS ? `${label.slice(0, EDGE_LABEL_CHARS)}…` : label));
    svg.append(g);
  }
  for (const n of t.nodes) {
    const p = pos.get(n.did)!;
    const cls = ["node", n.kind, n.kind === "peer" && !n.reachable ? "down" : ""].join(" ").trim();
    const g = s("g", { class: cls, "data-did": n.did, tabindex: 0, role: "button", "aria-label": describe(n), transform: `translate(${p.x.toFixed(1)} ${p.y.toFixed(1)})` });
    g.append(s("title", {}, describe(n)), s("circle", { r: n.kind === "self" ? 20 : 16 }), s("text", { x: n.kind === "self" ? 26 : 22, y: 4 }, didName(n.did)));
    g.addEventListener("click", () => onSelect(n.did));
    g.addEventListener("keydown", (ev) => {
      const k = (ev as KeyboardEvent).key;
      if (k === "Enter" || k === " ") {
        ev.preventDefault();
        onSelect(n.did);
      }
    });
    svg.append(g);
  }
  for (const m of marks) {
    const text = `+${m.hidden} more`;
    const what = `${m.hidden} more peers of ${m.peer}, not drawn`;
    const g = s("g", { class: "more", "data-more-of": m.peer, role: "img", "aria-label": what, transform: `translate(${m.x.toFixed(1)} ${m.y.toFixed(1)})` });
    g.append(s("title", {}, what), s("circle", { r: 12 }), s("text", { x: 18, y: 4 }, text));
    svg.append(g);
  }
  return svg;
}
