/**
 * The one shape every benchmark returns to `npm run bench` (scripts/run-bench.mjs), and the
 * printer of the single table. A row is one measured figure, optionally next to the baseline
 * measured in the same run on the same machine: on a shared, noisy machine the ratio is the
 * figure worth comparing between runs, the absolute value much less so.
 */

export interface BenchBaseline {
  /** What was measured instead, e.g. "tweetnacl verify". */
  name: string;
  value: number;
}

export interface BenchRow {
  metric: string;
  value: number;
  unit: string;
  baseline?: BenchBaseline;
  /** value / baseline.value unless the benchmark states another ratio. */
  ratio?: number;
  /** A target from the spec, printed beside the figure (e.g. "≤ 1.5"). */
  target?: string;
  /** Whether the figure meets `target`, when the benchmark can tell. */
  met?: boolean;
}

export interface BenchFigures {
  /** Group heading in the table, e.g. "messages". */
  name: string;
  rows: BenchRow[];
}

const COLUMNS = ["metric", "value", "unit", "baseline", "baseline value", "ratio", "target"] as const;

/**
 * A figure rounded to about three significant digits and grouped by thousands.
 * @example formatNumber(8612.37) // "8,612"; formatNumber(0.01234) // "0.0123"
 */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const abs = Math.abs(x);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : abs === 0 ? 0 : Math.min(6, 2 - Math.floor(Math.log10(abs)));
  return x.toLocaleString("en", { minimumFractionDigits: 0, maximumFractionDigits: digits });
}

/**
 * The ratio a row shows: the stated one, else value over the baseline's value.
 * @example rowRatio({ metric: "x", value: 10, unit: "/s", baseline: { name: "y", value: 4 } }) // 2.5
 */
export function rowRatio(row: BenchRow): number | undefined {
  if (row.ratio !== undefined) return row.ratio;
  if (row.baseline === undefined || row.baseline.value === 0) return undefined;
  return row.value / row.baseline.value;
}

function cells(row: BenchRow): string[] {
  const ratio = rowRatio(row);
  return [
    row.metric,
    formatNumber(row.value),
    row.unit,
    row.baseline?.name ?? "",
    row.baseline === undefined ? "" : formatNumber(row.baseline.value),
    ratio === undefined ? "" : `${formatNumber(ratio)}×`,
    row.target === undefined ? "" : `${row.target}${row.met === undefined ? "" : row.met ? " (met)" : " (MISSED)"}`,
  ];
}

/**
 * One table of every benchmark's rows, grouped under each benchmark's name, as Markdown
 * (readable in a terminal and pasted unchanged into docs/BENCHMARKS.md).
 * @example
 * formatTable([{ name: "messages", rows: [{ metric: "verified", value: 8600, unit: "msg/s" }] }])
 * // "| metric | value | unit | … |\n|---|…\n| **messages** | | … |\n| verified | 8,600 | msg/s | … |"
 */
export function formatTable(groups: readonly BenchFigures[]): string {
  const body: string[][] = [];
  for (const g of groups) {
    body.push([`**${g.name}**`, ...COLUMNS.slice(1).map(() => "")]);
    for (const row of g.rows) body.push(cells(row));
  }
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...body.map((r) => r[i]!.length)));
  const numeric = new Set([1, 4, 5]);
  const line = (r: readonly string[]) => `| ${r.map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(" | ")} |`;
  const rule = `|${widths.map((w, i) => (numeric.has(i) ? `${"-".repeat(w + 1)}:` : "-".repeat(w + 2))).join("|")}|`;
  return [line(COLUMNS), rule, ...body.map(line)].join("\n");
}
