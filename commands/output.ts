/**
 * Printing command results: plain tables for people, one JSON document for scripts
 * (`--json`), colour only on a TTY and never with NO_COLOR or `--no-color` (README.md §The command line).
 */
import { Chalk, type ChalkInstance } from "chalk";
import type { Outcome } from "../lib/anchors/result.js";
// Every line a command prints shows bidi controls escaped (lib/bidi.ts).
import { escapeBidi } from "../lib/bidi.js";

export interface Io {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

export interface Printer {
  json: boolean;
  color: ChalkInstance;
  /** Human text to stdout (suppressed with --json: the JSON document is the only output there). */
  line(text?: string): void;
  /** The one JSON document of a --json run. */
  document(value: unknown): void;
  /** Diagnostics to stderr, in both modes. */
  warn(text: string): void;
  error(text: string): void;
}

export function makePrinter(io: Io, options: { json: boolean; color: boolean }): Printer {
  const useColor = options.color && io.stdout.isTTY === true && !("NO_COLOR" in io.env && io.env.NO_COLOR !== "");
  const color = new Chalk({ level: useColor ? 1 : 0 });
  const errColor = new Chalk({ level: useColor && io.stderr.isTTY === true ? 1 : 0 });
  return {
    json: options.json,
    color,
    line(text = "") {
      if (!options.json) io.stdout.write(`${escapeBidi(text)}\n`);
    },
    document(value) {
      io.stdout.write(`${escapeBidi(JSON.stringify(value, null, 2))}\n`);
    },
    warn(text) {
      io.stderr.write(`${errColor.yellow("warning:")} ${escapeBidi(text)}\n`);
    },
    error(text) {
      io.stderr.write(`${errColor.red("error:")} ${escapeBidi(text)}\n`);
    },
  };
}

/**
 * A plain-text table: columns padded to their widest cell, header underlined.
 * @example table(["peer", "roles"], [["did:vm:node:b", "serve"]])
 */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  // Width counts code points without ANSI colour codes, so coloured cells line up.
  const visible = (s: string) => [...s.replace(/\x1b\[[0-9;]*m/g, "")].length;
  const widths = header.map((h, i) => Math.max(visible(h), ...rows.map((r) => visible(r[i] ?? ""))));
  const fmt = (cells: readonly string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c + " ".repeat(widths[i]! - visible(c)))).join("  ").trimEnd();
  return [fmt(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(fmt)].join("\n");
}

/** An outcome word in its colour: verified green, pending yellow, rejected red. */
export function outcomeColor(out: Printer, outcome: Outcome): string {
  return outcome === "verified" ? out.color.green(outcome) : outcome === "pending" ? out.color.yellow(outcome) : out.color.red(outcome);
}
