/**
 * Reads the commands a Markdown document tells its reader to type: the fenced blocks of
 * one section, split into commands (a trailing `\` continues a command on the next line,
 * `# …` comments are dropped), so the doc tests run what the document says, not a copy.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { repoRoot } from "../support/repo-root.js";

export interface DocBlock {
  /** The fence's info string: "sh", "text"… */
  lang: string;
  /** Line number (1-based) of the opening fence, for messages. */
  line: number;
  body: string;
}

/**
 * The fenced blocks of the section whose heading starts with `heading` (up to the next
 * heading of the same or a higher level), in order. Throws when the section is missing,
 * so a renamed heading fails the test instead of silently testing nothing.
 * @example sectionBlocks("docs/FEDERATION_OPERATIONS.md", "## Quick start")
 */
export function sectionBlocks(file: string, heading: string): DocBlock[] {
  const lines = readFileSync(join(repoRoot, file), "utf8").split("\n");
  const start = lines.findIndex((l) => l.startsWith(heading));
  if (start < 0) throw new Error(`${file}: no heading starting with ${JSON.stringify(heading)}`);
  const level = /^#+/.exec(heading)![0].length;
  const blocks: DocBlock[] = [];
  let open: DocBlock | undefined;
  // A fence inside a list item is indented: its body lines carry the same indent, dropped here.
  let indent = 0;
  for (let i = start + 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (open === undefined) {
      const h = /^(#+) /.exec(line);
      if (h !== null && h[1]!.length <= level) break;
      const fence = /^( *)```(\S*)\s*$/.exec(line);
      if (fence !== null) {
        open = { lang: fence[2]!, line: i + 1, body: "" };
        indent = fence[1]!.length;
      }
    } else if (line.trimStart().startsWith("```")) {
      blocks.push(open);
      open = undefined;
    } else open.body += `${line.slice(Math.min(indent, line.length - line.trimStart().length))}\n`;
  }
  return blocks;
}

/**
 * The commands of a shell block: continuation lines joined (the `\` and newline kept, so
 * `sh -c` reads them exactly as a terminal would), comments and blank lines dropped.
 * @example shellCommands("npm install\nnode a \\\n  b   # note\n") // ["npm install", "node a \\\n  b"]
 */
export function shellCommands(body: string): string[] {
  const commands: string[] = [];
  let current = "";
  for (const raw of body.split("\n")) {
    const line = raw.replace(/\s+#.*$/, "").replace(/^#.*$/, "").trimEnd();
    if (current === "" && line.trim() === "") continue;
    current += current === "" ? line.trim() : `\n${line}`;
    if (current.endsWith("\\")) continue;
    commands.push(current);
    current = "";
  }
  if (current !== "") commands.push(current);
  return commands;
}

/**
 * Splits `a && b` into its commands (the README chains set-up steps that way).
 * @example andChain("npm install && npm start") // ["npm install", "npm start"]
 */
export function andChain(command: string): string[] {
  return command.split(/\s*&&\s*/).filter((c) => c !== "");
}
