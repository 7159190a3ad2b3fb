/**
 * Finding the references a reader of this repository would follow: `docs/<NAME>.md §<Heading>`
 * and `#anchor` citations in code comments and documents, Markdown links, Markdown headings
 * and their GitHub anchors, and citations of files the repository does not ship.
 */

export interface SourceReference {
  /** 1-based line of the file name. */
  line: number;
  /** Repository-relative path: `docs/<NAME>.md`, `README.md` or `CHANGELOG.md`. */
  file: string;
  /** The text after each `§` that cites this file (to the end of the line; a heading is a prefix of it). */
  sections: string[];
  anchor?: string;
}

const FILE_REF = /(?<![\w./-])(docs\/[A-Za-z0-9_.-]+\.md|README\.md|CHANGELOG\.md)(?:#([A-Za-z0-9_-]+))?/g;
/** A comment marker that may start a continuation line. */
const MARKER = /^\s*(?:\*|\/\/|#)?\s*/;

/**
 * The repository files cited in `text` with their `§` sections and anchors. A `§` on the line
 * after the file name counts (comments wrap); `, §B`, `; §B` and ` and §B` after a section cite
 * another section of the same file.
 * @example sourceReferences("// docs/STATE.md §Layout, §Measured")[0].sections // ["Layout, §Measured", "Measured"]
 */
export function sourceReferences(text: string): SourceReference[] {
  const lines = text.split("\n");
  const refs: SourceReference[] = [];
  lines.forEach((line, i) => {
    const matches = [...line.matchAll(FILE_REF)];
    matches.forEach((m, k) => {
      const end = m.index! + m[0].length;
      let rest = line.slice(end, k + 1 < matches.length ? matches[k + 1]!.index : undefined);
      const next = lines[i + 1]?.replace(MARKER, "") ?? "";
      if (rest.trim() === "" && next.startsWith("§")) rest = ` ${next}`;
      const sections: string[] = [];
      const first = /^\s*§\s*/.exec(rest);
      if (first !== null) {
        let s = rest.slice(first[0].length);
        sections.push(s);
        for (let more = /(?:,\s*|;\s*|\s+and\s+)§\s*/.exec(s); more !== null; more = /(?:,\s*|;\s*|\s+and\s+)§\s*/.exec(s)) {
          s = s.slice(more.index + more[0].length);
          sections.push(s);
        }
      }
      refs.push({ line: i + 1, file: m[1]!, sections, ...(m[2] !== undefined ? { anchor: m[2] } : {}) });
    });
  });
  return refs;
}

/**
 * The headings of a Markdown document, without `#`s, skipping fenced code blocks.
 * @example headingsOf("# A\n## B (x)\n") // ["A", "B (x)"]
 */
export function headingsOf(markdown: string): string[] {
  const out: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.split("\n")) {
    const f = /^\s*(```|~~~)/.exec(line);
    if (f !== null) {
      if (fence === undefined) fence = f[1];
      else if (f[1] === fence) fence = undefined;
      continue;
    }
    if (fence !== undefined) continue;
    const h = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (h !== null) out.push(h[1]!);
  }
  return out;
}

/**
 * Whether the cited section text `ref` names `heading`: it starts with the heading, with the
 * heading short of a trailing parenthesis (`Index` for "Index (`ReconcileIndex`)"), or with
 * the heading's number (`2.1`), and the name ends at a word boundary.
 * @example matchesHeading("Index: cached sums", "Index (`ReconcileIndex`)") // true
 */
export function matchesHeading(ref: string, heading: string): boolean {
  const names = [heading, heading.replace(/\s*\([^()]*\)\s*$/, "")];
  const number = /^(\d+(?:\.\d+)*)\.?\s/.exec(heading);
  if (number !== null) names.push(number[1]!);
  return names.some((n) => n !== "" && ref.startsWith(n) && !/[\p{L}\p{N}_]/u.test(ref.charAt(n.length)));
}

/**
 * The anchor GitHub gives a heading: lower case, punctuation other than `-` and `_` dropped,
 * each space a `-`.
 * @example githubSlug("The sealer's files") // "the-sealers-files"
 */
export function githubSlug(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
}

/**
 * Relative links of a Markdown document (outside code blocks and code spans): target path
 * (empty for a same-document `#anchor`) and anchor. Links with a scheme are left out.
 * @example markdownLinks("[a](STATE.md#layout)") // [{ target: "STATE.md", anchor: "layout" }]
 */
export function markdownLinks(markdown: string): Array<{ target: string; anchor?: string }> {
  const out: Array<{ target: string; anchor?: string }> = [];
  let fence = false;
  for (const raw of markdown.split("\n")) {
    if (/^\s*(```|~~~)/.test(raw)) {
      fence = !fence;
      continue;
    }
    if (fence) continue;
    const line = raw.replace(/`[^`]*`/g, "");
    for (const m of line.matchAll(/\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      const href = m[1]!;
      if (/^[a-z][a-z0-9+.-]*:/i.test(href)) continue;
      const hash = href.indexOf("#");
      out.push(hash < 0 ? { target: href } : { target: href.slice(0, hash), anchor: href.slice(hash + 1) });
    }
  }
  return out;
}

/**
 * Citations a reader of the repository cannot follow: the product specification, by section
 * or by file name, and the folder shared beside the checkout.
 * @example unfollowable("see SPEC \u00a73").length // 1
 */
export function unfollowable(text: string): Array<{ line: number; text: string }> {
  const out: Array<{ line: number; text: string }> = [];
  text.split("\n").forEach((line, i) => {
    for (const m of line.matchAll(/\bSPEC\s*\u00a7\s*\d*|(?<!\/)\bSPEC\.md\b|\.\.\/shared\//g)) out.push({ line: i + 1, text: `${m[0]} in: ${line.trim()}` });
  });
  return out;
}
