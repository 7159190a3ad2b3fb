/**
 * Building DOM nodes without innerHTML: every text from the API (batch ids, reasons, DIDs
 * that peers chose) goes in through textContent or attributes, never parsed as markup.
 */
type Child = Node | string | null | undefined | false;

/** An HTML element with attributes and children. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Record<string, string | boolean | undefined> = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/**
 * Text a peer chose, isolated for bidirectional text (docs/EXPLORER.md §Peer-controlled text): a
 * right-to-left override inside it cannot reorder the page's own words around it.
 */
export function iso(text: string): HTMLElement {
  return h("bdi", {}, text);
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG element with attributes and children. */
export function s(tag: string, attrs: Record<string, string | number | undefined> = {}, ...children: Child[]): SVGElement {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined) el.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined && c !== false) el.append(c);
  return el;
}

/** `sha256:abcdef…` shortened for tables; the full value stays in the title. */
export function short(hash: string, keep = 10): string {
  return hash.length > keep + 10 ? `${hash.slice(0, keep + 7)}…${hash.slice(-6)}` : hash;
}

/** The last segment of a DID, the part people recognise. */
export function didName(did: string): string {
  return did.split(":").pop() ?? did;
}

export function time(unix: number): string {
  return new Date(unix * 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

export function clear(el: Element, ...children: Child[]): void {
  el.replaceChildren(...children.filter((c): c is Node | string => c !== null && c !== undefined && c !== false));
}
